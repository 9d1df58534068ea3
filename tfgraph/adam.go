package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// adamSettings are Adam's hyperparameters.
type adamSettings struct{ lr, beta1, beta2, eps float64 }

func (c ModelConfig) adam() adamSettings {
	return adamSettings{c.LearningRate, c.Beta1, c.Beta2, c.Epsilon}
}

// optimizer is a group of variables trained by one Adam: its slots and its step counter.
type optimizer struct {
	vars   []*variable
	m, v   []*variable
	iter   *variable
	params adamSettings
}

// newOptimizer creates the Adam slots of vars (prefix/NAME/m and prefix/NAME/v, interleaved per
// variable) but not the counter, which the caller places (newVar order is checkpoint order).
func (b *builder) newOptimizer(prefix string, vars []*variable, params adamSettings) *optimizer {
	o := &optimizer{vars: vars, params: params}
	for _, v := range vars {
		o.m = append(o.m, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/m", v.spec.Shape}, tf.Float))
		o.v = append(o.v, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/v", v.spec.Shape}, tf.Float))
	}
	return o
}

// apply adds Keras's Adam update of the variables with grads, after deps, and returns the op that
// runs after all of it (the counter's increment).
func (o *optimizer) apply(s *op.Scope, grads []tf.Output, deps []*tf.Operation) *tf.Operation {
	ds := s.WithControlDependencies(deps...)
	t := op.Cast(ds.SubScope("Cast"), op.AddV2(ds.SubScope("AddV2"), op.ReadVariableOp(ds.SubScope("iter"), o.iter.handle, tf.Int64), op.Const(ds.SubScope("one"), int64(1))), tf.Float)
	beta1, beta2 := f32(s.SubScope("beta1"), o.params.beta1), f32(s.SubScope("beta2"), o.params.beta2)
	b1p := op.Pow(ds.SubScope("b1p"), beta1, t)
	b2p := op.Pow(ds.SubScope("b2p"), beta2, t)
	lr, eps := f32(s.SubScope("lr"), o.params.lr), f32(s.SubScope("eps"), o.params.eps)
	var applies []*tf.Operation
	for i, v := range o.vars {
		applies = append(applies, op.ResourceApplyAdam(ds.SubScope("apply"), v.handle, o.m[i].handle, o.v[i].handle,
			b1p, b2p, lr, beta1, beta2, eps, grads[i]))
	}
	return op.AssignAddVariableOp(s.WithControlDependencies(applies...).SubScope("inc"), o.iter.handle, op.Const(s.SubScope("inc1"), int64(1)))
}
