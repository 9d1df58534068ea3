package tfrun

import (
	"errors"
	"fmt"
	"time"

	tf "github.com/wamuir/graft/tensorflow"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
	"google.golang.org/protobuf/proto"
)

// ErrNoAnswer is ProbeWorker's error when the worker did not answer within the deadline.
var ErrNoAnswer = errors.New("no answer")

// ProbeWorker asks worker i of c whether it answers at TensorFlow's RPC level: a session on its
// server (grpc://Workers[i], its device filter keeping the run on that worker alone, so that no
// third worker takes part) runs a one-constant graph, which must come back within timeout. A
// connect is no such test: the kernel of a stopped (SIGSTOP) or hung process still completes
// TCP handshakes. The error names the worker and its address; it wraps ErrNoAnswer when the
// deadline passed (a worker that refuses, or fails, answers sooner).
//
// When the worker does not answer, the run is abandoned, not cancelled (libtensorflow's C API
// cannot cancel a run): a goroutine and a session stay behind until the worker answers or the
// process exits. Probe a worker that did not answer only before giving up on the cluster.
func ProbeWorker(c Cluster, i int, timeout time.Duration) error {
	if i < 0 || i >= len(c.Workers) {
		return fmt.Errorf("tfrun: probe: worker %d outside the cluster's %d workers", i, len(c.Workers))
	}
	addr := c.Workers[i]
	done := make(chan error, 1)
	go func() { done <- probeRun(addr, i, timeout) }()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("tfrun: worker %d at %s: %w", i, addr, err)
		}
		return nil
	case <-t.C:
		return fmt.Errorf("tfrun: worker %d at %s: %w within %s", i, addr, ErrNoAnswer, timeout)
	}
}

// probeRun runs the probe's graph on worker task at addr.
func probeRun(addr string, task int, timeout time.Duration) error {
	s := op.NewScope()
	one := op.Const(s.SubScope("probe"), int32(1))
	g, err := s.Finalize()
	if err != nil {
		return err
	}
	cfg, err := proto.Marshal(&configpb.ConfigProto{
		DeviceFilters:       []string{fmt.Sprintf("/job:worker/task:%d", task)},
		IsolateSessionState: true,
	})
	if err != nil {
		return err
	}
	sess, err := tf.NewSession(g, &tf.SessionOptions{Target: "grpc://" + addr, Config: cfg})
	if err != nil {
		return err
	}
	ro, err := proto.Marshal(&configpb.RunOptions{TimeoutInMs: timeout.Milliseconds()})
	if err != nil {
		sess.Close()
		return err
	}
	out, _, err := sess.RunWithOptions(nil, []tf.Output{one}, nil, ro)
	for _, t := range out {
		t.Close()
	}
	if err != nil {
		sess.Close()
		return err
	}
	return sess.Close()
}
