package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// syncBN synchronises the training-mode batch norms of a data-parallel train step: each
// normalises with the moments of the global batch (every worker's rows), and its backward pass
// adds the terms through those moments that reach the other workers' rows.
//
// The gradient registry has no gradient for the collectives, and op.Gradients cannot call a
// gradient of ours, so the step's backward pass is cut at every such batch norm: its input
// reaches its output only through a StopGradient, and gradients differentiates the loss one
// segment at a time, from the last batch norm built to the first, each batch norm's input
// gradient written by hand (inputGrad). A nil *syncBN is one process's batch norm (batchNorm).
type syncBN struct {
	p   dataParallel
	bns []syncedBN // in build order (a topological order of the step)
}

// syncedBN is one synchronised batch norm of the step: what its backward pass reads.
type syncedBN struct {
	in, out, cut   tf.Output // input, output, input behind a StopGradient
	gamma, beta    tf.Output // reads of its weights
	mean, variance tf.Output // the global batch's moments
	axes, count    tf.Output // the reduced axes; the global batch's values per channel (float32)
	eps            float64
	key            int // the instance key of its backward's all-reduce
}

// keyBatchNorm is the first collective instance key of the synchronised batch norms: the i-th
// built takes keyBatchNorm + 3i (the sums), + 3i + 1 (the squared deviations) and + 3i + 2 (its
// backward pass). The build order is the same on every worker.
const keyBatchNorm = 1000

// norm is batchNorm. In training mode (stats nil) with sb set, the moments are the global
// batch's, in two passes as tf.nn.moments takes them on one process (no E[x²] − mean²
// cancellation): the mean is the all-reduced per-channel sum over the global count, the variance
// the all-reduced sum of squared deviations from that mean over the same count. Every worker
// gets the same moments, so the moving statistics stay identical across workers.
func (sb *syncBN) norm(s *op.Scope, h, gamma, beta tf.Output, stats []tf.Output, eps float64, axes ...int32) (tf.Output, []tf.Output) {
	if sb == nil || stats != nil {
		return batchNorm(s, h, gamma, beta, stats, eps, axes...)
	}
	key := keyBatchNorm + 3*len(sb.bns)
	ss := s.SubScope("sync")
	b := syncedBN{in: h, cut: op.StopGradient(ss.SubScope("cut"), h), gamma: gamma, beta: beta, eps: eps, key: key + 2}
	b.axes = op.Const(ss.SubScope("axes"), axes) // a vector, also for one axis
	b.count = sb.count(ss.SubScope("count"), h, b.axes)
	sum := op.Sum(ss.SubScope("sum"), b.cut, b.axes)
	// The moments are constants to the gradient registry (it has no gradient for a collective);
	// inputGrad supplies the terms through them.
	b.mean = op.StopGradient(ss.SubScope("mean_const"), op.RealDiv(ss.SubScope("mean"), sb.p.allReduce(ss.SubScope("sum_allreduce"), sum, key), b.count))
	dev := op.Square(ss.SubScope("Square"), op.Sub(ss.SubScope("Sub"), b.cut, b.mean))
	sq := sb.p.allReduce(ss.SubScope("sq_allreduce"), op.Sum(ss.SubScope("sq"), dev, b.axes), key+1)
	b.variance = op.StopGradient(ss.SubScope("variance_const"), op.RealDiv(ss.SubScope("variance"), sq, b.count))
	b.out = bnApply(s, b.cut, gamma, beta, b.mean, b.variance, eps)
	sb.bns = append(sb.bns, b)
	return b.out, []tf.Output{b.mean, b.variance}
}

// count is the number of values per channel of h over axes in the global batch (every worker
// has as many rows), float32.
func (sb *syncBN) count(s *op.Scope, h, axes tf.Output) tf.Output {
	dims := op.GatherV2(s.SubScope("dims"), op.Shape(s.SubScope("Shape"), h, op.ShapeOutType(tf.Int64)), axes, i32(s.SubScope("axis"), 0))
	local := op.Prod(s.SubScope("Prod"), dims, i32(s.SubScope("paxis"), 0))
	global := op.Mul(s.SubScope("workers"), local, op.Const(s.SubScope("n"), int64(sb.p.d.Workers)))
	return op.Cast(s.SubScope("Cast"), global, tf.Float)
}

// inputGrad is the gradient of the global loss at b's input (this worker's rows) given dy, its
// output's: with σ = √(variance + eps), x̂ = (h − mean)/σ and the global batch's means of dy and
// of dy·x̂ (one all-reduce of their per-channel sums),
//
//	dh = γ/σ · (dy − mean(dy) − x̂·mean(dy·x̂)),
//
// what one process's registry gives through the batch mean and variance.
func (sb *syncBN) inputGrad(s *op.Scope, b syncedBN, dy tf.Output) tf.Output {
	rs := op.Rsqrt(s.SubScope("Rsqrt"), op.AddV2(s.SubScope("eps"), b.variance, constLike(s.SubScope("epsilon"), b.variance, b.eps)))
	xhat := op.Mul(s.SubScope("xhat"), op.Sub(s.SubScope("Sub"), b.cut, b.mean), rs)
	sums := sb.p.sum(s.SubScope("allreduce"), []tf.Output{
		op.Sum(s.SubScope("dy"), dy, b.axes),
		op.Sum(s.SubScope("dyx"), op.Mul(s.SubScope("Mul"), dy, xhat), b.axes),
	}, b.key)
	mdy := op.RealDiv(s.SubScope("mdy"), sums[0], b.count)
	mdyx := op.RealDiv(s.SubScope("mdyx"), sums[1], b.count)
	centred := op.Sub(s.SubScope("centre"), op.Sub(s.SubScope("mean"), dy, mdy), op.Mul(s.SubScope("proj"), xhat, mdyx))
	return op.Mul(s.SubScope("dh"), centred, op.Mul(s.SubScope("scale"), b.gamma, rs))
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
// (inputGrad); last the other weights, each from the seeds it meets. Walks from two batch norms
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
		g := segmentGrads(bs.SubScope("out"), ys, dys, outSeeds[j], b.out, b.gamma, b.beta)
		if g == nil {
			return nil
		}
		gi, bi := at[outputKey(b.gamma)], at[outputKey(b.beta)]
		parts[gi], parts[bi] = append(parts[gi], g[1]), append(parts[bi], g[2])
		dys[len(tops)+j] = sb.inputGrad(bs.SubScope("in"), b, g[0])
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
