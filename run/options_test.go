package run

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/train"
)

// TestPaperOptionsResumeExactly trains with the paper's top-k support, prediction head, BN heads
// and projection sizes on
// real Fashion-MNIST images, stops after the first epoch, resumes, and compares every variable
// (the heads, their Adam slots and BN statistics included) with an uninterrupted run: bit-identical,
// so the picks come from the run's seed and step alone. Another seed's picks give other
// weights. The finished run exports a SavedModel and records both settings in run.json.
func TestPaperOptionsResumeExactly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", fashion(t, 80), 3
	cfg.ImageSize, cfg.Width, cfg.QueueSize, cfg.Epochs, cfg.StepsPerEpoch = 32, 8, 120, 2, 2
	cfg.SupportTopK, cfg.PredHidden, cfg.HeadBN, cfg.ProjHidden, cfg.ProjDim = 4, 12, true, 10, 6
	a := trainedWeights(t, filepath.Join(t.TempDir(), "whole"), cfg)
	split := filepath.Join(t.TempDir(), "split")
	first := cfg
	first.Epochs = 1
	trainedWeights(t, split, first)
	resumed, err := Resume(split, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	if err := resumed.Train(context.Background(), train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	b, err := resumed.Model.Weights()
	if err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Seed++
	// Another seed changes the data order and augmentation too; the picks alone are checked by
	// tfgraph's Keras test, where the same inputs with other picks give other results.
	c := trainedWeights(t, filepath.Join(t.TempDir(), "other"), other)
	for _, name := range []string{"pred/dense0/kernel", "adam_c/pred/dense1/bias/v", "head/bn1/moving_variance", "pred/bn0/moving_mean", "queue"} {
		if _, ok := a[name]; !ok {
			t.Fatalf("no variable %s", name)
		}
	}
	for name, wa := range a {
		if !slices.Equal(wa.Float, b[name].Float) || !slices.Equal(wa.Int, b[name].Int) {
			t.Errorf("%s: the resumed run differs from the uninterrupted one", name)
		}
	}
	if slices.Equal(a["pred/dense0/kernel"].Float, c["pred/dense0/kernel"].Float) {
		t.Error("another seed gave the same prediction head")
	}

	got, err := ReadConfig(split)
	if err != nil {
		t.Fatal(err)
	}
	if got.SupportTopK != 4 || got.PredHidden != 12 || !got.HeadBN || got.ProjHidden != 10 || got.ProjDim != 6 {
		t.Fatalf("run.json records support_topk %d, pred_hidden %d", got.SupportTopK, got.PredHidden)
	}
	changed := cfg
	changed.PredHidden = 0
	if _, err := Resume(split, changed, Options{}); err == nil {
		t.Fatal("resuming with another pred_hidden was accepted")
	}
	r, err := Open(split, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Export(filepath.Join(t.TempDir(), "m"), savedmodel.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
}
