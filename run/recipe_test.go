package run

import (
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/train"
)

// treeDigest maps every file under dir to its contents' digest (nil: dir does not exist).
func treeDigest(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	out := map[string][32]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = sha256.Sum256(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecipeResumesExactly trains with LARS (weight decay, clipping) under warmup-cosine on real
// Fashion-MNIST images for 3 epochs of 2 steps (warm-up 1.5 epochs), interrupts a second run
// after step 2, in the warm-up, and resumes it: every variable (weights, LARS's momentum, the
// counter the schedule reads, the queue) equals the uninterrupted run's bit for bit. run.json
// records the recipe; a resume with another epochs is refused naming epochs and lr_schedule,
// and a resume giving an option the optimizer does not read is refused naming both, each
// leaving the run directory as it was.
func TestRecipeResumesExactly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", fashion(t, 80), 3
	cfg.ImageSize, cfg.Width, cfg.QueueSize, cfg.Epochs, cfg.StepsPerEpoch = 32, 8, 120, 3, 2
	cfg.Optimizer, cfg.LearningRate, cfg.WeightDecay, cfg.LARSEta, cfg.LARSClip = tfgraph.OptimizerLARS, 0.5, 1e-4, 0.02, true
	cfg.LRSchedule, cfg.WarmupEpochs, cfg.ProbeLearningRate = tfgraph.ScheduleWarmupCosine, 1.5, 2e-3
	whole := trainedWeights(t, filepath.Join(t.TempDir(), "whole"), cfg)

	split := filepath.Join(t.TempDir(), "split")
	tr, err := Create(split, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	err = tr.Train(ctx, train.Hooks{OnStep: func(si train.StepInfo) {
		if si.GlobalStep == 2 {
			cancel()
		}
	}})
	tr.Close()
	if ie := (*train.InterruptedError)(nil); !errors.As(err, &ie) || ie.Step != 2 {
		t.Fatalf("interrupted run: %v, want an interruption at step 2", err)
	}
	resumed, err := Resume(split, cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Train(context.Background(), train.Hooks{}); err != nil {
		t.Fatal(err)
	}
	got, err := resumed.Model.Weights()
	resumed.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := whole["lars_c/enc/conv0/kernel/momentum"]; !ok {
		t.Fatal("no LARS momentum slot")
	}
	for name, w := range whole {
		if !slices.Equal(w.Float, got[name].Float) || !slices.Equal(w.Int, got[name].Int) {
			t.Errorf("%s: the resumed run differs from the uninterrupted one", name)
		}
	}
	rec, err := ReadConfig(split)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Optimizer != "lars" || rec.LRSchedule != "warmup-cosine" || rec.WarmupEpochs != 1.5 || !rec.LARSClip || rec.ProbeLearningRate != 2e-3 {
		t.Errorf("run.json records %+v", rec)
	}

	before := treeDigest(t, split)
	for _, tc := range []struct {
		given   string
		set     func(*Config)
		setting string
		want    string
	}{
		{"epochs", func(c *Config) { c.Epochs = 4 }, "epochs", "epochs 4: differs from the run's 3 (" + split + "), and --lr-schedule warmup-cosine decays"},
		{"optimizer", func(c *Config) { c.Optimizer = "sgd" }, "optimizer", "optimizer sgd: differs from the run's lars"},
	} {
		c := cfg
		tc.set(&c)
		_, err := Start(split, c, []string{tc.given}, Continue, Options{})
		var se *setting.Error
		if !errors.As(err, &se) || se.Name != tc.setting || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("resume with %s: %v, want %q", tc.given, err, tc.want)
		}
	}
	if after := treeDigest(t, split); !mapsEqual(before, after) {
		t.Errorf("a refused resume changed the run directory:\n%v\n%v", before, after)
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCheckGiven: an option given that the optimizer or schedule does not read is refused,
// naming both settings, by Start before the run directory is created or touched (a new run, and
// a resume of an Adam run); those the optimizer reads pass.
func TestCheckGiven(t *testing.T) {
	adam := DefaultConfig()
	lars := adam
	lars.Optimizer = tfgraph.OptimizerLARS
	for _, tc := range []struct {
		cfg   Config
		given []string
		want  string // "" accepted
	}{
		{adam, []string{"lars_eta"}, "lars_eta 0.001: only --optimizer [lars] read it, and --optimizer is adam"},
		{adam, []string{"momentum"}, "momentum 0.9: only --optimizer [sgd lars] read it, and --optimizer is adam"},
		{lars, []string{"lars_clip", "momentum", "lars_eta", "weight_decay"}, ""},
		{lars, []string{"warmup_epochs"}, "warmup_epochs 0: only --lr-schedule [warmup-cosine] read it, and --lr-schedule is constant"},
		{adam, []string{"weight_decay", "probe_learning_rate"}, ""},
	} {
		err := tc.cfg.CheckGiven(tc.given)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s with %v given: %v, want %q", tc.cfg.Optimizer, tc.given, err, tc.want)
		}
	}
	dir := filepath.Join(t.TempDir(), "new")
	if _, err := Start(dir, adam, []string{"lars_clip"}, New, Options{}); err == nil || !strings.Contains(err.Error(), "lars_clip") {
		t.Errorf("new run with lars_clip and adam: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused run created its directory: %v", err)
	}
	old := testutil.CopyTree(t, legacyDir)
	before := treeDigest(t, old)
	if _, err := Start(old, lars, []string{"lars_eta"}, Continue, Options{}); err == nil || !strings.Contains(err.Error(), "--optimizer is adam") {
		t.Errorf("resume of an Adam run giving lars_eta: %v", err)
	}
	if !mapsEqual(before, treeDigest(t, old)) {
		t.Error("a refused resume changed the run directory")
	}
}

// TestRecipeValidate: each bad recipe setting is a *setting.Error naming it.
func TestRecipeValidate(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Config)
		name string
		want string
	}{
		{func(c *Config) { c.Optimizer = "rmsprop" }, "optimizer", "optimizer rmsprop: want one of adam, sgd, lars"},
		{func(c *Config) { c.LRSchedule = "step" }, "lr_schedule", "lr_schedule step: want one of constant, warmup-cosine"},
		{func(c *Config) { c.Momentum = 1 }, "momentum", "momentum 1: want in [0, 1)"},
		{func(c *Config) { c.WeightDecay = -1e-4 }, "weight_decay", "weight_decay -0.0001: want a finite value >= 0"},
		{func(c *Config) { c.Optimizer, c.LARSEta = "lars", 0 }, "lars_eta", "lars_eta 0: want a finite value > 0"},
		{func(c *Config) { c.ProbeLearningRate = 0 }, "probe_learning_rate", "probe_learning_rate 0: want a finite value > 0"},
		{func(c *Config) { c.LRSchedule, c.WarmupEpochs = "warmup-cosine", 5 }, "warmup_epochs", "warmup_epochs 5: want >= 0 and below the run's 5 epochs"},
		{func(c *Config) { c.LRSchedule, c.WarmupEpochs = "warmup-cosine", -1 }, "warmup_epochs", "warmup_epochs -1: want >= 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.set(&c)
			err := c.Validate()
			var se *setting.Error
			if !errors.As(err, &se) || se.Name != tc.name || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a setting error for %s saying %q", err, tc.name, tc.want)
			}
		})
	}
}

// TestOldRunKeepsProbeRate: a run.json (or a legacy flags.json) written before
// probe_learning_rate existed ran the probe at learning_rate, and reads so; one that records it
// keeps its own. The model then gets that rate.
func TestOldRunKeepsProbeRate(t *testing.T) {
	for _, tc := range []struct {
		name, file, body string
		want             float64
	}{
		{"run.json without the key", ConfigFile, `{"format": "nnclr-run", "version": 1, "dataset": "stl10", "learning_rate": 0.004}`, 0.004},
		{"run.json with it", ConfigFile, `{"format": "nnclr-run", "version": 1, "dataset": "stl10", "learning_rate": 0.004, "probe_learning_rate": 0.001}`, 0.001},
		{"flags.json", LegacyConfigFile, `{"Dataset": "stl10", "LearningRate": 0.003}`, 0.003},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := ReadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			if c.ProbeLearningRate != tc.want || c.ModelConfig(3, 10).ProbeLearningRate != tc.want {
				t.Errorf("probe learning rate %g (model %g), want %g", c.ProbeLearningRate, c.ModelConfig(3, 10).ProbeLearningRate, tc.want)
			}
		})
	}
}
