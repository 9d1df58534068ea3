package tfrun

import (
	"fmt"
	"net"
	"strings"
	"time"

	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"

	"github.com/nnclr/nnclr/internal/tfc"
)

// Cluster is a worker's view of a data-parallel cluster on TensorFlow's distributed runtime:
// every worker's host:port (the job "worker", task i at Workers[i]; task 0 is the chief) and
// this worker's task. A session of a worker targets the worker's own in-process gRPC server;
// the graph carries no device strings, and the session's device filter keeps every op on the
// local task. Collective ops between the workers' graphs do the communication.
type Cluster struct {
	Workers []string
	Task    int
	// Timeout bounds every collective operation (0: DefaultCollectiveTimeout): a worker that
	// does not arrive within it makes the others' step fail instead of waiting forever.
	Timeout time.Duration
}

// DefaultCollectiveTimeout is the bound of a collective operation when Cluster.Timeout is 0.
const DefaultCollectiveTimeout = 60 * time.Second

// Size is the number of workers.
func (c Cluster) Size() int { return len(c.Workers) }

// timeout returns the collective bound.
func (c Cluster) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultCollectiveTimeout
}

// Describe says what this process is in the cluster, for a run's first line: "worker 0 of 2,
// chief; workers 10.0.0.1:2222 (this), 10.0.0.2:2222; timeout 1m0s".
func (c Cluster) Describe() string {
	role := "chief"
	if c.Task != 0 {
		role = "chief is worker 0"
	}
	addrs := make([]string, len(c.Workers))
	for i, w := range c.Workers {
		addrs[i] = w
		if i == c.Task {
			addrs[i] += " (this)"
		}
	}
	return fmt.Sprintf("worker %d of %d, %s; workers %s; timeout %s", c.Task, len(c.Workers), role, strings.Join(addrs, ", "), c.timeout())
}

// leader is the collective group leader every worker names: the chief's CPU host.
const leader = "/job:worker/replica:0/task:0"

// Validate checks the cluster's shape.
func (c Cluster) Validate() error {
	switch {
	case len(c.Workers) < 1:
		return fmt.Errorf("tfrun: cluster: no workers")
	case c.Task < 0 || c.Task >= len(c.Workers):
		return fmt.Errorf("tfrun: cluster: task %d outside [0, %d)", c.Task, len(c.Workers))
	case c.Timeout < 0:
		return fmt.Errorf("tfrun: cluster: collective timeout %s: want >= 0", c.Timeout)
	}
	seen := map[string]int{}
	for i, w := range c.Workers {
		if w == "" {
			return fmt.Errorf("tfrun: cluster: worker %d has no address", i)
		}
		if j, ok := seen[w]; ok {
			return fmt.Errorf("tfrun: cluster: workers %d and %d have the same address %s", j, i, w)
		}
		seen[w] = i
	}
	return nil
}

// sessionProto adds the cluster's settings to a session's (or a server's default) config.
func (c Cluster) sessionProto(cp *configpb.ConfigProto) {
	if cp.Experimental == nil {
		cp.Experimental = &configpb.ConfigProto_Experimental{}
	}
	cp.Experimental.CollectiveGroupLeader = leader
	cp.DeviceFilters = []string{fmt.Sprintf("/job:worker/task:%d", c.Task)}
	cp.IsolateSessionState = true
}

// StartServer starts this worker's TensorFlow gRPC server, listening on Workers[Task], and
// returns its session target. It fails when the address cannot be bound (a port in use, for
// instance). The server runs until the process exits.
func StartServer(c Cluster, sc SessionConfig) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	tasks := map[int32]string{}
	for i, w := range c.Workers {
		tasks[int32(i)] = w
	}
	raw, err := sc.ConfigProto()
	if err != nil {
		return "", err
	}
	var def configpb.ConfigProto
	if err := proto.Unmarshal(raw, &def); err != nil {
		return "", err
	}
	c.sessionProto(&def)
	sd, err := proto.Marshal(&configpb.ServerDef{
		Cluster:              &configpb.ClusterDef{Job: []*configpb.JobDef{{Name: "worker", Tasks: tasks}}},
		JobName:              "worker",
		TaskIndex:            int32(c.Task),
		Protocol:             "grpc",
		DefaultSessionConfig: &def,
	})
	if err != nil {
		return "", err
	}
	// TensorFlow binds the port on every interface and says only "Could not start gRPC server"
	// when it cannot: find out first.
	_, port, _ := net.SplitHostPort(c.Workers[c.Task])
	l, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return "", fmt.Errorf("tfrun: worker %d at %s: cannot listen on port %s: %w", c.Task, c.Workers[c.Task], port, err)
	}
	l.Close()
	s, err := tfc.Start(sd)
	if err != nil {
		return "", fmt.Errorf("tfrun: worker %d at %s: %w", c.Task, c.Workers[c.Task], err)
	}
	return s.Target(), nil
}
