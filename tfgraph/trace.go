package tfgraph

import (
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/nnclr/nnclr/internal/tfc"
	tf "github.com/wamuir/graft/tensorflow"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// OpTime is one kernel run of a traced session run.
type OpTime struct {
	Node    string        // the node's name in the graph TensorFlow ran (after Grappler's rewrites)
	Op      string        // its op type as run, e.g. _MklNativeConv2DWithBias after oneDNN's rewrite
	Device  string        // e.g. /job:localhost/replica:0/task:0/device:CPU:0
	Compute time.Duration // the kernel's compute time: from its start to its end
}

// Trace runs like Run with TensorFlow's FULL_TRACE (RunOptions.trace_level) and returns, beside
// the run's effects, every kernel's time from the RunMetadata's step statistics. The fetched
// values are not returned. graft passes no run options, so the run goes through internal/tfc
// with the C handles of graft's session, operations and tensors; unlike Run it is not tracked by
// graft's Close, so the caller must not close the session while a Trace runs.
func (s *Session) Trace(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]OpTime, error) {
	sess := cHandle(s.sess)
	if sess == nil {
		return nil, errors.New("tfgraph: trace: graft's Session has no C handle (field c) in this version of graft")
	}
	port := func(o tf.Output) (tfc.Port, error) {
		p := tfc.Port{Op: cHandle(o.Op), Index: o.Index}
		if p.Op == nil {
			return p, fmt.Errorf("tfgraph: trace: operation %v has no C handle", o)
		}
		return p, nil
	}
	var in []tfc.Port
	var vals []unsafe.Pointer
	for o, t := range feeds {
		p, err := port(o)
		if err != nil {
			return nil, err
		}
		if cHandle(t) == nil {
			return nil, fmt.Errorf("tfgraph: trace: the tensor fed to %s has no C handle", o.Op.Name())
		}
		in, vals = append(in, p), append(vals, cHandle(t))
	}
	var out []tfc.Port
	for _, o := range fetches {
		p, err := port(o)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	var tg []unsafe.Pointer
	for _, op := range targets {
		if cHandle(op) == nil {
			return nil, fmt.Errorf("tfgraph: trace: target %s has no C handle", op.Name())
		}
		tg = append(tg, cHandle(op))
	}
	opts, err := proto.Marshal(&configpb.RunOptions{TraceLevel: configpb.RunOptions_FULL_TRACE})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: trace: %w", err)
	}
	raw, err := tfc.RunWithOptions(sess, in, vals, out, tg, opts)
	// The C handles above are only valid while their Go owners live.
	runtime.KeepAlive(s)
	runtime.KeepAlive(feeds)
	runtime.KeepAlive(fetches)
	runtime.KeepAlive(targets)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: trace: %w", err)
	}
	var md configpb.RunMetadata
	if err := proto.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("tfgraph: trace: run metadata: %w", err)
	}
	var ops []OpTime
	for _, d := range md.GetStepStats().GetDevStats() {
		for _, n := range d.GetNodeStats() {
			ns := n.GetOpEndRelNanos() - n.GetOpStartRelNanos()
			if ns == 0 {
				ns = (n.GetOpEndRelMicros() - n.GetOpStartRelMicros()) * 1000
			}
			ops = append(ops, OpTime{Node: n.GetNodeName(), Op: opOfLabel(n.GetTimelineLabel()), Device: d.GetDevice(),
				Compute: time.Duration(ns)})
		}
	}
	if len(ops) == 0 {
		return nil, errors.New("tfgraph: trace: the run metadata has no step statistics")
	}
	return ops, nil
}

// opOfLabel returns the op type of a step statistics timeline label, "node = Op(inputs)".
func opOfLabel(label string) string {
	_, rhs, ok := strings.Cut(label, " = ")
	if !ok {
		return ""
	}
	op, _, _ := strings.Cut(rhs, "(")
	return op
}

// cHandle returns the C pointer graft keeps in the unexported field c of a *tf.Session,
// *tf.Operation or *tf.Tensor, or nil when v has none.
func cHandle(v any) unsafe.Pointer {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := rv.Elem().FieldByName("c")
	if !f.IsValid() || f.Kind() != reflect.Pointer {
		return nil
	}
	return f.UnsafePointer()
}

// TraceStep runs one train step as TrainStep does (the same update of the weights, the queue and
// the step counter) under FULL_TRACE and returns its kernels' times instead of the metrics.
func (m *Model) TraceStep(b Batch) ([]OpTime, error) {
	if err := m.checkBatch(b); err != nil {
		return nil, err
	}
	ops, err := m.sess.Trace(m.trainFeeds(b),
		append(slices.Clip(m.g.trainFetch), m.g.finite), []*tf.Operation{m.g.trainOp})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: train step: %w", err)
	}
	return ops, nil
}
