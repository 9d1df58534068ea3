package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// applyMomentum is SGD's or LARS's update of o's variables in Keras's momentum form
// (ResourceApplyKerasMomentum): v ← μ·v − r·d, w ← w + v, with d the gradient plus the L2 term
// weight_decay·w for a decaying variable (decays), and r the step's learning rate, or for LARS
// and a decaying variable the layer's rate of You et al. 2017 (larsRate). Biases and batch-norm
// parameters get neither the decay nor the trust ratio. ds carries the update's dependencies; s
// is the optimizer's scope.
func (o *optimizer) applyMomentum(s, ds *op.Scope, grads []tf.Output) []*tf.Operation {
	lr := o.learningRate(s, ds)
	mu := constOf(s.SubScope("momentum"), o.dtype(), o.recipe.momentum)
	var applies []*tf.Operation
	for i, v := range o.vars {
		vs := ds.SubScope("var")
		g, rate := grads[i], lr
		if decays(v.spec.Name) {
			w := op.ReadVariableOp(vs.SubScope("read"), v.handle, v.dtype)
			if o.recipe.kind == OptimizerLARS {
				rate = o.larsRate(vs.SubScope("lars"), w, g, lr)
			}
			if o.recipe.weightDecay > 0 {
				g = op.AddV2(vs.SubScope("l2"), g, op.Mul(vs.SubScope("wd"), constLike(vs.SubScope("decay"), w, o.recipe.weightDecay), w))
			}
		}
		applies = append(applies, op.ResourceApplyKerasMomentum(vs.SubScope("apply"), v.handle, o.m[i].handle, rate, g, mu))
	}
	return applies
}

// larsRate is LARS's rate of one layer of weights w with gradient g at the learning rate lr:
// the trust ratio λ = η·‖w‖ / (‖g‖ + β·‖w‖) (η lars_eta, β weight_decay; 1 when ‖w‖ or ‖g‖ is
// 0), times lr; with lars_clip min(λ, lr) instead (solo-learn's clip_lr: λ/lr clipped at 1, then
// times lr).
func (o *optimizer) larsRate(s *op.Scope, w, g, lr tf.Output) tf.Output {
	norm := func(name string, x tf.Output) tf.Output {
		ns := s.SubScope(name)
		return op.Sqrt(ns.SubScope("Sqrt"), op.Sum(ns.SubScope("Sum"), op.Square(ns.SubScope("Square"), x), allAxes(ns, x)))
	}
	wn, gn := norm("w_norm", w), norm("g_norm", g)
	den := op.AddV2(s.SubScope("den"), gn, op.Mul(s.SubScope("bw"), constLike(s.SubScope("beta"), wn, o.recipe.weightDecay), wn))
	trust := op.RealDiv(s.SubScope("trust"), op.Mul(s.SubScope("ew"), constLike(s.SubScope("eta"), wn, o.recipe.larsEta), wn), den)
	zero := constLike(s.SubScope("zero"), wn, 0)
	both := op.LogicalAnd(s.SubScope("both"), op.Greater(s.SubScope("w_pos"), wn, zero), op.Greater(s.SubScope("g_pos"), gn, zero))
	trust = op.Select(s.SubScope("guard"), both, trust, constLike(s.SubScope("one"), wn, 1))
	if o.recipe.larsClip {
		return op.Minimum(s.SubScope("clip"), trust, lr)
	}
	return op.Mul(s.SubScope("rate"), lr, trust)
}

// allAxes is the range of x's axes, for a reduction over all of them.
func allAxes(s *op.Scope, x tf.Output) tf.Output {
	return op.Range(s.SubScope("axes"), i32(s.SubScope("zero"), 0), op.Rank(s.SubScope("Rank"), x), i32(s.SubScope("one"), 1))
}
