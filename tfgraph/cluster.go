package tfgraph

import (
	"fmt"

	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// The cluster ops of a data-parallel graph besides the step: the start-up check, taking the
// chief's variables, and the per-step agreement on stopping.

// checkFetch is the start-up check of a data-parallel graph: it gathers [task, hi, lo] of every
// worker, lo/hi being a fingerprint of the run given by the caller.
type checkFetch struct {
	in  tf.Output // int64 [3]
	out tf.Output // int64 [workers·3]
}

func (p dataParallel) clusterCheck(s *op.Scope) checkFetch {
	in := op.Placeholder(s.SubScope("in"), tf.Int64, op.PlaceholderShape(tf.MakeShape(3)))
	size, group, inst := p.collectiveArgs(s, keyCheck)
	out := op.CollectiveGatherV2(s.SubScope("CollectiveGatherV2"), in, size, group, inst, nil,
		op.CollectiveGatherV2TimeoutSeconds(p.timeoutSeconds()))
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
	t, err := tfrun.NewTensor([]int64{int64(d.Task), int64(fingerprint >> 32), int64(fingerprint & 0xffffffff)})
	if err != nil {
		return err
	}
	defer tfrun.Close(t)
	var v []int64
	err = m.run(map[tf.Output]*tf.Tensor{m.g.check.in: t}, []tf.Output{m.g.check.out}, nil, func(out []*tf.Tensor) error {
		v = out[0].Value().([]int64)
		return nil
	})
	if err != nil {
		return fmt.Errorf("tfgraph: worker %d: the cluster's %d workers did not all answer within %s: %w", d.Task, d.Workers, d.timeout(), err)
	}
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

// syncOps broadcasts every variable from the chief (task 0) to the other workers: the chief
// sends its float (float32; float64 in the tests' float64 model) and int64 variables packed into
// one tensor each, the others receive them and assign.
type syncOps struct {
	fetch []tf.Output     // the chief's sends
	ops   []*tf.Operation // the others' assignments
}

func (p dataParallel) syncFromChief(s *op.Scope, vars []*variable, floatType tf.DataType) syncOps {
	d := p.d
	var so syncOps
	for _, dt := range []tf.DataType{floatType, tf.Int64} {
		var vs []*variable
		total := int64(0)
		for _, v := range vars {
			if v.dtype == dt {
				vs = append(vs, v)
				total += v.spec.size()
			}
		}
		key := keySyncFloat
		if dt == tf.Int64 {
			key = keySyncInt
		}
		ss := s.SubScope(fmt.Sprintf("sync%d", key))
		size, group, inst := p.collectiveArgs(ss, key)
		if d.Task == 0 {
			flat := make([]tf.Output, len(vs))
			for i, v := range vs {
				flat[i] = op.Reshape(ss.SubScope("flatten"), v.read, op.Const(ss.SubScope("flat"), []int32{-1}))
			}
			packed := op.ConcatV2(ss.SubScope("pack"), flat, i32(ss.SubScope("axis"), 0))
			so.fetch = append(so.fetch, op.CollectiveBcastSendV2(ss.SubScope("send"), packed, size, group, inst,
				op.CollectiveBcastSendV2TimeoutSeconds(p.timeoutSeconds())))
			continue
		}
		recv := op.CollectiveBcastRecvV2(ss.SubScope("recv"), size, group, inst, op.Const(ss.SubScope("shape"), []int64{total}), dt,
			op.CollectiveBcastRecvV2TimeoutSeconds(p.timeoutSeconds()))
		sizes := make([]int64, len(vs))
		for i, v := range vs {
			sizes[i] = v.spec.size()
		}
		parts := op.SplitV(ss.SubScope("unpack"), recv, op.Const(ss.SubScope("sizes"), sizes), i32(ss.SubScope("saxis"), 0), int64(len(vs)))
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
	if err := m.run(nil, m.g.sync.fetch, m.g.sync.ops, nil); err != nil {
		return fmt.Errorf("tfgraph: worker %d: taking the chief's variables: %w", d.Task, err)
	}
	return nil
}

// stopFetch is the per-step agreement on stopping: the maximum over workers of a flag.
type stopFetch struct{ in, out tf.Output }

func (p dataParallel) stopAgreement(s *op.Scope) stopFetch {
	in := op.Placeholder(s.SubScope("in"), tf.Float, op.PlaceholderShape(tf.ScalarShape()))
	size, group, inst := p.collectiveArgs(s, keyStop)
	out := op.CollectiveReduceV2(s.SubScope("CollectiveReduceV2"), in, size, group, inst, nil, "Max", "Id",
		op.CollectiveReduceV2TimeoutSeconds(p.timeoutSeconds()))
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
	t, err := tfrun.NewTensor(v)
	if err != nil {
		return false, err
	}
	defer tfrun.Close(t)
	any := false
	err = m.run(map[tf.Output]*tf.Tensor{m.g.stop.in: t}, []tf.Output{m.g.stop.out}, nil, func(out []*tf.Tensor) error {
		any = out[0].Value().(float32) > 0
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("tfgraph: worker %d: agreeing on the next step: %w", m.cfg.Parallel.Task, err)
	}
	return any, nil
}

// totalsFetch sums a float64 vector of any length over the workers (every worker the same
// length).
type totalsFetch struct{ in, out tf.Output }

func (p dataParallel) totals(s *op.Scope) totalsFetch {
	in := op.Placeholder(s.SubScope("in"), tf.Double, op.PlaceholderShape(tf.MakeShape(-1)))
	size, group, inst := p.collectiveArgs(s, keyTotals)
	out := op.CollectiveReduceV2(s.SubScope("CollectiveReduceV2"), in, size, group, inst, nil, "Add", "Id",
		op.CollectiveReduceV2TimeoutSeconds(p.timeoutSeconds()))
	return totalsFetch{in: in, out: out}
}

// SumOverWorkers returns the element-wise sum of v over the workers of a data-parallel run, in
// float64: every worker calls it with a vector of the same length at the same point of the run
// (a worker that does not arrive within the collective timeout fails it). Without Parallel it
// returns v. The sharded validation sums its counts with it.
func (m *Model) SumOverWorkers(v []float64) ([]float64, error) {
	d := m.cfg.Parallel
	if d == nil {
		return v, nil
	}
	t, err := tfrun.NewTensor(v)
	if err != nil {
		return nil, err
	}
	defer tfrun.Close(t)
	var sum []float64
	err = m.run(map[tf.Output]*tf.Tensor{m.g.totals.in: t}, []tf.Output{m.g.totals.out}, nil, func(out []*tf.Tensor) error {
		sum = out[0].Value().([]float64)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: worker %d: summing %d values over the workers: %w", d.Task, len(v), err)
	}
	return sum, nil
}
