package tfgraph

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/tfrun"
)

// warmModel96 returns the example's model at 96×96×3 (seed 1, threads intra- and inter-op
// threads) after one warm-up step on its fixed random batch of n contrastive and bl probe images,
// and that batch. The model is closed with the benchmark.
func warmModel96(b *testing.B, n, bl, threads int) (*Model, Batch) {
	m, err := NewModel(DefaultModelConfig(), tfrun.SessionConfig{IntraOpThreads: threads, InterOpThreads: threads})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	if err := m.Init(1); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	batch := Batch{Views: randTensor(b, r, 2*int64(n), 96, 96, 3),
		ProbeX: randTensor(b, r, int64(bl), 96, 96, 3), ProbeY: labelTensor(b, r, bl, 10)}
	if _, err := m.TrainStep(batch); err != nil {
		b.Fatal(err)
	}
	return m, batch
}

// BenchmarkTrainStep96 times one session run of the train step at the Keras example's image size
// and width (250 contrastive and 50 probe images, fixed inputs, 2 intra- and inter-op threads):
// the graph's own cost without data loading or augmentation, beside the Keras reference's
// tf.function step on the same shapes and threads in the same run.
func BenchmarkTrainStep96(b *testing.B) {
	const bsz, bl, threads = 250, 50, 2
	m, batch := warmModel96(b, bsz, bl, threads)
	b.ResetTimer()
	var secs []float64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := m.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	b.StopTimer()
	slices.Sort(secs)
	goSec := secs[len(secs)/2]
	b.ReportMetric(goSec, "go-s/step")
	if b.N < 3 {
		return
	}
	out := testpy.Run(b, "testdata/keras_step_bench.py", "250", "50", "2", "5")
	var k struct {
		Seconds float64 `json:"seconds_per_step"`
	}
	if err := json.Unmarshal(out, &k); err != nil {
		b.Fatalf("keras step bench: %q: %v", out, err)
	}
	b.ReportMetric(k.Seconds, "keras-s/step")
	b.ReportMetric(k.Seconds/goSec, "go-speed/keras")
}

// BenchmarkStepOps compares the train step's kernels with the Keras reference's at the seed
// configuration (96×96×3, width 128, queue 10,000, 525 contrastive and 25 probe images, fixed
// inputs, 2 intra- and inter-op threads): nnclr's from TensorFlow's FULL_TRACE step statistics
// (Model.TraceStep), Keras's tf.function step from TensorFlow's profiler
// (testdata/keras_step_bench.py --trace), both the mean over the traced steps after a warm-up, and the
// untraced step times beside them. It logs a table by op type (kernel ms per step and kernels per
// step on each side, largest differences first) and the kernel-time and wall-time totals.
func BenchmarkStepOps(b *testing.B) {
	const n, bl, threads, steps = 525, 25, 2, 3
	m, batch := warmModel96(b, n, bl, threads)
	b.ResetTimer()
	var secs []float64
	for i := 0; i < steps; i++ {
		t0 := time.Now()
		if _, err := m.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	type agg struct{ ms, count float64 }
	goOps := map[string]agg{}
	for i := 0; i < steps; i++ {
		ops, err := m.TraceStep(batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range ops {
			if o.Op == "" { // the executor's _SOURCE node
				continue
			}
			a := goOps[o.Op]
			a.ms += o.Compute.Seconds() * 1e3 / steps
			a.count += 1.0 / steps
			goOps[o.Op] = a
		}
	}
	b.StopTimer()
	slices.Sort(secs)
	goSec := secs[len(secs)/2]

	out := testpy.Run(b, "testdata/keras_step_bench.py", strconv.Itoa(n), strconv.Itoa(bl), strconv.Itoa(threads), strconv.Itoa(steps), "--trace")
	var k struct {
		Seconds float64 `json:"seconds_per_step"`
		Ops     map[string]struct {
			Ms    float64 `json:"ms"`
			Count float64 `json:"count"`
		} `json:"ops"`
	}
	if err := json.Unmarshal(out, &k); err != nil {
		b.Fatalf("keras step trace: %q: %v", out, err)
	}
	kerasOps := map[string]agg{}
	for op, a := range k.Ops {
		kerasOps[op] = agg{a.Ms, a.Count}
	}
	var names []string
	var goTotal, kerasTotal float64
	for op, a := range goOps {
		names = append(names, op)
		goTotal += a.ms
	}
	for op, a := range kerasOps {
		if _, ok := goOps[op]; !ok {
			names = append(names, op)
		}
		kerasTotal += a.ms
	}
	diff := func(op string) float64 { return goOps[op].ms - kerasOps[op].ms }
	slices.SortFunc(names, func(x, y string) int { return cmp.Compare(math.Abs(diff(y)), math.Abs(diff(x))) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "kernel time per step by op type (nnclr: FULL_TRACE step stats; Keras: profiler), %d+%d images of 96x96x3, %d threads\n", n, bl, threads)
	fmt.Fprintf(&sb, "%-40s %10s %8s %10s %8s %10s\n", "op", "nnclr ms", "kernels", "keras ms", "kernels", "diff ms")
	for i, op := range names {
		if i == 30 {
			fmt.Fprintf(&sb, "... %d more op types\n", len(names)-i)
			break
		}
		fmt.Fprintf(&sb, "%-40s %10.1f %8.0f %10.1f %8.0f %+10.1f\n", op, goOps[op].ms, goOps[op].count, kerasOps[op].ms, kerasOps[op].count, diff(op))
	}
	fmt.Fprintf(&sb, "%-40s %10.1f %8s %10.1f %8s %+10.1f\n", "all kernels", goTotal, "", kerasTotal, "", goTotal-kerasTotal)
	fmt.Fprintf(&sb, "%-40s %10.1f %8s %10.1f %8s %+10.1f\n", "untraced step, wall", goSec*1e3, "", k.Seconds*1e3, "", (goSec-k.Seconds)*1e3)
	// Printed, not logged: go test cuts a benchmark's log after a few lines.
	fmt.Print(sb.String())
	b.ReportMetric(goSec, "go-s/step")
	b.ReportMetric(k.Seconds, "keras-s/step")
	b.ReportMetric(goTotal/1e3, "go-kernel-s/step")
	b.ReportMetric(kerasTotal/1e3, "keras-kernel-s/step")
}
