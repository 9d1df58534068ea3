package tfgraph

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
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
	return warmModel(b, DefaultModelConfig(), n, bl, threads, tfrun.FP32)
}

// warmModel is warmModel96 for the model of cfg (its image shape and classes), in a session of
// precision p.
func warmModel(b *testing.B, cfg ModelConfig, n, bl, threads int, p tfrun.Precision) (*Model, Batch) {
	m, err := NewModel(cfg, tfrun.SessionConfig{IntraOpThreads: threads, InterOpThreads: threads, Precision: p})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	if err := m.Init(1); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	h, w, c := int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)
	batch := Batch{Views: randTensor(b, r, 2*int64(n), h, w, c),
		ProbeX: randTensor(b, r, int64(bl), h, w, c), ProbeY: labelTensor(b, r, bl, cfg.NumClasses)}
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
// step on each side, and the MiB nnclr's kernels of each type output; largest differences
// first) and the kernel-time and wall-time totals.
// NNCLR_STEPOPS=resnet18 compares make bench-resnet's ResNet-18 instead (CIFAR stem, 32×32×3,
// 80 contrastive and 16 probe images, heads 2048 → 256), NNCLR_STEPOPS=resnet50 its ResNet-50
// (96×96×3, 40 and 8), NNCLR_STEPOPS=conv4-32 the Keras example's model at 32×32×3 (issue 20's
// small-image configuration: 320 contrastive and 64 probe images). NNCLR_STEPOPS_PRECISION=bf16
// runs both sides with oneDNN's bf16 rewrite (nnclr's session precision; Keras's
// auto_mixed_precision_onednn_bfloat16 option).
func BenchmarkStepOps(b *testing.B) {
	const threads, steps = 2, 3
	cfg, n, bl := DefaultModelConfig(), 525, 25
	var kerasArgs []string
	switch which := os.Getenv("NNCLR_STEPOPS"); which {
	case "":
	case "conv4-32":
		cfg.Height, cfg.Width, n, bl = 32, 32, 320, 64
		kerasArgs = []string{"--size", "32"}
	case BackboneResNet18, BackboneResNet50:
		size := 96
		cfg.Backbone, cfg.Stem, n, bl = which, StemImageNet, 40, 8
		if which == BackboneResNet18 {
			size, cfg.Stem, n, bl = 32, StemCIFAR, 80, 16
		}
		cfg.Height, cfg.Width, cfg.ProjHidden, cfg.ProjDim = size, size, 2048, 256
		kerasArgs = []string{"--backbone", which, "--size", strconv.Itoa(size)}
		if cfg.Stem == StemCIFAR {
			kerasArgs = append(kerasArgs, "--cifar")
		}
	default:
		b.Fatalf("NNCLR_STEPOPS=%q: want resnet18, resnet50 or conv4-32 (or unset: the seed configuration)", which)
	}
	prec := tfrun.FP32
	if v := os.Getenv("NNCLR_STEPOPS_PRECISION"); v != "" {
		var err error
		if prec, err = tfrun.ParsePrecision(v); err != nil || prec == tfrun.FP16 {
			b.Fatalf("NNCLR_STEPOPS_PRECISION=%q: want fp32 or bf16", v)
		}
		if prec == tfrun.BF16 {
			kerasArgs = append(kerasArgs, "--bf16")
		}
	}
	m, batch := warmModel(b, cfg, n, bl, threads, prec)
	b.ResetTimer()
	var secs []float64
	for i := 0; i < steps; i++ {
		t0 := time.Now()
		if _, err := m.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	type agg struct{ ms, count, mib float64 }
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
			a.mib += float64(o.Bytes) / (1 << 20) / steps
			goOps[o.Op] = a
		}
	}
	b.StopTimer()
	slices.Sort(secs)
	goSec := secs[len(secs)/2]

	out := testpy.Run(b, "testdata/keras_step_bench.py", append([]string{strconv.Itoa(n), strconv.Itoa(bl), strconv.Itoa(threads), strconv.Itoa(steps), "--trace"}, kerasArgs...)...)
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
		kerasOps[op] = agg{ms: a.Ms, count: a.Count}
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
	fmt.Fprintf(&sb, "kernel time per step by op type (nnclr: FULL_TRACE step stats; Keras: profiler), %s, %d+%d images of %dx%dx%d, %d threads, %s\n", cfg.Describe(), n, bl, cfg.Height, cfg.Width, cfg.Channels, threads, prec)
	fmt.Fprintf(&sb, "%-40s %10s %8s %10s %10s %8s %10s\n", "op", "nnclr ms", "kernels", "nnclr MiB", "keras ms", "kernels", "diff ms")
	for i, op := range names {
		if i == 30 {
			fmt.Fprintf(&sb, "... %d more op types\n", len(names)-i)
			break
		}
		fmt.Fprintf(&sb, "%-40s %10.1f %8.0f %10.1f %10.1f %8.0f %+10.1f\n", op, goOps[op].ms, goOps[op].count, goOps[op].mib, kerasOps[op].ms, kerasOps[op].count, diff(op))
	}
	fmt.Fprintf(&sb, "%-40s %10.1f %8s %10s %10.1f %8s %+10.1f\n", "all kernels", goTotal, "", "", kerasTotal, "", goTotal-kerasTotal)
	fmt.Fprintf(&sb, "%-40s %10.1f %8s %10s %10.1f %8s %+10.1f\n", "untraced step, wall", goSec*1e3, "", "", k.Seconds*1e3, "", (goSec-k.Seconds)*1e3)
	// Printed, not logged: go test cuts a benchmark's log after a few lines.
	fmt.Print(sb.String())
	b.ReportMetric(goSec, "go-s/step")
	b.ReportMetric(k.Seconds, "keras-s/step")
	b.ReportMetric(goTotal/1e3, "go-kernel-s/step")
	b.ReportMetric(kerasTotal/1e3, "keras-kernel-s/step")
}
