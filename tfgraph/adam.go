package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// applyAdam is Keras's Adam update of o's variables (ResourceApplyAdam at the step's learning
// rate), each decaying variable first decayed as keras.optimizers.Adam's weight_decay does
// (decoupled, AdamW's: w ← w − w·weight_decay·lr, before the update). ds carries the update's
// dependencies; s is the optimizer's scope.
func (o *optimizer) applyAdam(s, ds *op.Scope, grads []tf.Output) []*tf.Operation {
	dt := o.dtype()
	t := op.Cast(ds.SubScope("Cast"), op.AddV2(ds.SubScope("AddV2"), op.ReadVariableOp(ds.SubScope("iter"), o.iter.handle, tf.Int64), op.Const(ds.SubScope("one"), int64(1))), dt)
	beta1, beta2 := constOf(s.SubScope("beta1"), dt, o.params.beta1), constOf(s.SubScope("beta2"), dt, o.params.beta2)
	b1p := op.Pow(ds.SubScope("b1p"), beta1, t)
	b2p := op.Pow(ds.SubScope("b2p"), beta2, t)
	lr, eps := o.learningRate(s, ds), constOf(s.SubScope("eps"), dt, o.params.eps)
	var applies []*tf.Operation
	for i, v := range o.vars {
		vs := ds
		if o.recipe.weightDecay > 0 && decays(v.spec.Name) {
			vs = ds.WithControlDependencies(o.decoupledDecay(ds.SubScope("decay"), v, lr))
		}
		applies = append(applies, op.ResourceApplyAdam(vs.SubScope("apply"), v.handle, o.m[i].handle, o.v[i].handle,
			b1p, b2p, lr, beta1, beta2, eps, grads[i]))
	}
	return applies
}

// decoupledDecay assigns v ← v − v·weight_decay·lr.
func (o *optimizer) decoupledDecay(s *op.Scope, v *variable, lr tf.Output) *tf.Operation {
	w := op.ReadVariableOp(s.SubScope("read"), v.handle, v.dtype)
	step := op.Mul(s.SubScope("Mul"), op.Mul(s.SubScope("Mul"), w, constLike(s.SubScope("wd"), w, o.recipe.weightDecay)), lr)
	return op.AssignVariableOp(s.SubScope("assign"), v.handle, op.Sub(s.SubScope("Sub"), w, step))
}
