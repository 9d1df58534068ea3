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
// reaches its output only through a StopGradient, and seeds differentiates the loss one
// segment at a time, from the last batch norm built to the first, each batch norm's input
// gradient written by hand (inputGrad). A nil *syncBN is one process's batch norm (batchNorm).
type syncBN struct {
	p   dataParallel
	bns []syncedBN // in build order (a topological order of the step)
}

// syncedBN is one synchronised batch norm of the step: what its backward pass reads.
type syncedBN struct {
	in, out, cut          tf.Output // input, output, input behind a StopGradient
	gamma, mean, variance tf.Output
	axes, count           tf.Output // the reduced axes; the global batch's values per channel (float32)
	eps                   float64
	key                   int // the instance key of its backward's all-reduce
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
	b := syncedBN{in: h, cut: op.StopGradient(ss.SubScope("cut"), h), gamma: gamma, eps: eps, key: key + 2}
	b.axes = i32(ss.SubScope("axes"), axes...)
	b.count = sb.count(ss.SubScope("count"), h, b.axes)
	sum := op.Sum(ss.SubScope("sum"), b.cut, b.axes)
	b.mean = op.RealDiv(ss.SubScope("mean"), sb.p.allReduce(ss.SubScope("sum_allreduce"), sum, key), b.count)
	dev := op.Square(ss.SubScope("Square"), op.Sub(ss.SubScope("Sub"), b.cut, b.mean))
	sq := sb.p.allReduce(ss.SubScope("sq_allreduce"), op.Sum(ss.SubScope("sq"), dev, b.axes), key+1)
	b.variance = op.RealDiv(ss.SubScope("variance"), sq, b.count)
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
	rs := op.Rsqrt(s.SubScope("Rsqrt"), op.AddV2(s.SubScope("eps"), b.variance, f32(s.SubScope("epsilon"), b.eps)))
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

// seeds returns the outputs ys and their gradients dys from which op.Gradients(ys, xs, dys...)
// gives the gradient of loss at any x upstream of the batch norms: [loss] and no dys without
// synchronised batch norms (one process's backward pass, unchanged); else tops (every tensor
// through which the loss sees the views) with their gradients, then each batch norm's input with
// its gradient (inputGrad), the last built first. Each op.Gradients below stops at the outputs
// already in ys, so each covers one segment of the network.
func (sb *syncBN) seeds(s *op.Scope, loss tf.Output, tops []tf.Output) (ys, dys []tf.Output) {
	if sb == nil || len(sb.bns) == 0 {
		return []tf.Output{loss}, nil
	}
	ys = append([]tf.Output(nil), tops...)
	dys = op.Gradients(s.SubScope("tops"), []tf.Output{loss}, tops)
	for i := len(sb.bns) - 1; i >= 0; i-- {
		b := sb.bns[i]
		bs := s.SubScope(fmt.Sprintf("bn%d", i))
		dy := op.Gradients(bs.SubScope("out"), ys, []tf.Output{b.out}, dys...)
		if len(dy) != 1 || dy[0].Op == nil {
			s.UpdateErr("seeds", fmt.Errorf("no gradient reaches batch norm %d's output", i))
			return ys, dys
		}
		ys, dys = append(ys, b.in), append(dys, sb.inputGrad(bs.SubScope("in"), b, dy[0]))
	}
	return ys, dys
}
