package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/train"
)

// probeAccuracies returns the linear probe's (linearTop1) and the kNN vote's (evaluate.KNN,
// k 20, T 0.07) top-1 accuracy on the frozen features of the test split, embedded once.
func probeAccuracies(b *testing.B, tr *Training) (linear, knn float64) {
	splits := frozenSplits(b, tr.Model, tr.Dataset)
	classes := tr.Model.Config().NumClasses
	acc, err := evaluate.KNN(splits[0], splits[1], classes, evaluate.DefaultKNNConfig())
	if err != nil {
		b.Fatal(err)
	}
	return linearTop1Of(b, splits, classes), acc.Top1
}

// trainFor trains tr without validation or checkpoints until budget has passed (stopped like an
// interrupt after the step in flight) and returns the steps done.
func trainFor(b *testing.B, tr *Training, budget time.Duration) int64 {
	tr.Loop.SkipValidation, tr.Loop.CheckpointDir = true, ""
	steps := int64(0)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	err := tr.Train(ctx, train.Hooks{OnStep: func(s train.StepInfo) { steps = s.GlobalStep }})
	var ie *train.InterruptedError
	if err != nil && !errors.As(err, &ie) {
		b.Fatal(err)
	}
	return steps
}

// BenchmarkPaperOptionsQuality compares the paper's options at a fixed wall-clock budget of
// pretraining each (qualityBudget, stopped like an interrupt after the step in flight) on real
// Fashion-MNIST (6,000 train / 6,000 test images, 32×32×3, width 128, queue 2,000, 300 + 300
// images per step, seed 1, fp32): the random encoder, --preset example, --preset paper, and each
// of the paper's model options alone on the example (support top-5, prediction head of hidden
// 256, BN heads, projection output 64). It prints, per configuration, the steps done, the
// frozen-feature linear probe (linearTop1) and kNN (k 20) top-1 accuracy. It asserts only that
// every trained configuration beats the random encoder's linear probe: which options help at
// this scale is what it measures.
func BenchmarkPaperOptionsQuality(b *testing.B) {
	const qualityBudget = 60 * time.Second
	dataDir := fashion(b, 6000)
	base := DefaultConfig()
	base.Dataset, base.DataDir, base.Seed = "fashion_mnist", dataDir, 1
	base.ImageSize, base.Channels, base.Epochs, base.StepsPerEpoch, base.QueueSize = 32, 3, 1000, 20, 2000
	type conf struct {
		name string
		set  func(*Config)
	}
	confs := []conf{
		{"random encoder", nil},
		{"--preset example", func(*Config) {}},
		{"--preset paper", func(c *Config) { c.Preset = "paper" }},
		{"example + --support-topk 5", func(c *Config) { c.SupportTopK = 5 }},
		{"example + --pred-hidden 256", func(c *Config) { c.PredHidden = 256 }},
		{"example + --head-bn", func(c *Config) { c.HeadBN = true }},
		{"example + --proj-dim 64", func(c *Config) { c.ProjDim = 64 }},
	}
	for i := 0; i < b.N; i++ {
		var lines []string
		random := 0.0
		for _, c := range confs {
			cfg := base
			// The options alone go over the default (example) preset, as flags given without
			// --preset do; the presets apply whole.
			var given []string
			if c.set != nil {
				c.set(&cfg)
				if reflect.DeepEqual(cfg, base) || cfg.Preset != base.Preset {
					given = []string{"preset"}
				} else {
					given = []string{"support_topk", "pred_hidden", "head_bn", "proj_dim"}
				}
			}
			cfg, _, err := cfg.ApplyPreset(given)
			if err != nil {
				b.Fatal(err)
			}
			tr, err := Create(filepath.Join(b.TempDir(), "run"), cfg, Options{})
			if err != nil {
				b.Fatal(err)
			}
			steps := int64(0)
			if c.set != nil {
				steps = trainFor(b, tr, qualityBudget)
			}
			lin, knn := probeAccuracies(b, tr)
			tr.Close()
			if c.set == nil {
				random = lin
			} else if lin <= random {
				b.Errorf("%s: linear probe %.4f does not beat the random encoder's %.4f", c.name, lin, random)
			}
			lines = append(lines, fmt.Sprintf("| %s | %d | %.1f%% | %.1f%% |", c.name, steps, 100*lin, 100*knn))
			b.ReportMetric(lin, fmt.Sprintf("linear-top1-%d", len(lines)))
		}
		fmt.Printf("Fashion-MNIST 32x32x3, width 128, %s of pretraining each (fp32, 2 cores), seed 1:\n", qualityBudget)
		fmt.Println("| configuration | steps | linear top-1 | kNN top-1 |\n|---|---|---|---|")
		for _, l := range lines {
			fmt.Println(l)
		}
	}
}
