package tfrun

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
	Bytes   int64         // the bytes of the tensors it output (their allocations' requested sizes)
}

// Trace runs like Run with TensorFlow's FULL_TRACE (RunOptions.trace_level) and returns, beside
// the run's effects, every kernel's time from the RunMetadata's step statistics. The fetched
// values are computed and released, not returned.
func (s *Session) Trace(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]OpTime, error) {
	if s == nil || s.sess == nil {
		return nil, errors.New("tfrun: trace on a closed session")
	}
	opts, err := proto.Marshal(&configpb.RunOptions{TraceLevel: configpb.RunOptions_FULL_TRACE})
	if err != nil {
		return nil, fmt.Errorf("tfrun: trace: %w", err)
	}
	out, raw, err := s.sess.RunWithOptions(feeds, fetches, targets, opts)
	if err != nil {
		return nil, fmt.Errorf("tfrun: trace: %w", err)
	}
	opened(len(out))
	if err := Close(out...); err != nil {
		return nil, err
	}
	var md configpb.RunMetadata
	if err := proto.Unmarshal(raw, &md); err != nil {
		return nil, fmt.Errorf("tfrun: trace: run metadata: %w", err)
	}
	var ops []OpTime
	for _, d := range md.GetStepStats().GetDevStats() {
		for _, n := range d.GetNodeStats() {
			ns := n.GetOpEndRelNanos() - n.GetOpStartRelNanos()
			if ns == 0 {
				ns = (n.GetOpEndRelMicros() - n.GetOpStartRelMicros()) * 1000
			}
			var bytes int64
			for _, o := range n.GetOutput() {
				bytes += o.GetTensorDescription().GetAllocationDescription().GetRequestedBytes()
			}
			ops = append(ops, OpTime{Node: n.GetNodeName(), Op: opOfLabel(n.GetTimelineLabel()), Device: d.GetDevice(),
				Compute: time.Duration(ns), Bytes: bytes})
		}
	}
	if len(ops) == 0 {
		return nil, errors.New("tfrun: trace: the run metadata has no step statistics")
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
