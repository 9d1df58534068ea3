package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Collective instance keys of the data-parallel step: one per collective op of the graph,
// the same on every worker.
const (
	keyP1 = iota + 1
	keyP2
	keyF1
	keyF2
	keyContrastiveGrads
	keyProbe
	keyCheck
	keySyncFloat
	keySyncInt
	keyStop
	keyQ1 // the prediction head's rows (ModelConfig.PredHidden)
	keyQ2
)

const groupKey = 1

// collectiveArgs returns the group size, group key and instance key tensors of a collective.
func (b *gb) collectiveArgs(s *op.Scope, key int) (size, group, instance tf.Output) {
	d := b.cfg.Parallel
	return b.i32(s.SubScope("group_size"), int32(d.Workers)), b.i32(s.SubScope("group_key"), groupKey), b.i32(s.SubScope("instance_key"), int32(key))
}

func (b *gb) timeoutSeconds() float32 {
	t := b.cfg.Parallel.Timeout
	if t <= 0 {
		t = DefaultCollectiveTimeout
	}
	return float32(t.Seconds())
}

// globalOrder returns, for each row of the global batch (every worker's unlabelled rows in
// worker order, then every worker's labelled rows), its row in a gather's task order (worker 0's
// unlabelled then labelled rows, then worker 1's, ...).
func (d *DataParallel) globalOrder() []int32 {
	n := d.Unlabelled + d.Labelled
	var idx []int32
	for w := 0; w < d.Workers; w++ {
		for j := 0; j < d.Unlabelled; j++ {
			idx = append(idx, int32(w*n+j))
		}
	}
	for w := 0; w < d.Workers; w++ {
		for j := 0; j < d.Labelled; j++ {
			idx = append(idx, int32(w*n+d.Unlabelled+j))
		}
	}
	return idx
}

func rangeIdx(lo, hi int) []int32 {
	out := make([]int32, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, int32(i))
	}
	return out
}

// gatherRows gathers every worker's x ([n, dim]) in task order, as a constant (no gradient),
// with its static shape [workers·n, dim].
func (b *gb) gatherRows(s *op.Scope, x tf.Output, dim, key int) tf.Output {
	d := b.cfg.Parallel
	size, group, inst := b.collectiveArgs(s, key)
	g := op.CollectiveGatherV2(s.SubScope("CollectiveGatherV2"), x, size, group, inst, nil,
		op.CollectiveGatherV2TimeoutSeconds(b.timeoutSeconds()))
	g = op.Reshape(s.SubScope("Reshape"), g, b.i32(s.SubScope("shape"), int32(d.Workers*(d.Unlabelled+d.Labelled)), int32(dim)))
	return op.StopGradient(s.SubScope("StopGradient"), g)
}

// globalRows returns the global batch of x ([n, dim], this worker's rows) in global order twice:
// with this worker's rows being x itself, so gradients reach them and only them, and as a
// constant.
func (b *gb) globalRows(s *op.Scope, x tf.Output, dim, key int) (live, constant tf.Output) {
	d := b.cfg.Parallel
	n := d.Unlabelled + d.Labelled
	g := b.gatherRows(s, x, dim, key)
	order := op.Const(s.SubScope("order"), d.globalOrder())
	axis := b.i32(s.SubScope("axis"), 0)
	constant = op.GatherV2(s.SubScope("global"), g, order, axis)
	var pieces []tf.Output
	if d.Task > 0 {
		pieces = append(pieces, op.GatherV2(s.SubScope("before"), g, op.Const(s.SubScope("before_idx"), rangeIdx(0, d.Task*n)), axis))
	}
	pieces = append(pieces, x)
	if d.Task < d.Workers-1 {
		pieces = append(pieces, op.GatherV2(s.SubScope("after"), g, op.Const(s.SubScope("after_idx"), rangeIdx((d.Task+1)*n, d.Workers*n)), axis))
	}
	taskOrder := x
	if len(pieces) > 1 {
		taskOrder = op.ConcatV2(s.SubScope("ConcatV2"), pieces, b.i32(s.SubScope("caxis"), 0))
	}
	live = op.GatherV2(s.SubScope("live"), taskOrder, order, axis)
	return live, constant
}

// gatherGlobal is the global batch of x in global order, as a constant.
func (b *gb) gatherGlobal(s *op.Scope, x tf.Output, dim, key int) tf.Output {
	g := b.gatherRows(s, x, dim, key)
	return op.GatherV2(s.SubScope("global"), g, op.Const(s.SubScope("order"), b.cfg.Parallel.globalOrder()), b.i32(s.SubScope("axis"), 0))
}

// allReduceSum sums xs across the workers with one collective on their packed values and
// returns the sums in xs's shapes.
func (b *gb) allReduceSum(s *op.Scope, xs []tf.Output, key int) []tf.Output {
	flat := make([]tf.Output, len(xs))
	sizes := make([]tf.Output, len(xs))
	for i, x := range xs {
		flat[i] = op.Reshape(s.SubScope("flatten"), x, op.Const(s.SubScope("flat"), []int32{-1}))
		sizes[i] = op.Size(s.SubScope("Size"), x, op.SizeOutType(tf.Int32))
	}
	packed := op.ConcatV2(s.SubScope("pack"), flat, b.i32(s.SubScope("axis"), 0))
	size, group, inst := b.collectiveArgs(s, key)
	sum := op.CollectiveReduceV2(s.SubScope("CollectiveReduceV2"), packed, size, group, inst, nil, "Add", "Id",
		op.CollectiveReduceV2TimeoutSeconds(b.timeoutSeconds()))
	parts := op.SplitV(s.SubScope("unpack"), sum, op.Pack(s.SubScope("sizes"), sizes), b.i32(s.SubScope("saxis"), 0), int64(len(xs)))
	out := make([]tf.Output, len(xs))
	for i, x := range xs {
		out[i] = op.Reshape(s.SubScope("reshape"), parts[i], op.Shape(s.SubScope("shape"), x, op.ShapeOutType(tf.Int32)))
	}
	return out
}

// checkFetch is the start-up check of a data-parallel graph: it gathers [task, hi, lo] of every
// worker, lo/hi being a fingerprint of the run given by the caller.
type checkFetch struct {
	in  tf.Output // int64 [3]
	out tf.Output // int64 [workers·3]
}

func (b *gb) clusterCheck(s *op.Scope) checkFetch {
	in := op.Placeholder(s.SubScope("in"), tf.Int64, op.PlaceholderShape(tf.MakeShape(3)))
	size, group, inst := b.collectiveArgs(s, keyCheck)
	out := op.CollectiveGatherV2(s.SubScope("CollectiveGatherV2"), in, size, group, inst, nil,
		op.CollectiveGatherV2TimeoutSeconds(b.timeoutSeconds()))
	return checkFetch{in: in, out: out}
}

// CheckCluster is the first collective of a data-parallel model: every worker gathers each
// worker's task index and fingerprint (of its run's settings). It returns an error when a worker
// does not arrive within the collective timeout, when the gather's order is not the task order,
// or when a worker's fingerprint differs from this one's (a worker started with other settings),
// naming the worker.
func (m *Model) CheckCluster(fingerprint uint64) error {
	d := m.cfg.Parallel
	if d == nil {
		return nil
	}
	t, err := tf.NewTensor([]int64{int64(d.Task), int64(fingerprint >> 32), int64(fingerprint & 0xffffffff)})
	if err != nil {
		return err
	}
	out, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.g.check.in: t}, []tf.Output{m.g.check.out}, nil)
	if err != nil {
		return fmt.Errorf("tfgraph: worker %d: the cluster's %d workers did not all answer within %s: %w", d.Task, d.Workers, b2t(d), err)
	}
	v := out[0].Value().([]int64)
	if len(v) != 3*d.Workers {
		return fmt.Errorf("tfgraph: worker %d: cluster check gathered %d values from %d workers", d.Task, len(v), d.Workers)
	}
	for w := 0; w < d.Workers; w++ {
		if v[3*w] != int64(w) {
			return fmt.Errorf("tfgraph: worker %d: the collective gathered task %d in place %d: not the task order", d.Task, v[3*w], w)
		}
		if got := uint64(v[3*w+1])<<32 | uint64(v[3*w+2]); got != fingerprint {
			return fmt.Errorf("tfgraph: worker %d: worker %d runs other settings (fingerprint %016x, this worker's %016x): start every worker with the same flags", d.Task, w, got, fingerprint)
		}
	}
	return nil
}

func b2t(d *DataParallel) string {
	if d.Timeout > 0 {
		return d.Timeout.String()
	}
	return DefaultCollectiveTimeout.String()
}

// syncOps broadcasts every variable from the chief (task 0) to the other workers: the chief
// sends its float32 and int64 variables packed into one tensor each, the others receive them and
// assign.
type syncOps struct {
	fetch []tf.Output     // the chief's sends
	ops   []*tf.Operation // the others' assignments
}

func (b *gb) syncFromChief(s *op.Scope, vars []*variable) syncOps {
	d := b.cfg.Parallel
	var so syncOps
	for _, dt := range []tf.DataType{tf.Float, tf.Int64} {
		var vs []*variable
		total := int64(0)
		for _, v := range vars {
			if v.dtype == dt {
				vs = append(vs, v)
				total += Array{Shape: v.spec.Shape}.size()
			}
		}
		key := keySyncFloat
		if dt == tf.Int64 {
			key = keySyncInt
		}
		ss := s.SubScope(fmt.Sprintf("sync%d", key))
		size, group, inst := b.collectiveArgs(ss, key)
		if d.Task == 0 {
			flat := make([]tf.Output, len(vs))
			for i, v := range vs {
				flat[i] = op.Reshape(ss.SubScope("flatten"), v.read, op.Const(ss.SubScope("flat"), []int32{-1}))
			}
			packed := op.ConcatV2(ss.SubScope("pack"), flat, b.i32(ss.SubScope("axis"), 0))
			so.fetch = append(so.fetch, op.CollectiveBcastSendV2(ss.SubScope("send"), packed, size, group, inst,
				op.CollectiveBcastSendV2TimeoutSeconds(b.timeoutSeconds())))
			continue
		}
		recv := op.CollectiveBcastRecvV2(ss.SubScope("recv"), size, group, inst, op.Const(ss.SubScope("shape"), []int64{total}), dt,
			op.CollectiveBcastRecvV2TimeoutSeconds(b.timeoutSeconds()))
		sizes := make([]int64, len(vs))
		for i, v := range vs {
			sizes[i] = Array{Shape: v.spec.Shape}.size()
		}
		parts := op.SplitV(ss.SubScope("unpack"), recv, op.Const(ss.SubScope("sizes"), sizes), b.i32(ss.SubScope("saxis"), 0), int64(len(vs)))
		for i, v := range vs {
			shape := make([]int64, len(v.spec.Shape))
			copy(shape, v.spec.Shape)
			val := op.Reshape(ss.SubScope("reshape"), parts[i], op.Const(ss.SubScope("vshape"), shape))
			so.ops = append(so.ops, op.AssignVariableOp(ss.SubScope("assign"), v.handle, val))
		}
	}
	return so
}

// SyncFromChief makes every worker's variables (weights, optimizer state, queue, global step)
// the chief's: the chief broadcasts them, the others receive them. Every worker calls it once
// after initialising or restoring (only the chief needs the checkpoint), before training.
func (m *Model) SyncFromChief() error {
	d := m.cfg.Parallel
	if d == nil {
		return nil
	}
	if _, err := m.sess.Run(nil, m.g.sync.fetch, m.g.sync.ops); err != nil {
		return fmt.Errorf("tfgraph: worker %d: taking the chief's variables: %w", d.Task, err)
	}
	return nil
}

// stopFetch is the per-step agreement on stopping: the maximum over workers of a flag.
type stopFetch struct{ in, out tf.Output }

func (b *gb) stopAgreement(s *op.Scope) stopFetch {
	in := op.Placeholder(s.SubScope("in"), tf.Float, op.PlaceholderShape(tf.ScalarShape()))
	size, group, inst := b.collectiveArgs(s, keyStop)
	out := op.CollectiveReduceV2(s.SubScope("CollectiveReduceV2"), in, size, group, inst, nil, "Max", "Id",
		op.CollectiveReduceV2TimeoutSeconds(b.timeoutSeconds()))
	return stopFetch{in: in, out: out}
}

// AnyStop tells the other workers whether this one wants to stop before the next step and
// returns whether any of them does: the workers of a data-parallel run stop after the same step.
// Without Parallel it returns stop.
func (m *Model) AnyStop(stop bool) (bool, error) {
	if m.cfg.Parallel == nil {
		return stop, nil
	}
	v := float32(0)
	if stop {
		v = 1
	}
	t, err := tf.NewTensor(v)
	if err != nil {
		return false, err
	}
	out, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.g.stop.in: t}, []tf.Output{m.g.stop.out}, nil)
	if err != nil {
		return false, fmt.Errorf("tfgraph: worker %d: agreeing on the next step: %w", m.cfg.Parallel.Task, err)
	}
	return out[0].Value().(float32) > 0, nil
}
