package tfgraph

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/tfrun"
)

// netnsWorker, when set to a task index, makes BenchmarkCollectivesNetns the worker process
// its parent starts inside a network namespace; netnsCluster holds the workers' addresses.
const (
	netnsWorker  = "NNCLR_BENCH_NETNS_WORKER"
	netnsCluster = "NNCLR_BENCH_NETNS_CLUSTER"
	netnsSteps   = 3 // traced steps per worker, after one untraced warm-up step
)

// netnsStep is one traced step's collective kernels as a worker process prints it: node name →
// milliseconds from the kernel's start to its completion.
type netnsStep struct {
	Step  int                `json:"step"`
	Nodes map[string]float64 `json:"collective_ms"`
}

// BenchmarkCollectivesNetns measures the time a train step spends in its collectives
// (CollectiveGatherV2, CollectiveReduceV2 kernels, from step traces) at the seed configuration
// (96×96×3, width 128, queue 10,000, 500 + 24 images per global step) on 2 worker processes,
// each in its own network namespace, joined by a veth link: without a limit, and with the link
// limited (tc tbf, both ends) to 10 and 1 Gbit/s. A collective kernel's time includes waiting
// for the other worker to reach it; the two workers share this machine's cores, so per
// collective the smaller of the two workers' times is taken (the later worker's, which waits
// least), summed over the step's collectives; the figure is the median over 3 traced steps.
func BenchmarkCollectivesNetns(b *testing.B) {
	if task := os.Getenv(netnsWorker); task != "" {
		netnsWorkerProcess(b, task, strings.Split(os.Getenv(netnsCluster), ","))
		return
	}
	nn := testutil.NewNetns(b)
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cluster := nn.Addr[0] + ":2222," + nn.Addr[1] + ":2222"
	for _, rate := range []string{"", "10gbit", "1gbit"} {
		if err := nn.SetRate(rate); err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		var outs [2]bytes.Buffer
		var errs [2]bytes.Buffer
		done := make(chan error, 2)
		for w := range 2 {
			cmd := nn.Command(ctx, w, self, "-test.run", "^$", "-test.bench", "^BenchmarkCollectivesNetns$", "-test.benchtime", "1x")
			cmd.Env = append(os.Environ(), netnsWorker+"="+strconv.Itoa(w), netnsCluster+"="+cluster, "TF_CPP_MIN_LOG_LEVEL=2")
			cmd.Stdout, cmd.Stderr = &outs[w], &errs[w]
			if err := cmd.Start(); err != nil {
				cancel()
				b.Fatalf("worker %d in %s at %s: %v", w, nn.NS[w], nn.Addr[w], err)
			}
			go func() {
				if err := cmd.Wait(); err != nil {
					done <- fmt.Errorf("worker %d in %s at %s:2222: %w\n%s%s", w, nn.NS[w], nn.Addr[w], err, outs[w].String(), errs[w].String())
					return
				}
				done <- nil
			}()
		}
		for range 2 {
			if err := <-done; err != nil {
				cancel()
				b.Fatal(err)
			}
		}
		cancel()
		var steps [2][]netnsStep
		for w := range 2 {
			if steps[w] = parseNetnsSteps(outs[w].String()); len(steps[w]) != netnsSteps {
				b.Fatalf("worker %d in %s printed %d traced steps, want %d:\n%s", w, nn.NS[w], len(steps[w]), netnsSteps, outs[w].String())
			}
		}
		var perStep, chief, other []float64
		for s := range netnsSteps {
			a, c := steps[0][s].Nodes, steps[1][s].Nodes
			if len(a) == 0 || len(a) != len(c) {
				b.Fatalf("step %d: %d collective kernels traced on worker 0, %d on worker 1", s, len(a), len(c))
			}
			sum, s0, s1 := 0.0, 0.0, 0.0
			for node, ms := range a {
				o, ok := c[node]
				if !ok {
					b.Fatalf("step %d: collective %s traced on worker 0 only", s, node)
				}
				sum, s0, s1 = sum+min(ms, o), s0+ms, s1+o
			}
			perStep, chief, other = append(perStep, sum), append(chief, s0), append(other, s1)
		}
		name := rate
		if name == "" {
			name = "unlimited"
		}
		med := func(x []float64) float64 { slices.Sort(x); return x[len(x)/2] }
		b.ReportMetric(med(perStep), "collective-ms-"+name)
		b.Logf("link %s: collectives %.1f ms per step (median of %d; per collective the smaller worker's time; %d collective kernels); each worker's own sum %.1f and %.1f ms",
			name, med(perStep), netnsSteps, len(steps[0][0].Nodes), med(chief), med(other))
	}
}

// netnsWorkerProcess is one worker of BenchmarkCollectivesNetns: it builds the seed
// configuration's data-parallel model on its gRPC server, takes one warm-up step, then prints
// each traced step's collective kernel times as a JSON line.
func netnsWorkerProcess(b *testing.B, task string, addrs []string) {
	w, err := strconv.Atoi(task)
	if err != nil || len(addrs) != 2 {
		b.Fatalf("netns worker %q of cluster %v", task, addrs)
	}
	cfg := DefaultModelConfig()
	const uPer, lPer, workers = 250, 12, 2
	u, l := workers*uPer, workers*lPer
	data := makeStepData(rand.New(rand.NewPCG(3, 3)), cfg, u, l)
	cl := tfrun.Cluster{Workers: addrs, Task: w, Timeout: 2 * time.Minute}
	target, err := tfrun.StartServer(cl, tfrun.DefaultSessionConfig())
	if err != nil {
		b.Fatalf("worker %d at %s: %v", w, addrs[w], err)
	}
	wc := cfg
	wc.Parallel = &DataParallel{Workers: workers, Task: w, Unlabelled: uPer, Labelled: lPer, Timeout: 2 * time.Minute}
	m, err := NewModel(wc, tfrun.SessionConfig{Cluster: &cl, Target: target})
	if err != nil {
		b.Fatalf("worker %d at %s: %v", w, addrs[w], err)
	}
	defer m.Close()
	if err := m.Init(5); err != nil {
		b.Fatalf("worker %d at %s: %v", w, addrs[w], err)
	}
	batch := data.batch(b, cfg, append(seq(w*uPer, (w+1)*uPer), seq(u+w*lPer, u+(w+1)*lPer)...), seq(w*lPer, (w+1)*lPer))
	if _, err := m.TrainStep(batch); err != nil {
		b.Fatalf("worker %d at %s: warm-up step: %v", w, addrs[w], err)
	}
	for s := range netnsSteps {
		ops, err := m.TraceStep(batch)
		if err != nil {
			b.Fatalf("worker %d at %s: traced step %d: %v", w, addrs[w], s, err)
		}
		st := netnsStep{Step: s, Nodes: map[string]float64{}}
		for _, o := range ops {
			if strings.HasPrefix(o.Op, "Collective") {
				st.Nodes[o.Node] += o.Compute.Seconds() * 1000
			}
		}
		line, _ := json.Marshal(st)
		fmt.Printf("netns-step %s\n", line)
	}
}

// parseNetnsSteps reads a worker process's "netns-step {json}" lines.
func parseNetnsSteps(out string) []netnsStep {
	var steps []netnsStep
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if js, ok := strings.CutPrefix(sc.Text(), "netns-step "); ok {
			var s netnsStep
			if json.Unmarshal([]byte(js), &s) == nil {
				steps = append(steps, s)
			}
		}
	}
	return steps
}
