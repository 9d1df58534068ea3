package tfgraph

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/tfrun"
)

// recipeArrays are the step npz's optimizer settings of cfg (pyref/nnclr_keras.py read_recipe).
func recipeArrays(cfg ModelConfig) map[string]npy.Array {
	r := cfg.recipe()
	return map[string]npy.Array{
		"optimizer":           {Data: []int64{int64(slices.Index(Optimizers, cfg.optimizer()))}},
		"learning_rate":       {Data: []float64{cfg.LearningRate}},
		"probe_learning_rate": {Data: []float64{cfg.probeAdam().lr}},
		"momentum":            {Data: []float64{r.momentum}},
		"weight_decay":        {Data: []float64{r.weightDecay}},
		"lars_eta":            {Data: []float64{r.larsEta}},
		"lars_clip":           {Data: []bool{r.larsClip}},
		"warmup_steps":        {Data: []int64{r.warmup}},
		"total_steps":         {Data: []int64{r.total}},
	}
}

// recipeConfig is exactConfig trained by optimizer at lr with weight decay wd.
func recipeConfig(optimizer string, lr, wd float64) ModelConfig {
	c := exactConfig()
	c.Optimizer, c.LearningRate, c.WeightDecay = optimizer, lr, wd
	return c
}

// TestOptimizersMatchKeras is TestMatchesKerasReference with the training recipe's options:
// keras.optimizers.SGD with momentum 0.9 on the gradient plus the L2 term; LARS (written in the
// reference from You et al.'s formulas) with and without solo-learn's clipping;
// keras.optimizers.Adam's decoupled weight decay; and the warmup-cosine schedule (Keras's
// CosineDecay with warm-up) over 1 warm-up step of 4, so that the three steps run at rate 0 (the
// warm-up's start), the peak (the boundary) and the cosine's first decay. Biases and BN
// parameters are excluded from decay and trust ratio on both sides. After one and three steps
// every weight, slot (momentum, or Adam's m and v), counter and the queue are within
// stepTolerance relative; the probe keeps Adam at probe_learning_rate (here other than the
// contrastive rate).
func TestOptimizersMatchKeras(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  func() ModelConfig
	}{
		{"sgd", func() ModelConfig { return recipeConfig(OptimizerSGD, 0.5, 1e-3) }},
		{"lars", func() ModelConfig {
			c := recipeConfig(OptimizerLARS, 2, 1e-3)
			c.LARSEta = 0.02
			return c
		}},
		{"lars clip", func() ModelConfig {
			c := recipeConfig(OptimizerLARS, 0.05, 1e-3)
			c.LARSEta, c.LARSClip = 0.02, true
			return c
		}},
		{"adam weight decay", func() ModelConfig { return recipeConfig(OptimizerAdam, 2e-3, 0.05) }},
		{"sgd warmup-cosine", func() ModelConfig {
			c := recipeConfig(OptimizerSGD, 0.5, 1e-3)
			c.LRSchedule, c.WarmupSteps, c.TotalSteps = ScheduleWarmupCosine, 1, 4
			return c
		}},
		{"lars warmup-cosine", func() ModelConfig {
			c := recipeConfig(OptimizerLARS, 2, 1e-3)
			c.LARSEta, c.LRSchedule, c.WarmupSteps, c.TotalSteps = 0.02, ScheduleWarmupCosine, 1, 4
			return c
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg()
			cfg.ProbeLearningRate = 3e-3
			checkAgainstKeras(t, cfg)
		})
	}
}

// TestRecipeOptionsChangeTheStep keeps TestOptimizersMatchKeras from passing vacuously: from the
// same initial state and batch, each option (weight decay, LARS's clipping, the schedule's
// warm-up, the probe's own rate) changes the step's result in the variables it concerns.
func TestRecipeOptionsChangeTheStep(t *testing.T) {
	lars := recipeConfig(OptimizerLARS, 0.05, 1e-3)
	lars.LARSEta = 0.02
	for _, c := range []struct {
		name     string
		base     ModelConfig
		change   func(*ModelConfig)
		variable string
	}{
		{"sgd weight_decay", recipeConfig(OptimizerSGD, 0.5, 0), func(c *ModelConfig) { c.WeightDecay = 1e-2 }, "enc/conv0/kernel"},
		{"adam weight_decay", recipeConfig(OptimizerAdam, 2e-3, 0), func(c *ModelConfig) { c.WeightDecay = 0.05 }, "enc/conv0/kernel"},
		{"lars_clip", lars, func(c *ModelConfig) { c.LARSClip = true }, "lars_c/enc/conv0/kernel/momentum"},
		{"lr_schedule", recipeConfig(OptimizerSGD, 0.5, 0), func(c *ModelConfig) {
			c.LRSchedule, c.WarmupSteps, c.TotalSteps = ScheduleWarmupCosine, 2, 4
		}, "sgd_c/enc/dense/kernel/momentum"},
		{"probe_learning_rate", exactConfig(), func(c *ModelConfig) { c.ProbeLearningRate = 0.1 }, "probe/kernel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			other := c.base
			c.change(&other)
			var got [2][]float32
			for i, cfg := range []ModelConfig{c.base, other} {
				m := newInitModel(t, cfg, 5)
				train(t, m, 0, 2)
				w, err := m.Weights(c.variable)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = w[c.variable].Float
			}
			if slices.Equal(got[0], got[1]) {
				t.Errorf("%s is the same with and without the change", c.variable)
			}
		})
	}
}

// TestScheduleMatchesKeras compares the contrastive rate the graph computes from its counter,
// for steps 0 to 11 of a warmup-cosine run of 3 warm-up steps in 8 (the warm-up, the boundary,
// the cosine, its end at 0 and the steps past it), with the rate Keras's optimizer takes from
// keras.optimizers.schedules.CosineDecay(0, 5, warmup_target=lr, warmup_steps=3) at the same
// iterations (pyref/nnclr_keras.py schedule): within 1e-6 relative of the peak.
func TestScheduleMatchesKeras(t *testing.T) {
	const lr, warmup, total, steps = 0.6, 3, 8, 12
	out := filepath.Join(t.TempDir(), "lr.npz")
	testpy.Run(t, kerasRef, "schedule", out, "--learning-rate", strconv.FormatFloat(lr, 'g', -1, 64),
		"--warmup-steps", strconv.Itoa(warmup), "--total-steps", strconv.Itoa(total), "--steps", strconv.Itoa(steps))
	ref, err := npy.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	want := ref["lr"].Data.([]float32)
	if want[0] != 0 || want[warmup] != float32(lr) || want[total] != 0 {
		t.Errorf("Keras's rates %v: want 0 at step 0, the peak at %d, 0 from %d", want, warmup, total)
	}
	t.Logf("Keras's rates %v", want)
	for _, opt := range Optimizers {
		t.Run(opt, func(t *testing.T) {
			cfg := recipeConfig(opt, lr, 0)
			cfg.LRSchedule, cfg.WarmupSteps, cfg.TotalSteps = ScheduleWarmupCosine, warmup, total
			m := newInitModel(t, cfg, 1)
			worst := 0.0
			for step := range steps {
				counter := cfg.contrastivePrefix() + "/iterations"
				if err := m.SetWeights(map[string]tfrun.Array{counter: {Int: []int64{int64(step)}}}); err != nil {
					t.Fatal(err)
				}
				got, err := m.LearningRate()
				if err != nil {
					t.Fatal(err)
				}
				e := math.Abs(got-float64(want[step])) / lr
				worst = max(worst, e)
				if e > 1e-6 {
					t.Errorf("step %d: rate %.8g, Keras %.8g", step, got, want[step])
				}
			}
			t.Logf("worst relative difference %.3g", worst)
		})
	}
}

// TestScheduleResumes interrupts a LARS warmup-cosine run in the warm-up (after step 2 of 3
// warm-up steps in 6), restores a fresh model from the checkpoint and finishes: every variable
// equals the uninterrupted run's bit for bit, so the schedule's position (the optimizer's
// counter) came back with the checkpoint.
func TestScheduleResumes(t *testing.T) {
	cfg := smallConfig()
	cfg.Optimizer, cfg.LearningRate, cfg.WeightDecay, cfg.LARSEta = OptimizerLARS, 1, 1e-4, 0.02
	cfg.LRSchedule, cfg.WarmupSteps, cfg.TotalSteps = ScheduleWarmupCosine, 3, 6
	const k, n = 2, 5
	full := newInitModel(t, cfg, 7)
	train(t, full, 0, n)

	dir := t.TempDir()
	first := newInitModel(t, cfg, 7)
	train(t, first, 0, k)
	path, err := first.Save(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	resumed := newInitModel(t, cfg, 12345)
	if err := resumed.Restore(path); err != nil {
		t.Fatal(err)
	}
	if lr, _ := resumed.LearningRate(); lr != float64(float32(2.0/3)) {
		t.Errorf("restored rate %.8g, want 2/3 of the peak (step 2 of 3 warm-up steps)", lr)
	}
	train(t, resumed, k, n)
	sameWeights(t, full, resumed)
}
