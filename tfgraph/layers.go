package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// The layer helpers: small pieces of graph that backbones, heads and steps are made of. Each
// takes the scope to build in and returns the output; weights come as reads of variables.

// conv2D is a convolution with bias (Keras's Conv2D without activation), NHWC, strides in both
// spatial dimensions.
func conv2D(s *op.Scope, x, kernel, bias tf.Output, stride int64, padding string) tf.Output {
	return op.BiasAdd(s.SubScope("BiasAdd"), op.Conv2D(s.SubScope("Conv2D"), x, kernel, []int64{1, stride, stride, 1}, padding), bias)
}

// dense is x·kernel + bias (Keras's Dense without activation).
func dense(s *op.Scope, x, kernel, bias tf.Output) tf.Output {
	return op.BiasAdd(s.SubScope("BiasAdd"), op.MatMul(s.SubScope("MatMul"), x, kernel), bias)
}

func relu(s *op.Scope, x tf.Output) tf.Output { return op.Relu(s.SubScope("Relu"), x) }

// reluGradBias returns ReluGrad(g, a) and its sums over every dimension but the last (the
// gradient of the bias added before the ReLU): ReluGrad and BiasAddGrad in s's scopes "ReluGrad"
// and "BiasAddGrad", or, with cfg.reluGradBiasOp (nnclr's own kernel, in CPU sessions), one
// node of that op in scope NnclrReluGradBias, whose sums are float32 in every precision. The
// one node spares oneDNN's convolution filter gradient its fused bias reduction, a second pass
// over the backprops that costs about as much as the ReLU gradient at the first layer's size.
func reluGradBias(s *op.Scope, cfg ModelConfig, g, a tf.Output) (backprops, bias tf.Output) {
	if cfg.reluGradBiasOp == "" || s.Err() != nil {
		backprops = op.ReluGrad(s.SubScope("ReluGrad"), g, a)
		return backprops, op.BiasAddGrad(s.SubScope("BiasAddGrad"), backprops)
	}
	o := s.SubScope(cfg.reluGradBiasOp).AddOperation(tf.OpSpec{Type: cfg.reluGradBiasOp, Input: []tf.Input{g, a}})
	return o.Output(0), o.Output(1)
}

// BatchNormalization's settings (Keras's defaults; the heads' BN).
const (
	bnMomentum = 0.99
	bnEpsilon  = 1e-3
)

// batchNorm normalises h per feature (the last axis; the moments over axes: 0 for a [batch,
// features] input, 0, 1, 2 for NHWC) as Keras's BatchNormalization does: with stats nil over
// the batch, as tf.nn.moments and tf.nn.batch_normalization compute it, returning the batch mean
// and variance; else with the moving mean and variance stats[0], stats[1].
func batchNorm(s *op.Scope, h, gamma, beta tf.Output, stats []tf.Output, eps float64, axes ...int32) (out tf.Output, moments []tf.Output) {
	var mean, variance tf.Output
	if stats == nil {
		ax := i32(s.SubScope("axis"), axes...)
		mean = op.Mean(s.SubScope("mean"), h, ax)
		// One SquaredDifference, as tf.nn.moments: its gradient reads h, which the backward
		// keeps anyway, where Sub then Square would keep h − mean as well (an activation-sized
		// tensor per batch norm).
		dev2 := op.SquaredDifference(s.SubScope("SquaredDifference"), h, op.StopGradient(s.SubScope("StopGradient"), mean))
		variance = op.Mean(s.SubScope("variance"), dev2, ax)
		moments = []tf.Output{mean, variance}
	} else {
		mean, variance = stats[0], stats[1]
	}
	return bnApply(s, h, gamma, beta, mean, variance, eps), moments
}

// bnApply is tf.nn.batch_normalization: h·inv + (beta − mean·inv), inv = gamma/√(variance + eps).
func bnApply(s *op.Scope, h, gamma, beta, mean, variance tf.Output, eps float64) tf.Output {
	inv := op.Mul(s.SubScope("scale"), op.Rsqrt(s.SubScope("Rsqrt"), op.AddV2(s.SubScope("eps"), variance, constLike(s.SubScope("epsilon"), variance, eps))), gamma)
	return op.AddV2(s.SubScope("AddV2"), op.Mul(s.SubScope("Mul"), h, inv), op.Sub(s.SubScope("offset"), beta, op.Mul(s.SubScope("shift"), mean, inv)))
}

// movingUpdates assigns each moving statistic (mean, variance per BN, in order) the updates of
// BatchNormalization for the batch moments of view 1, then of view 2 (as two calls of the Keras
// layer in that order do).
func movingUpdates(s *op.Scope, stats []*variable, m1, m2 []tf.Output) []*tf.Operation {
	var ops []*tf.Operation
	for i, v := range stats {
		vs := s.SubScope("moving")
		t := v.read
		m, rest := constLike(vs.SubScope("momentum"), t, bnMomentum), constLike(vs.SubScope("rest"), t, 1-bnMomentum)
		for _, mo := range [][]tf.Output{m1, m2} {
			t = op.AddV2(vs.SubScope("AddV2"), op.Mul(vs.SubScope("Mul"), t, m), op.Mul(vs.SubScope("Mul"), mo[i], rest))
		}
		ops = append(ops, op.AssignVariableOp(vs.SubScope("AssignVariableOp"), v.handle, t))
	}
	return ops
}

// mlp applies a two-layer head with weights w in mlpVars order: layer 0, ReLU, layer 1. A layer
// with bn[i] has no bias and ends in batch normalisation (batchNorm: over the batch with stats
// nil, synchronised by sync in data-parallel training, returning the batch moments of each BN in
// order; else with the moving statistics stats, mean and variance per BN).
func mlp(s *op.Scope, x tf.Output, w []tf.Output, bn [2]bool, stats []tf.Output, sync *syncBN) (tf.Output, []tf.Output) {
	var moments []tf.Output
	h := x
	for i := 0; i < 2; i++ {
		ls := s.SubScope(fmt.Sprintf("dense%d", i))
		if !bn[i] {
			h, w = dense(ls, h, w[0], w[1]), w[2:]
		} else {
			var mo, st []tf.Output
			if stats != nil {
				st, stats = stats[:2], stats[2:]
			}
			h, mo = sync.norm(s.SubScope(fmt.Sprintf("bn%d", i)), op.MatMul(ls.SubScope("MatMul"), h, w[0]), w[1], w[2], st, bnEpsilon, 0)
			w, moments = w[3:], append(moments, mo...)
		}
		if i == 0 {
			h = relu(ls, h)
		}
	}
	return h, moments
}

// l2normalize is tf.math.l2_normalize along axis 1: x · rsqrt(max(Σx², 1e-12)).
func l2normalize(s *op.Scope, x tf.Output) tf.Output {
	ss := op.Sum(s.SubScope("Sum"), op.Square(s.SubScope("Square"), x), i32(s.SubScope("axis"), 1), op.SumKeepDims(true))
	return op.Mul(s.SubScope("Mul"), x, op.Rsqrt(s.SubScope("Rsqrt"), op.Maximum(s.SubScope("Maximum"), ss, constLike(s.SubScope("eps"), ss, 1e-12))))
}

// dim0 is the size of x's first dimension, as an int32 scalar.
func dim0(s *op.Scope, x tf.Output) tf.Output {
	return op.GatherV2(s.SubScope("GatherV2"), op.Shape(s.SubScope("Shape"), x), i32(s.SubScope("i"), 0), i32(s.SubScope("axis"), 0))
}

// xentRows is the softmax cross-entropy of each row of logits with integer labels, given as
// one-hot rows of depth (the C++ gradient registry has no gradient for the sparse op). In
// float64 (the tests' model, ModelConfig.testFloat64) it is −Σ onehot·log_softmax(logits), equal
// in real arithmetic: the registry's gradient of SoftmaxCrossEntropyWithLogits multiplies by a
// float32 constant (−1.0f), so it cannot differentiate the float64 op.
func xentRows(s *op.Scope, logits, labels, depth tf.Output) tf.Output {
	onehot := op.OneHot(s.SubScope("OneHot"), labels, depth, constLike(s.SubScope("on"), logits, 1), constLike(s.SubScope("off"), logits, 0))
	if logits.DataType() == tf.Double {
		picked := op.Sum(s.SubScope("Sum"), op.Mul(s.SubScope("Mul"), onehot, op.LogSoftmax(s.SubScope("LogSoftmax"), logits)), i32(s.SubScope("axis"), 1))
		return op.Neg(s.SubScope("Neg"), picked)
	}
	loss, _ := op.SoftmaxCrossEntropyWithLogits(s.SubScope("SoftmaxCrossEntropyWithLogits"), logits, onehot)
	return loss
}

// meanAxis0 is the mean of x over its first axis.
func meanAxis0(s *op.Scope, x tf.Output) tf.Output {
	return op.Mean(s.SubScope("Mean"), x, i32(s.SubScope("axis"), 0))
}

// correctCount is the number of rows of logits whose argmax is the row's label, of logits' type.
func correctCount(s *op.Scope, logits, labels tf.Output) tf.Output {
	hit := op.Equal(s.SubScope("Equal"), op.ArgMax(s.SubScope("ArgMax"), logits, i32(s.SubScope("a"), 1)), labels)
	return op.Sum(s.SubScope("Sum"), op.Cast(s.SubScope("Cast"), hit, logits.DataType()), i32(s.SubScope("axis"), 0))
}
