package tfgraph

import (
	"math"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// The learning-rate schedules (ModelConfig.LRSchedule).
const (
	ScheduleConstant     = "constant"      // the learning rate throughout (the Keras example's)
	ScheduleWarmupCosine = "warmup-cosine" // linear warm-up from 0, then cosine decay to 0
)

// Schedules are the valid learning-rate schedules.
var Schedules = []string{ScheduleConstant, ScheduleWarmupCosine}

// learningRate is the optimizer's learning rate for the step its counter (read in ds) is at. A
// constant rate is the constant lr. Under warmup-cosine, with t the steps taken so far, W the
// warm-up steps and T the total: lr·t/W while t < W, then lr·½(1 + cos(π·(min(t, T) − W)/(T − W))),
// in float32 in the operation order of keras.optimizers.schedules.CosineDecay(0, T − W,
// warmup_target=lr, warmup_steps=W), which Keras's optimizers evaluate at their iterations.
// The counter is in the checkpoint, so a resumed run continues the schedule where it was.
func (o *optimizer) learningRate(s, ds *op.Scope) tf.Output {
	dt := o.dtype()
	lr := constOf(s.SubScope("lr"), dt, o.params.lr)
	r := o.recipe
	if r.total == 0 {
		return lr
	}
	ss := ds.SubScope("schedule")
	t := op.Cast(ss.SubScope("t"), op.ReadVariableOp(ss.SubScope("iter"), o.iter.handle, tf.Int64), dt)
	w := constOf(ss.SubScope("warmup"), dt, float64(r.warmup))
	d := constOf(ss.SubScope("decay"), dt, float64(r.total-r.warmup))
	t = op.Minimum(ss.SubScope("min"), t, op.AddV2(ss.SubScope("end"), d, w))
	warm := op.Mul(ss.SubScope("warm"), lr, op.RealDiv(ss.SubScope("warm_frac"), t, w))
	frac := op.RealDiv(ss.SubScope("frac"), op.Sub(ss.SubScope("since"), t, w), d)
	cos := op.Cos(ss.SubScope("Cos"), op.Mul(ss.SubScope("angle"), constOf(ss.SubScope("pi"), dt, math.Pi), frac))
	half := op.Mul(ss.SubScope("half"), constOf(ss.SubScope("c05"), dt, 0.5), op.AddV2(ss.SubScope("plus1"), constOf(ss.SubScope("c1"), dt, 1), cos))
	decayed := op.Mul(ss.SubScope("decayed"), lr, half)
	return op.Select(ss.SubScope("select"), op.Less(ss.SubScope("warming"), t, w), warm, decayed)
}
