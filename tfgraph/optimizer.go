package tfgraph

import (
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// adamSettings are Adam's hyperparameters.
type adamSettings struct{ lr, beta1, beta2, eps float64 }

func (c ModelConfig) adam() adamSettings {
	return adamSettings{c.LearningRate, c.Beta1, c.Beta2, c.Epsilon}
}

// probeAdam is the probe's Adam: ProbeLearningRate (0: LearningRate), constant.
func (c ModelConfig) probeAdam() adamSettings {
	a := c.adam()
	if c.ProbeLearningRate > 0 {
		a.lr = c.ProbeLearningRate
	}
	return a
}

// recipe is what an optimizer does beyond Adam's hyperparameters: the rule (Adam, SGD or LARS),
// weight decay and the learning-rate schedule. The zero value is the Keras example's: Adam at
// a constant rate, no decay.
type recipe struct {
	kind                           string // OptimizerAdam ("" too), OptimizerSGD or OptimizerLARS
	momentum, weightDecay, larsEta float64
	larsClip                       bool
	warmup, total                  int64 // warmup-cosine's steps; total 0: a constant rate
}

// recipe is the contrastive optimizer's recipe of c.
func (c ModelConfig) recipe() recipe {
	r := recipe{kind: c.optimizer(), momentum: c.Momentum, weightDecay: c.WeightDecay, larsEta: c.LARSEta, larsClip: c.LARSClip}
	if c.lrSchedule() == ScheduleWarmupCosine {
		r.warmup, r.total = int64(c.WarmupSteps), int64(c.TotalSteps)
	}
	return r
}

// isAdam reports whether the recipe's rule is Adam.
func (r recipe) isAdam() bool { return r.kind == "" || r.kind == OptimizerAdam }

// decays reports whether weight decay (and LARS's trust ratio) applies to the variable named
// name: not to biases nor to batch-norm parameters (gamma, beta).
func decays(name string) bool {
	for _, suffix := range []string{"/bias", "/gamma", "/beta"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return true
}

// optimizer is a group of variables trained by one optimizer: its slots, its step counter, its
// settings and its recipe.
type optimizer struct {
	vars   []*variable
	m, v   []*variable // Adam's moments; for SGD and LARS m alone, the momentum
	iter   *variable
	params adamSettings
	recipe recipe
}

// newOptimizer creates the Adam slots of vars (prefix/NAME/m and prefix/NAME/v, interleaved per
// variable) but not the counter, which the caller places (newVar order is checkpoint order).
func (b *builder) newOptimizer(prefix string, vars []*variable, params adamSettings) *optimizer {
	o := &optimizer{vars: vars, params: params}
	for _, v := range vars {
		o.m = append(o.m, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/m", v.spec.Shape}, v.dtype))
		o.v = append(o.v, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/v", v.spec.Shape}, v.dtype))
	}
	return o
}

// newMomentumOptimizer creates the momentum slots of vars (prefix/NAME/momentum) for SGD or
// LARS, and reserves Init's streams of Adam's second slots, so that the variables after them
// (the queue) draw what they draw with Adam. The caller places the counter.
func (b *builder) newMomentumOptimizer(prefix string, vars []*variable, params adamSettings) *optimizer {
	o := &optimizer{vars: vars, params: params}
	for _, v := range vars {
		o.m = append(o.m, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/momentum", v.spec.Shape}, v.dtype))
	}
	b.reserve(len(vars))
	return o
}

// dtype is the float type of the optimizer's variables, its slots and its arithmetic.
func (o *optimizer) dtype() tf.DataType { return o.vars[0].dtype }

// apply adds the optimizer's update of the variables with grads, after deps, and returns the op
// that runs after all of it (the counter's increment).
func (o *optimizer) apply(s *op.Scope, grads []tf.Output, deps []*tf.Operation) *tf.Operation {
	ds := s.WithControlDependencies(deps...)
	var applies []*tf.Operation
	if o.recipe.isAdam() {
		applies = o.applyAdam(s, ds, grads)
	} else {
		applies = o.applyMomentum(s, ds, grads)
	}
	return op.AssignAddVariableOp(s.WithControlDependencies(applies...).SubScope("inc"), o.iter.handle, op.Const(s.SubScope("inc1"), int64(1)))
}
