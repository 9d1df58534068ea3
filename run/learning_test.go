package run

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/train"
)

// linearTop1 fits a linear classifier (30 epochs of Adam) on the train split's frozen features
// of m and returns its top-1 accuracy on the test split.
func linearTop1(t *testing.T, m *tfgraph.Model, ds *loader.Dataset) float64 {
	t.Helper()
	e, err := embed.NewModelEmbedder(m, false)
	if err != nil {
		t.Fatal(err)
	}
	var splits [2]evaluate.Split
	for i, name := range []string{"train", "test"} {
		if splits[i], err = embed.LabelledFeatures(context.Background(), e, ds, name, 500, nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg := evaluate.DefaultLinearConfig()
	cfg.Epochs = 30
	lc, err := evaluate.TrainLinear(splits[0].Features, splits[0].Labels, splits[0].Dim, m.Config().NumClasses, cfg, tfgraph.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	logits, err := lc.Logits(splits[1].Features)
	if err != nil {
		t.Fatal(err)
	}
	return evaluate.TopK(logits, splits[1].Labels, 1)
}

// TestLearningOnFashionMNIST pretrains on real Fashion-MNIST images (6,000 train / 6,000 test,
// 32×32×1, width 128, 4 epochs × 20 steps: about a minute on 2 cores) and checks that a linear
// classifier (30 epochs of Adam on the train split's frozen features) on the pretrained encoder
// beats the same protocol on the randomly initialised encoder of the same seed. Measured on the
// project machine: random 0.4872, pretrained 0.6520 top-1 (+0.165, identical on reruns and with
// the code before the run package); the test asserts a margin of 0.10.
func TestLearningOnFashionMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of pretraining; runs in make test, skipped with -short")
	}
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", fashion(t, 6000), 1
	cfg.ImageSize, cfg.Epochs, cfg.StepsPerEpoch, cfg.QueueSize = 32, 4, 20, 2000
	tr, err := Create(filepath.Join(t.TempDir(), "run"), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start := time.Now()
	if err := tr.Train(context.Background(), train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	t.Logf("pretraining took %s", time.Since(start))
	trained := linearTop1(t, tr.Model, tr.Dataset)
	if err := tr.Model.Init(DeriveSeeds(1).Model); err != nil {
		t.Fatal(err)
	}
	random := linearTop1(t, tr.Model, tr.Dataset)
	t.Logf("linear top-1 on the test split: random encoder %.4f, pretrained %.4f (+%.4f)", random, trained, trained-random)
	if trained < random+0.10 {
		t.Fatalf("pretrained encoder %.4f does not beat the random encoder %.4f by 0.10", trained, random)
	}
}
