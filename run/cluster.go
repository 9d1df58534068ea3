package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrun"
)

// ParseTFConfig reads a TF_CONFIG, the JSON that tf.distribute and Kubeflow's TFJob give each
// process: {"cluster": {"chief": ["host:port"], "worker": ["host:port", ...]}, "task": {"type":
// "worker", "index": 1}}. The chief (when the cluster has one) is task 0 and the workers follow
// in order; without a chief, worker 0 is the chief. Other task types (ps, evaluator) are refused:
// nnclr trains data-parallel on workers only. Errors are *setting.Error values naming TF_CONFIG's
// field.
func ParseTFConfig(s string) (tfrun.Cluster, error) {
	var tc struct {
		Cluster map[string][]string `json:"cluster"`
		Task    *struct {
			Type  string `json:"type"`
			Index *int   `json:"index"`
		} `json:"task"`
	}
	if err := json.Unmarshal([]byte(s), &tc); err != nil {
		return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "not valid JSON: %v", err)
	}
	for job := range tc.Cluster {
		if job != "chief" && job != "worker" {
			return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "cluster.%s: nnclr runs chief and worker tasks only", job)
		}
	}
	chief := tc.Cluster["chief"]
	if len(chief) > 1 {
		return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "cluster.chief lists %d addresses: want one", len(chief))
	}
	workers := append(append([]string{}, chief...), tc.Cluster["worker"]...)
	if len(workers) == 0 {
		return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "cluster.worker: no addresses")
	}
	if tc.Task == nil || tc.Task.Index == nil {
		return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "task: want {\"type\": \"worker\", \"index\": N}")
	}
	idx := *tc.Task.Index
	switch tc.Task.Type {
	case "chief":
		if len(chief) == 0 || idx != 0 {
			return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "task chief %d: the cluster has %d chief", idx, len(chief))
		}
	case "worker":
		n := len(tc.Cluster["worker"])
		if idx < 0 || idx >= n {
			return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "task.index %d outside cluster.worker's %d addresses", idx, n)
		}
		idx += len(chief)
	default:
		return tfrun.Cluster{}, setting.Errorf("TF_CONFIG", nil, "task.type %q: want worker or chief", tc.Task.Type)
	}
	c := tfrun.Cluster{Workers: workers, Task: idx}
	return c, checkAddrs(c, "TF_CONFIG")
}

// ResolveCluster returns the cluster of list and task (ParseCluster) when list is set, else of
// tfConfig (ParseTFConfig) when it is set, else nil (one process); timeout bounds its waits.
func ResolveCluster(list string, task int, tfConfig string, timeout time.Duration) (*tfrun.Cluster, error) {
	var cl tfrun.Cluster
	var err error
	switch {
	case list != "":
		cl, err = ParseCluster(list, task)
	case tfConfig != "":
		cl, err = ParseTFConfig(tfConfig)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cl.Timeout = timeout
	return &cl, nil
}

// ParseCluster reads the cluster of the command line: every worker's host:port, comma
// separated, and this worker's index; errors name the settings "cluster" and "task_index".
func ParseCluster(list string, task int) (tfrun.Cluster, error) {
	var workers []string
	for _, w := range strings.Split(list, ",") {
		workers = append(workers, strings.TrimSpace(w))
	}
	if task < 0 || task >= len(workers) {
		return tfrun.Cluster{}, setting.Errorf("task_index", task, "outside the cluster's %d workers", len(workers))
	}
	c := tfrun.Cluster{Workers: workers, Task: task}
	return c, checkAddrs(c, "cluster")
}

// checkAddrs refuses empty, malformed and duplicate addresses, naming the setting.
func checkAddrs(c tfrun.Cluster, name string) error {
	seen := map[string]int{}
	for i, w := range c.Workers {
		host, port, err := net.SplitHostPort(w)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p <= 0 || p > 65535 {
			return setting.Errorf(name, nil, "worker %d's address %q: want host:port", i, w)
		}
		if j, ok := seen[w]; ok {
			return setting.Errorf(name, nil, "workers %d and %d have the same address %s", j, i, w)
		}
		seen[w] = i
	}
	return nil
}

// DefaultClusterTimeout bounds every wait of a distributed run: the other workers coming up at
// start, and each step's collectives (a worker that died makes the others fail within it).
const DefaultClusterTimeout = tfrun.DefaultCollectiveTimeout

// clusterTimeout is the cluster's bound, defaulted.
func clusterTimeout(c *tfrun.Cluster) time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultClusterTimeout
}

// probeTimeout bounds the RPC-level probe of a worker when a collective failed: long enough for
// a loaded worker's server to run a constant, short against the cluster timeout.
func probeTimeout(timeout time.Duration) time.Duration { return min(timeout, 5*time.Second) }

// waitForPeers waits until every other worker of c answers at TensorFlow's RPC level (a
// connect first, then tfrun.ProbeWorker), at most timeout, and otherwise names the workers that
// never came up, and those that accept connections but never answered (a hung process or host).
func waitForPeers(c tfrun.Cluster, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	type state struct {
		connected bool
		probing   bool
	}
	pending := map[int]*state{}
	for i := range c.Workers {
		if i != c.Task {
			pending[i] = &state{}
		}
	}
	answered := make(chan int, len(c.Workers))
	retry := make(chan int, len(c.Workers))
	for len(pending) > 0 {
		for i, st := range pending {
			if st.probing {
				continue
			}
			conn, err := net.DialTimeout("tcp", c.Workers[i], time.Second)
			if err != nil {
				continue
			}
			conn.Close()
			st.connected, st.probing = true, true
			// One probe per worker and answer, up to the deadline: a silent worker's probe is
			// abandoned when the deadline passes (see tfrun.ProbeWorker).
			go func() {
				if err := tfrun.ProbeWorker(c, i, max(time.Until(deadline), time.Millisecond)); err != nil {
					retry <- i
					return
				}
				answered <- i
			}()
		}
	drain:
		for {
			select {
			case i := <-answered:
				delete(pending, i)
			case i := <-retry:
				if st := pending[i]; st != nil {
					st.probing = false
				}
			default:
				break drain
			}
		}
		if len(pending) == 0 {
			break
		}
		if time.Now().After(deadline) {
			var missing, silent []string
			for i := range c.Workers {
				switch st := pending[i]; {
				case st == nil:
				case st.connected:
					silent = append(silent, fmt.Sprintf("worker %d at %s", i, c.Workers[i]))
				default:
					missing = append(missing, fmt.Sprintf("worker %d at %s", i, c.Workers[i]))
				}
			}
			var parts []string
			if len(missing) > 0 {
				parts = append(parts, fmt.Sprintf("%s did not come up within %s", strings.Join(missing, ", "), timeout))
			}
			if len(silent) > 0 {
				parts = append(parts, fmt.Sprintf("%s accepted connections but did not answer within %s (a hung process or host?)", strings.Join(silent, ", "), timeout))
			}
			return fmt.Errorf("run: worker %d: %s", c.Task, strings.Join(parts, "; "))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// unreachable names the workers other than this one that do not answer now: those that refuse
// connections ("unreachable now") and those that accept them but do not answer at the RPC
// level within the probe's deadline ("silent now": stopped, hung, or cut off by a partition).
// The workers are probed at once, so this takes at most the probe's deadline.
func unreachable(c tfrun.Cluster) []string {
	type result struct {
		i      int
		down   bool
		silent bool
	}
	timeout := probeTimeout(clusterTimeout(&c))
	results := make(chan result, len(c.Workers))
	n := 0
	for i, w := range c.Workers {
		if i == c.Task {
			continue
		}
		n++
		go func() {
			dialable := func() bool {
				conn, err := net.DialTimeout("tcp", w, time.Second)
				if err == nil {
					conn.Close()
				}
				return err == nil
			}
			if !dialable() {
				results <- result{i: i, down: true}
				return
			}
			err := tfrun.ProbeWorker(c, i, timeout)
			// A killed peer's listening socket can outlive its connections for a moment: one
			// that no longer accepts after the probe is down, not silent.
			silent := errors.Is(err, tfrun.ErrNoAnswer)
			if silent && !dialable() {
				results <- result{i: i, down: true}
				return
			}
			results <- result{i: i, silent: silent}
		}()
	}
	down, silent := map[int]bool{}, map[int]bool{}
	for range n {
		r := <-results
		down[r.i], silent[r.i] = r.down, r.silent
	}
	var out []string
	for i, w := range c.Workers {
		switch {
		case down[i]:
			out = append(out, fmt.Sprintf("unreachable now: worker %d at %s", i, w))
		case silent[i]:
			out = append(out, fmt.Sprintf("silent now: worker %d at %s (accepts connections, no answer within %s)", i, w, timeout))
		}
	}
	return out
}

// fingerprint identifies what every worker of a run must agree on: the fixed settings, the
// precision, the epochs and steps, the global batch, the cluster size, the kNN monitor's
// settings and the validation's (FNV-1a of their JSON). Every worker runs the monitor between
// the same two steps on the same subsets, so that none waits at the next step's collectives for
// another's monitor: a worker with the monitor off or on smaller subsets would wait there for
// the others' (see Training.Train). The validation is sharded over the workers, who sum its
// figures with a collective after the same epochs on the same examples.
func fingerprint(c Config, unlabelled, labelled, workers int) uint64 {
	m := map[string]any{"precision": c.Precision, "epochs": c.Epochs, "steps_per_epoch": c.StepsPerEpoch,
		"unlabelled": unlabelled, "labelled": labelled, "workers": workers, "knn_every": c.KNNEvery, "knn_limit": c.KNNLimit,
		"val_every": c.ValEvery, "val_limit": c.ValLimit}
	for _, f := range c.fixedSettings() {
		m[f.key] = f.value
	}
	b, _ := json.Marshal(m) // map keys are sorted
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// WaitForChief keeps a worker other than the chief alive until the chief's server stops
// answering, at most the cluster's timeout; the chief returns at once. A worker's last
// collective of a run (the step on which the workers agreed to stop) may still be reading from
// this worker's server when this worker is done with it: exiting first would fail the chief's
// step, and with it the chief's last checkpoint.
func (t *Training) WaitForChief() {
	if t.chief() {
		return
	}
	deadline := time.Now().Add(clusterTimeout(t.cluster))
	for time.Now().Before(deadline) {
		conn, err := net.DialTimeout("tcp", t.cluster.Workers[0], time.Second)
		if err != nil {
			return
		}
		conn.Close()
		time.Sleep(100 * time.Millisecond)
	}
}
