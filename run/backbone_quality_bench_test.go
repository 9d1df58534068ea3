package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/train"
)

// backboneBudgets are BenchmarkBackboneQuality's pretraining budgets: NNCLR_QUALITY_BUDGETS
// (durations, comma separated) or 2 and 6 minutes.
func backboneBudgets(b *testing.B) []time.Duration {
	spec := os.Getenv("NNCLR_QUALITY_BUDGETS")
	if spec == "" {
		spec = "2m,6m"
	}
	var out []time.Duration
	for _, s := range strings.Split(spec, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d <= 0 {
			b.Fatalf("NNCLR_QUALITY_BUDGETS %q: want durations like 2m,6m", spec)
		}
		out = append(out, d)
	}
	return out
}

// medianStep times a few steps of cfg (after the first) and returns the median.
func medianStep(b *testing.B, cfg Config) time.Duration {
	cfg.Epochs, cfg.StepsPerEpoch = 1, 5
	cfg.LRSchedule, cfg.WarmupEpochs = "constant", 0
	tr, err := Create(filepath.Join(b.TempDir(), "calibrate"), cfg, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	tr.Loop.SkipValidation, tr.Loop.CheckpointDir = true, ""
	var secs []time.Duration
	last := time.Now()
	err = tr.Train(context.Background(), train.Hooks{OnStep: func(s train.StepInfo) {
		if s.GlobalStep > 1 {
			secs = append(secs, time.Since(last))
		}
		last = time.Now()
	}})
	if err != nil {
		b.Fatal(err)
	}
	slices.Sort(secs)
	return secs[len(secs)/2]
}

// BenchmarkBackboneQuality is issue 21's quality comparison: on real Fashion-MNIST (6,000 train
// / 6,000 test images, 32×32×3, 128 + 32 images per step, queue 2,000, seed 1, fp32, 2 cores)
// it pretrains, for each wall-clock budget (backboneBudgets), conv4 (width 128, Adam 1e-3, the
// example's), resnet18 (cifar stem) with Adam 1e-3, and resnet18 with solo-learn's CIFAR recipe
// (LARS, lr 0.4·160/256, weight decay 1e-5, η 0.02, clip, warm-up + cosine over the steps the
// budget allows, estimated from the median of 4 timed steps, the warm-up 10% of them), each
// stopped like an interrupt when its budget ends; then the frozen features' linear probe
// (linearTop1) and kNN (k 20) top-1 accuracy, beside each random-initialised encoder's. It prints
// the README's table. It asserts nothing about which backbone wins: that is what it measures.
func BenchmarkBackboneQuality(b *testing.B) {
	dataDir := fashion(b, 6000)
	base := DefaultConfig()
	base.Dataset, base.DataDir, base.Seed = "fashion_mnist", dataDir, 1
	base.ImageSize, base.Channels, base.StepsPerEpoch, base.QueueSize = 32, 3, 30, 2000
	base.UnlabelledBatch, base.LabelledBatch, base.ValEvery = 128, 32, 0
	conv4 := base
	resnet18 := base
	resnet18.Backbone, resnet18.Stem = "resnet18", "cifar"
	lars := resnet18
	lars.Optimizer, lars.LearningRate, lars.WeightDecay, lars.LARSEta, lars.LARSClip, lars.LRSchedule = "lars", 0.4*160/256, 1e-5, 0.02, true, "warmup-cosine"
	type conf struct {
		name     string
		cfg      Config
		schedule bool // the warm-up and cosine span the budget's estimated steps
	}
	confs := []conf{{"conv4, Adam 1e-3", conv4, false}, {"resnet18, Adam 1e-3", resnet18, false}, {"resnet18, LARS + warmup-cosine", lars, true}}
	budgets := backboneBudgets(b)
	for i := 0; i < b.N; i++ {
		var lines []string
		for _, random := range []Config{conv4, resnet18} {
			tr, err := Create(filepath.Join(b.TempDir(), "random"), random, Options{})
			if err != nil {
				b.Fatal(err)
			}
			lin, knn := probeAccuracies(b, tr)
			tr.Close()
			lines = append(lines, fmt.Sprintf("| %s, random init | - | 0 | %.1f%% | %.1f%% |", random.Backbone, 100*lin, 100*knn))
		}
		for _, budget := range budgets {
			for _, c := range confs {
				cfg := c.cfg
				cfg.Epochs = 1000
				if c.schedule {
					est := int(budget / medianStep(b, cfg))
					cfg.Epochs = max(est/cfg.StepsPerEpoch, 2)
					cfg.WarmupEpochs = float64(cfg.Epochs) / 10
				}
				tr, err := Create(filepath.Join(b.TempDir(), "run"), cfg, Options{})
				if err != nil {
					b.Fatal(err)
				}
				steps := trainFor(b, tr, budget)
				lin, knn := probeAccuracies(b, tr)
				tr.Close()
				note := ""
				if c.schedule {
					note = fmt.Sprintf(" (schedule over %d steps)", cfg.Epochs*cfg.StepsPerEpoch)
				}
				lines = append(lines, fmt.Sprintf("| %s%s | %s | %d | %.1f%% | %.1f%% |", c.name, note, budget, steps, 100*lin, 100*knn))
				b.ReportMetric(lin, fmt.Sprintf("linear-top1-%d", len(lines)))
			}
		}
		fmt.Println("Fashion-MNIST 32x32x3, 128 + 32 images per step, queue 2,000, fp32, 2 cores, seed 1:")
		fmt.Println("| configuration | budget | steps | linear top-1 | kNN top-1 |\n|---|---|---|---|---|")
		for _, l := range lines {
			fmt.Println(l)
		}
	}
}
