package tfgraph

import tf "github.com/wamuir/graft/tensorflow"

// modelVars are the NNCLR model's variables by role.
type modelVars struct {
	enc, head, pred, probe []*variable
	contrastive, probeOpt  *optimizer
	queue, step            *variable
	stats                  []*variable // the heads' BN moving statistics
}

// contrastiveVars are the variables the contrastive step trains.
func (v *modelVars) contrastiveVars() []*variable {
	return append(append(append([]*variable{}, v.enc...), v.head...), v.pred...)
}

// newModelVars creates the model's variables in checkpoint order: encoder, projection head,
// prediction head, probe, the contrastive and the probe Adam's slots, their counters, the queue,
// the global step, and last (so that the others keep their places and Init's streams) the BN
// moving statistics.
func (b *builder) newModelVars() *modelVars {
	c := b.cfg
	v := &modelVars{}
	v.enc = b.newVars(c.EncoderVars())
	v.head = b.newVars(c.HeadVars())
	v.pred = b.newVars(c.PredVars())
	v.probe = b.newVars(c.ProbeVars())
	v.contrastive = b.newOptimizer("adam_c", v.contrastiveVars(), c.adam())
	v.probeOpt = b.newOptimizer("adam_p", v.probe, c.adam())
	v.contrastive.iter = b.newVar(VarSpec{"adam_c/iterations", nil}, tf.Int64)
	v.probeOpt.iter = b.newVar(VarSpec{"adam_p/iterations", nil}, tf.Int64)
	v.queue = b.newVar(VarSpec{"queue", []int64{int64(c.QueueSize), int64(c.projDim())}}, tf.Float)
	v.step = b.newVar(VarSpec{"global_step", nil}, tf.Int64)
	v.stats = b.newVars(c.StatVars())
	return v
}
