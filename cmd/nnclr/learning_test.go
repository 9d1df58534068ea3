package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
)

// splitFeatures runs the encoder over a whole split in file order (evaluation path: ÷255),
// through the same code as --mode embed with --run-dir.
func splitFeatures(t *testing.T, m *tfgraph.Model, ds *loader.Dataset, split string, size int) ([]float32, []int64) {
	t.Helper()
	e, err := embed.NewModelEmbedder(m, false)
	if err != nil {
		t.Fatal(err)
	}
	s, err := embed.Features(context.Background(), e, ds, split, 500, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.Features, s.Labels
}

func linearTop1(t *testing.T, m *tfgraph.Model, ds *loader.Dataset, size int) float64 {
	t.Helper()
	xtr, ytr := splitFeatures(t, m, ds, "train", size)
	xte, yte := splitFeatures(t, m, ds, "test", size)
	cfg := evaluate.DefaultLinearConfig()
	cfg.Epochs = 30
	d := m.Config().ModelWidth
	lc, err := evaluate.TrainLinear(xtr, ytr, d, m.Config().NumClasses, cfg, tfgraph.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	logits, err := lc.Logits(xte)
	if err != nil {
		t.Fatal(err)
	}
	return evaluate.TopK(logits, yte, 1)
}

// TestLearningOnFashionMNIST pretrains on real Fashion-MNIST images (6,000 train / 6,000 test,
// 32×32×1, width 128, 4 epochs × 20 steps: about a minute on 2 cores) and checks that a linear
// classifier (30 epochs of Adam on the train split's frozen features) on the pretrained encoder
// beats the same protocol on the randomly initialised encoder of the same seed. Measured on the
// project machine: random 0.4872, pretrained 0.6655 top-1 (+0.178, identical on reruns); the test
// asserts a margin of 0.10.
func TestLearningOnFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("a few minutes of pretraining; runs in make test, skipped with -short")
	}
	const n, size = 6000, 32
	dataDir := smallFashion(t, n)
	runDir := filepath.Join(t.TempDir(), "run")
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--epochs", "4", "--steps-per-epoch", "20", "--queue-size", "2000", "--seed", "1", "--quiet"}
	start := time.Now()
	var out bytes.Buffer
	if err := run(args, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	t.Logf("pretraining took %s\n%s", time.Since(start), out.String())

	ds, err := loader.Open(dataDir, "fashion_mnist")
	if err != nil {
		t.Fatal(err)
	}
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.Channels, mc.QueueSize = size, size, 1, 2000
	model, err := tfgraph.NewModel(mc, tfgraph.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer model.Close()
	if err := model.Init(rundir.DeriveSeeds(1).Model); err != nil {
		t.Fatal(err)
	}
	random := linearTop1(t, model, ds, size)
	latest, err := tfgraph.LatestCheckpoint(filepath.Join(runDir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Restore(latest); err != nil {
		t.Fatal(err)
	}
	trained := linearTop1(t, model, ds, size)
	t.Logf("linear top-1 on the test split: random encoder %.4f, pretrained %.4f (+%.4f)", random, trained, trained-random)
	if trained < random+0.10 {
		t.Fatalf("pretrained encoder %.4f does not beat the random encoder %.4f by 0.10", trained, random)
	}
}
