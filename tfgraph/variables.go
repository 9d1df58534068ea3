package tfgraph

import tf "github.com/wamuir/graft/tensorflow"

// modelVars are the NNCLR model's variables by role.
type modelVars struct {
	enc, head, pred, probe []*variable
	contrastive, probeOpt  *optimizer
	queue, step            *variable
	stats                  []*variable // the heads' BN moving statistics
	encStats               []*variable // the encoder's BN moving statistics
}

// contrastiveVars are the variables the contrastive step trains.
func (v *modelVars) contrastiveVars() []*variable {
	return append(append(append([]*variable{}, v.enc...), v.head...), v.pred...)
}

// contrastivePrefix names the contrastive optimizer's slots and counter: adam_c (as before
// there was a choice, so that those checkpoints load), sgd_c or lars_c.
func (c ModelConfig) contrastivePrefix() string { return c.optimizer() + "_c" }

// newModelVars creates the model's variables in checkpoint order: encoder, projection head,
// prediction head, probe, the contrastive optimizer's slots (Adam's m and v, or SGD's and LARS's
// momentum and a reserved stream) and the probe Adam's, their counters, the queue,
// the global step, and last (so that the others keep their places and Init's streams) the heads'
// BN moving statistics, then the encoder's. A model without a probe (ModelConfig.HasProbe) has no probe, probe Adam
// slots or counter; their places in Init's streams stay reserved, so the same seed gives its
// other variables the values of the model with a probe.
func (b *builder) newModelVars() *modelVars {
	c := b.cfg
	v := &modelVars{}
	v.enc = b.newVars(c.EncoderVars())
	v.head = b.newVars(c.HeadVars())
	v.pred = b.newVars(c.PredVars())
	probeCount := len(c.probeSpecs())
	if !c.HasProbe() {
		b.reserve(probeCount) // the probe
	}
	v.probe = b.newVars(c.ProbeVars())
	prefix := c.contrastivePrefix()
	if r := c.recipe(); r.isAdam() {
		v.contrastive = b.newOptimizer(prefix, v.contrastiveVars(), c.adam())
	} else {
		v.contrastive = b.newMomentumOptimizer(prefix, v.contrastiveVars(), c.adam())
	}
	v.contrastive.recipe = c.recipe()
	if c.HasProbe() {
		v.probeOpt = b.newOptimizer("adam_p", v.probe, c.probeAdam())
	} else {
		b.reserve(2 * probeCount) // its Adam slots
	}
	v.contrastive.iter = b.newVar(VarSpec{prefix + "/iterations", nil}, tf.Int64)
	if c.HasProbe() {
		v.probeOpt.iter = b.newVar(VarSpec{"adam_p/iterations", nil}, tf.Int64)
	} else {
		b.reserve(1) // its counter
	}
	v.queue = b.newVar(VarSpec{"queue", []int64{int64(c.QueueSize), int64(c.projDim())}}, c.floatType())
	v.step = b.newVar(VarSpec{"global_step", nil}, tf.Int64)
	v.stats = b.newVars(c.StatVars())
	v.encStats = b.newVars(c.EncoderStatVars())
	return v
}
