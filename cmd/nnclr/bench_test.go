package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
)

// benchData writes STL-10-shaped random images (96×96×3) as a tfds stl10 dataset, read by both
// nnclr and the Keras reference.
func benchData(b *testing.B, dir string, nu, nl, nt int) (dataDir string) {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 1))
	shape := loader.Shape{Height: 96, Width: 96, Channels: 3}
	mk := func(n int, labelled bool) *loader.MemorySource {
		m := &loader.MemorySource{Images: make([]byte, n*shape.Size()), Labels: make([]int64, n), Shp: shape}
		for i := range m.Images {
			m.Images[i] = uint8(r.IntN(256))
		}
		for i := range m.Labels {
			m.Labels[i] = -1
			if labelled {
				m.Labels[i] = int64(r.IntN(10))
			}
		}
		return m
	}
	u, l, t := mk(nu, false), mk(nl, true), mk(nt, true)
	dataDir = filepath.Join(dir, "tfds")
	w, err := loader.NewWriter(dataDir, loader.STL10Spec(), loader.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for name, src := range map[string]*loader.MemorySource{"unlabelled": u, "train": l, "test": t} {
		if err := w.WriteSplit(name, src); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return dataDir
}

// augmentRate times the contrastive augmenter on n random 96×96×3 images (median of 5).
func augmentRate(b *testing.B, n int) float64 {
	r := rand.New(rand.NewPCG(2, 2))
	im := augment.Images{Pix: make([]uint8, n*96*96*3), N: n, H: 96, W: 96, C: 3}
	for i := range im.Pix {
		im.Pix[i] = uint8(r.IntN(256))
	}
	a, err := augment.New(augment.ContrastiveConfig(96, 96), 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, a.OutputLen(n, 3))
	var secs []float64
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		if err := a.Apply(out, im, 0, uint64(i)); err != nil {
			b.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	slices.Sort(secs)
	return float64(n) / secs[2]
}

func peakRSSMiB(ps *os.ProcessState) float64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return float64(ru.Maxrss) / 1024
	}
	return 0
}

// BenchmarkPretrainVsKeras trains nnclr (the built binary, a separate process) and the Keras
// reference on the same STL-10-shaped data (one tfds directory, read and decoded every epoch by
// both, as in the example) with the same configuration and thread settings, and
// reports both throughputs (images/s, the two views counted once per image; median step after
// the first), their ratio, both processes' wall times (start-up included), the GFLOP/s nnclr achieves against this machine's measured float32
// matmul peak through TensorFlow, and both peak resident memories.
func BenchmarkPretrainVsKeras(b *testing.B) {
	// 8 steps of 200 + 50 images: the median of the 7 steps after the first is not moved by the
	// two or three warm-up steps either side may have.
	const nu, nl, nt, steps, threads = 1600, 400, 250, 8, 2
	dir := b.TempDir()
	dataDir := benchData(b, dir, nu, nl, nt)
	bin := filepath.Join(dir, "nnclr-tf")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	for i := 0; i < b.N; i++ {
		runDir := filepath.Join(dir, fmt.Sprintf("run%d", i))
		cmd := exec.Command(bin, "--mode", "pretrain", "--dataset", "stl10", "--data-dir", dataDir, "--run-dir", runDir,
			"--epochs", "1", "--steps-per-epoch", strconv.Itoa(steps), "--quiet",
			"--intra-op-threads", strconv.Itoa(threads), "--inter-op-threads", strconv.Itoa(threads))
		cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2")
		t0 := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("nnclr pretrain: %v\n%s", err, out)
		}
		goWall := time.Since(t0).Seconds()
		goRSS := peakRSSMiB(cmd.ProcessState)
		var secs []float64
		f, err := os.Open(filepath.Join(runDir, "metrics.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec rundir.StepRecord
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Type == "step" && rec.Step > 1 {
				secs = append(secs, rec.Seconds)
			}
		}
		f.Close()
		slices.Sort(secs)
		goSec := secs[len(secs)/2]
		batch := nu/steps + nl/steps
		goRate := float64(batch) / goSec

		out := filepath.Join(dir, fmt.Sprintf("keras%d.json", i))
		kcmd := exec.Command(testpy.Interpreter(b), "../../pyref/nnclr_keras.py", "train",
			"--tfds-dir", filepath.Join(dataDir, "stl10", "1.0.0"),
			"--epochs", "1", "--steps-per-epoch", strconv.Itoa(steps), "--width", "128", "--queue", "10000",
			"--temperature", "0.1", "--intra-op-threads", strconv.Itoa(threads), "--inter-op-threads", strconv.Itoa(threads),
			"--json", out)
		kcmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "CUDA_VISIBLE_DEVICES=")
		t0 = time.Now()
		if o, err := kcmd.CombinedOutput(); err != nil {
			b.Fatalf("keras reference: %v\n%s", err, o)
		}
		kerasWall := time.Since(t0).Seconds()
		var kr struct {
			ImagesPerSecond float64 `json:"images_per_second"`
			PeakRSS         float64 `json:"peak_rss_mib"`
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			b.Fatal(err)
		}
		if err := json.Unmarshal(raw, &kr); err != nil {
			b.Fatal(err)
		}
		sc2 := tfgraph.SessionConfig{IntraOpThreads: threads, InterOpThreads: threads}
		peak, err := tfgraph.MatMulPeak(sc2, 2048, 5)
		if err != nil {
			b.Fatal(err)
		}
		mc := tfgraph.DefaultModelConfig()
		gflops := mc.StepFLOPs(batch, nl/steps) / goSec / 1e9
		b.ReportMetric(goRate, "go-images/s")
		b.ReportMetric(kr.ImagesPerSecond, "keras-images/s")
		b.ReportMetric(goRate/kr.ImagesPerSecond, "go/keras")
		b.ReportMetric(gflops, "go-GFLOP/s")
		b.ReportMetric(peak, "matmul-peak-GFLOP/s")
		b.ReportMetric(gflops/peak, "of-peak")
		// Whole processes, start-up included (nnclr also validates on the test split and checkpoints).
		b.ReportMetric(goWall, "go-wall-s")
		b.ReportMetric(kerasWall, "keras-wall-s")
		b.ReportMetric(kerasWall/goWall, "keras/go-wall")
		b.ReportMetric(goRSS, "go-peak-RSS-MiB")
		// Augmentation headroom: Go's augmentation rate on this step's images against what the
		// step consumes (two contrastive views of the batch and the probe view of the labelled part).
		augRate := augmentRate(b, batch)
		consumed := float64(2*batch+nl/steps) / goSec
		b.ReportMetric(augRate, "augment-images/s")
		b.ReportMetric(consumed, "step-consumes-images/s")
		b.ReportMetric(augRate/consumed, "augment/consumption")
		b.ReportMetric(kr.PeakRSS, "keras-peak-RSS-MiB")
	}
}
