package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// syncBN builds the training-mode batch norms of a train step with their backward pass by hand.
// In a data-parallel step each normalises with the moments of the global batch (every worker's
// rows), and its backward pass adds the terms through those moments that reach the other
// workers' rows; on one process (oneWorker) the forward pass is batchNorm's, and the backward
// pass by hand writes and keeps fewer activation-sized tensors than the registry's chain through
// tf.nn.moments (BenchmarkStepOps with NNCLR_STEPOPS=resnet18 prints the bytes each op type
// writes, BenchmarkResNetVsKeras the peak RSS).
//
// The gradient registry has no gradient for the collectives, and op.Gradients cannot call a
// gradient of ours, so the step's backward pass is cut at every such batch norm: its input
// reaches its output only through a StopGradient, and gradients differentiates the loss one
// segment at a time, from the last batch norm built to the first, each batch norm's input
// gradient written by hand (backward). A nil *syncBN is a batch norm the registry differentiates
// (batchNorm).
type syncBN struct {
	p   bnReducer
	bns []syncedBN // in build order (a topological order of the step)
}

// syncedBN is one synchronised batch norm of the step: what its backward pass reads.
type syncedBN struct {
	in, out, cut   tf.Output // input, output, input behind a StopGradient
	gamma, beta    tf.Output // reads of its weights
	mean, variance tf.Output // the global batch's moments
	axes, count    tf.Output // the reduced axes; the global batch's values per channel (in the input's type)
	eps            float64
	key            int  // the instance key of its backward's all-reduce
	dense          bool // normalises a [batch, features] input (else NHWC)
}

// keyBatchNorm is the first collective instance key of the synchronised batch norms: the i-th
// built takes keyBatchNorm + 3i (the sums), + 3i + 1 (the squared deviations) and + 3i + 2 (its
// backward pass). The build order is the same on every worker.
const keyBatchNorm = 1000

// norm is batchNorm. In training mode (stats nil) with sb set, the moments are the global
// batch's, in two passes as tf.nn.moments takes them on one process (no E[x²] − mean²
// cancellation): the mean is the all-reduced per-channel sum over the global count, the variance
// the all-reduced sum of squared deviations from that mean over the same count. Every worker
// gets the same moments, so the moving statistics stay identical across workers. With one
// worker the forward pass is batchNorm's, op for op; only the backward pass is written by hand.
func (sb *syncBN) norm(s *op.Scope, h, gamma, beta tf.Output, stats []tf.Output, eps float64, axes ...int32) (tf.Output, []tf.Output) {
	if sb == nil || stats != nil {
		return batchNorm(s, h, gamma, beta, stats, eps, axes...)
	}
	key := keyBatchNorm + 3*len(sb.bns)
	ss := s.SubScope("sync")
	b := syncedBN{in: h, cut: op.StopGradient(ss.SubScope("cut"), h), gamma: gamma, beta: beta, eps: eps, key: key + 2}
	b.axes = op.Const(ss.SubScope("axes"), axes) // a vector, also for one axis
	b.dense = len(axes) == 1
	b.count = sb.count(ss.SubScope("count"), h, b.axes)
	if sb.p.workers() == 1 {
		var moments []tf.Output
		b.out, moments = batchNorm(s, b.cut, gamma, beta, nil, eps, axes...)
		b.mean, b.variance = moments[0], moments[1]
	} else {
		// The moments are constants to the gradient registry (it has no gradient for a
		// collective); backward supplies the terms through them.
		sum := op.Sum(ss.SubScope("sum"), b.cut, b.axes)
		b.mean = op.StopGradient(ss.SubScope("mean_const"), op.RealDiv(ss.SubScope("mean"), sb.p.allReduce(ss.SubScope("sum_allreduce"), sum, key), b.count))
		dev := op.Square(ss.SubScope("Square"), op.Sub(ss.SubScope("Sub"), b.cut, b.mean))
		sq := sb.p.allReduce(ss.SubScope("sq_allreduce"), op.Sum(ss.SubScope("sq"), dev, b.axes), key+1)
		b.variance = op.StopGradient(ss.SubScope("variance_const"), op.RealDiv(ss.SubScope("variance"), sq, b.count))
		b.out = bnApply(s, b.cut, gamma, beta, b.mean, b.variance, eps)
	}
	sb.bns = append(sb.bns, b)
	return b.out, []tf.Output{b.mean, b.variance}
}

// count is the number of values per channel of h over axes in the global batch (every worker
// has as many rows), in h's type.
func (sb *syncBN) count(s *op.Scope, h, axes tf.Output) tf.Output {
	dims := op.GatherV2(s.SubScope("dims"), op.Shape(s.SubScope("Shape"), h, op.ShapeOutType(tf.Int64)), axes, i32(s.SubScope("axis"), 0))
	local := op.Prod(s.SubScope("Prod"), dims, i32(s.SubScope("paxis"), 0))
	global := op.Mul(s.SubScope("workers"), local, op.Const(s.SubScope("n"), int64(sb.p.workers())))
	return op.Cast(s.SubScope("Cast"), global, h.DataType())
}

// backward returns the gradients at b's input (this worker's rows), gamma and beta given dy,
// its output's. With r = 1/√(variance + eps), e = h − mean, x̂ = e·r, and this worker's
// per-channel sums Σdy (beta's gradient) and Σdy·x̂ = r·Σdy·e (gamma's), whose all-reduce S, G
// are the global batch's (one collective),
//
//	dh = γr·(dy − S/n − x̂·G/n) = a·dy + c·e + d,  a = γr, c = −a·r·G/n, d = −a·S/n,
//
// what the registry gives through the batch mean and variance, in four activation-sized ops
// besides e and dy·e (the registry's chain through tf.nn.moments takes about three times as
// many, and its Mean and broadcast gradients tile and copy whole activations).
func (sb *syncBN) backward(s *op.Scope, b syncedBN, dy tf.Output) (dh, dgamma, dbeta tf.Output) {
	if sb.p.workers() == 1 && b.cut.DataType() == tf.Float {
		return fusedBackward(s, b, dy) // (TensorFlow's CPU kernel has no float64)
	}
	r := op.Rsqrt(s.SubScope("Rsqrt"), op.AddV2(s.SubScope("eps"), b.variance, constLike(s.SubScope("epsilon"), b.variance, b.eps)))
	e := op.Sub(s.SubScope("centre"), b.cut, b.mean)
	dbeta = op.Sum(s.SubScope("dy"), dy, b.axes)
	dgamma = op.Mul(s.SubScope("dgamma"), op.Sum(s.SubScope("dye"), op.Mul(s.SubScope("Mul"), dy, e), b.axes), r)
	sums := sb.p.sum(s.SubScope("allreduce"), []tf.Output{dbeta, dgamma}, b.key)
	a := op.Mul(s.SubScope("a"), b.gamma, r)
	c := op.Neg(s.SubScope("c"), op.Mul(s.SubScope("ar"), a, op.Mul(s.SubScope("rG"), r, op.RealDiv(s.SubScope("G"), sums[1], b.count))))
	d := op.Neg(s.SubScope("d"), op.Mul(s.SubScope("aS"), a, op.RealDiv(s.SubScope("S"), sums[0], b.count)))
	dh = op.AddV2(s.SubScope("dh"), op.AddV2(s.SubScope("sum"), op.Mul(s.SubScope("ady"), dy, a), op.Mul(s.SubScope("ce"), e, c)), d)
	return dh, dgamma, dbeta
}

// fusedBackward is backward on one process, in one kernel: FusedBatchNormGradV3 in training
// mode computes the same three gradients from dy, the input and the batch's moments (a dense
// layer's [batch, features] as [batch, 1, 1, features]).
func fusedBackward(s *op.Scope, b syncedBN, dy tf.Output) (dh, dgamma, dbeta tf.Output) {
	x := b.cut
	if b.dense {
		c := op.Slice(s.SubScope("channels"), op.Shape(s.SubScope("Shape"), x), op.Const(s.SubScope("begin"), []int32{1}), op.Const(s.SubScope("size"), []int32{1}))
		shape := op.ConcatV2(s.SubScope("shape"), []tf.Output{op.Const(s.SubScope("nhw"), []int32{-1, 1, 1}), c}, i32(s.SubScope("axis"), 0))
		x, dy = op.Reshape(s.SubScope("x"), x, shape), op.Reshape(s.SubScope("dy"), dy, shape)
	}
	none := op.Const(s.SubScope("reserve"), []float32{})
	dh, dgamma, dbeta, _, _ = op.FusedBatchNormGradV3(s.SubScope("FusedBatchNormGradV3"), dy, x, b.gamma, b.mean, b.variance, none,
		op.FusedBatchNormGradV3Epsilon(float32(b.eps)), op.FusedBatchNormGradV3IsTraining(true))
	if b.dense {
		dh = op.Reshape(s.SubScope("dh"), dh, op.Shape(s.SubScope("in"), b.cut))
	}
	return dh, dgamma, dbeta
}

// active is whether the step has synchronised batch norms.
func (sb *syncBN) active() bool { return sb != nil && len(sb.bns) > 0 }

// gradients returns the gradient of loss at each of xs (the step's trained weights and, for a
// backbone with its own backward pass, the views' features) when the step has synchronised
// batch norms, by the chain rule over the cuts. The seeds are the tensors through which the loss
// sees the views (tops) and every batch norm's input. The registry's op.Gradients(ys, xs, dys)
// sums dys·∂ys/∂xs along every path, through other ys too, but a path through a batch norm ends
// at its StopGradient: so with ys the seeds a walk from x meets before any cut (walk), and dys
// their gradients, it is the loss's gradient at x. The walks are planned before any gradient op
// is built (they follow the forward graph only). Then, from the last batch norm built to the
// first: the gradient at its output, gamma and beta (one op.Gradients), and at its input by hand
// (backward); last the other weights, each from the seeds it meets. Walks from two batch norms
// can share a path (along a ResNet's identity shortcuts), and their op.Gradients then build the
// same gradient ops twice; Grappler merges them (TestSyncBNRunsOneBackward: a traced resnet18
// step runs as many convolution kernels as one process's).
func (sb *syncBN) gradients(s *op.Scope, loss tf.Output, tops, xs []tf.Output) []tf.Output {
	ys := append([]tf.Output(nil), tops...)
	for _, b := range sb.bns {
		ys = append(ys, b.in)
	}
	outSeeds, xSeeds := sb.plan(ys, xs)
	dys := make([]tf.Output, len(ys))
	copy(dys, op.Gradients(s.SubScope("tops"), []tf.Output{loss}, tops))
	if s.Err() != nil {
		return nil
	}
	parts := make([][]tf.Output, len(xs))
	at := indexOf(xs)
	for j := len(sb.bns) - 1; j >= 0; j-- {
		b, bs := sb.bns[j], s.SubScope(fmt.Sprintf("bn%d", j))
		g := segmentGrads(bs.SubScope("out"), ys, dys, outSeeds[j], b.out)
		if g == nil {
			return nil
		}
		dh, dgamma, dbeta := sb.backward(bs.SubScope("in"), b, g[0])
		gi, bi := at[outputKey(b.gamma)], at[outputKey(b.beta)]
		parts[gi], parts[bi] = append(parts[gi], dgamma), append(parts[bi], dbeta)
		dys[len(tops)+j] = dh
	}
	for i, seeds := range xSeeds {
		if seeds == nil {
			continue
		}
		g := segmentGrads(s.SubScope("w"), ys, dys, seeds, xs[i])
		if g == nil {
			return nil
		}
		parts[i] = append(parts[i], g[0])
	}
	return sumParts(s.SubScope("sum"), parts)
}

// plan returns the seeds (indices into ys) that a walk meets from each batch norm's output and
// from each of xs but the batch norms' gamma and beta (nil for those: gradients takes them with
// their batch norm's output).
func (sb *syncBN) plan(ys, xs []tf.Output) (outSeeds, xSeeds [][]int) {
	seedAt, norms := indexOf(ys), map[string]bool{}
	outSeeds = make([][]int, len(sb.bns))
	for j, b := range sb.bns {
		outSeeds[j] = walk(b.out, seedAt)
		norms[outputKey(b.gamma)], norms[outputKey(b.beta)] = true, true
	}
	xSeeds = make([][]int, len(xs))
	for i, x := range xs {
		if !norms[outputKey(x)] {
			xSeeds[i] = walk(x, seedAt)
		}
	}
	return outSeeds, xSeeds
}

// segmentGrads is op.Gradients of the seeds ys[i] for i in seeds (with their gradients dys[i])
// at xs, or nil (the scope's error).
func segmentGrads(s *op.Scope, ys, dys []tf.Output, seeds []int, xs ...tf.Output) []tf.Output {
	if len(seeds) == 0 {
		s.UpdateErr("segmentGrads", fmt.Errorf("%s reaches no seed of the loss", xs[0].Op.Name()))
		return nil
	}
	var y, dy []tf.Output
	for _, i := range seeds {
		y, dy = append(y, ys[i]), append(dy, dys[i])
	}
	g := op.Gradients(s, y, xs, dy...)
	if len(g) != len(xs) {
		return nil
	}
	for i, gi := range g {
		if gi.Op == nil {
			s.UpdateErr("segmentGrads", fmt.Errorf("no gradient reaches %s", xs[i].Op.Name()))
			return nil
		}
	}
	return g
}

// sumParts adds each x's gradient parts.
func sumParts(s *op.Scope, parts [][]tf.Output) []tf.Output {
	out := make([]tf.Output, len(parts))
	for i, p := range parts {
		switch len(p) {
		case 0:
			s.UpdateErr("sumParts", fmt.Errorf("no gradient for trained tensor %d", i))
			return nil
		case 1:
			out[i] = p[0]
		default:
			out[i] = op.AddN(s.SubScope("AddN"), p)
		}
	}
	return out
}

// walk returns the seeds (seedAt: output → index) that the forward graph leads to from x
// without passing a StopGradient or another seed, in the order met.
func walk(x tf.Output, seedAt map[string]int) []int {
	var met []int
	seen := map[string]bool{}
	queue := []tf.Output{x}
	for len(queue) > 0 {
		o := queue[0]
		queue = queue[1:]
		for _, c := range o.Consumers() {
			n := c.Op
			if seen[n.Name()] || n.Type() == "StopGradient" {
				continue
			}
			seen[n.Name()] = true
			for k := range n.NumOutputs() {
				out := n.Output(k)
				if i, ok := seedAt[outputKey(out)]; ok {
					met = append(met, i)
				} else {
					queue = append(queue, out)
				}
			}
		}
	}
	return met
}

func outputKey(o tf.Output) string { return fmt.Sprintf("%s:%d", o.Op.Name(), o.Index) }

// indexOf maps each output's key to its index in outs.
func indexOf(outs []tf.Output) map[string]int {
	m := make(map[string]int, len(outs))
	for i, o := range outs {
		m[outputKey(o)] = i
	}
	return m
}

// bnReducer is what a synchronised batch norm needs of the workers.
type bnReducer interface {
	allReduce(s *op.Scope, x tf.Output, key int) tf.Output
	sum(s *op.Scope, xs []tf.Output, key int) []tf.Output
	workers() int
}

// oneWorker is the bnReducer of one process.
type oneWorker struct{}

func (oneWorker) allReduce(_ *op.Scope, x tf.Output, _ int) tf.Output { return x }
func (oneWorker) sum(_ *op.Scope, xs []tf.Output, _ int) []tf.Output  { return xs }
func (oneWorker) workers() int                                        { return 1 }
