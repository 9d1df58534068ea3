package run

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/setting"
)

const legacyDir = "testdata/legacy-run"

// legacyWant is the config of testdata/legacy-run, written by the CLI before run.json existed.
func legacyWant() Config {
	c := DefaultConfig()
	c.Dataset, c.DataDir, c.Seed = "fashion_mnist", "/tmp/legacy/tfds", 5
	c.ImageSize, c.Width, c.QueueSize, c.Epochs, c.StepsPerEpoch = 32, 8, 96, 1, 2
	return c
}

// addedWithRunJSON are the settings legacy flags.json files cannot have.
var addedWithRunJSON = []string{"format", "version", "checkpoint_secs", "precision", "cluster_size", "preset",
	"support_topk", "pred_hidden", "proj_hidden", "proj_dim", "head_bn", "knn_every", "knn_limit",
	"backbone", "stem", "input_norm",
	"val_every", "val_limit",
	"probe_learning_rate", "optimizer", "momentum", "weight_decay", "lars_eta", "lars_clip", "lr_schedule", "warmup_epochs",
}

func TestReadLegacyConfig(t *testing.T) {
	c, err := ReadConfig(legacyDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := legacyWant(); !reflect.DeepEqual(c, want) {
		t.Fatalf("legacy flags.json read as\n%+v\nwant\n%+v", c, want)
	}
	// Every setting of Config but those added with run.json (the format's own, checkpoint_secs,
	// precision, cluster_size, preset, and the paper's model options support_topk, pred_hidden,
	// proj_hidden, proj_dim and head_bn, the kNN monitor's knn_every and knn_limit, and the
	// backbone's backbone, stem and input_norm, validation's val_every and val_limit, the
	// training recipe's settings (probe_learning_rate reads as their learning_rate) and the later
	// ones in addedWithRunJSON, whose defaults are what legacy runs did) was a field of
	// the CLI's flags, so the generic mapping
	// of its Go names misses none.
	raw, err := os.ReadFile(filepath.Join(legacyDir, LegacyConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var old map[string]any
	if err := json.Unmarshal(raw, &old); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range old {
		keys = append(keys, snakeCase(k))
	}
	for _, n := range Names() {
		if !slices.Contains(addedWithRunJSON, n) && !slices.Contains(keys, n) {
			t.Errorf("setting %s has no field in the legacy flags.json (keys %v)", n, keys)
		}
	}

	// Runs from before the paper's augmentations existed lack their fields: they ran with them
	// off, which the defaults say.
	for _, k := range []string{"JitterProb", "Jitter", "GrayscaleProb", "BlurProb", "BlurSigma", "SolarizeProb"} {
		delete(old, k)
	}
	older, _ := json.Marshal(old)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, LegacyConfigFile), older, 0o644); err != nil {
		t.Fatal(err)
	}
	if c, err := ReadConfig(dir); err != nil || !reflect.DeepEqual(c, legacyWant()) {
		t.Fatalf("flags.json without the augmentation fields: %+v, %v", c, err)
	}
}

func TestConfigFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := legacyWant()
	c.BlurProb, c.JitterProb, c.XLA = []float64{1, 0.1}, 0.8, true
	if err := writeConfig(dir, c); err != nil {
		t.Fatal(err)
	}
	got, err := ReadConfig(dir)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("read back %+v, %v", got, err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m["format"] != Format || m["version"] != float64(SchemaVersion) || m["queue_size"] != 96.0 || len(m) != len(Names()) {
		t.Fatalf("run.json: %s", raw)
	}
	// run.json wins over a flags.json beside it; another version is refused.
	os.WriteFile(filepath.Join(dir, LegacyConfigFile), []byte(`{"Seed": 99}`), 0o644)
	if got, _ := ReadConfig(dir); got.Seed != 5 {
		t.Fatalf("seed %d: flags.json was read instead of run.json", got.Seed)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(`{"format": "nnclr-run", "version": 2, "seed": 1}`), 0o644)
	if _, err := ReadConfig(dir); err == nil || !strings.Contains(err.Error(), "version 2") || !strings.Contains(err.Error(), ConfigFile) {
		t.Fatalf("version 2: %v", err)
	}
	if _, err := ReadConfig(t.TempDir()); err == nil || !strings.Contains(err.Error(), "is not a run directory") {
		t.Fatalf("empty dir: %v", err)
	}
}

// TestValidateNamesTheSetting: every check reports a *setting.Error naming the run's setting,
// including the checks that are tfgraph's (model) and augment's (augmentations).
func TestValidateNamesTheSetting(t *testing.T) {
	for _, tc := range []struct {
		set  func(*Config)
		name string
		want string
	}{
		{func(c *Config) { c.Epochs = 0 }, "epochs", "epochs 0: want > 0"},
		{func(c *Config) { c.Workers = -1 }, "workers", "workers -1: want >= 0"},
		{func(c *Config) { c.Channels = 2 }, "channels", "want 0 (the dataset's), 1 or 3"},
		{func(c *Config) { c.Device = "tpu" }, "device", "device tpu: want auto, cpu, gpu or gpu:N"},
		{func(c *Config) { c.IntraOpThreads = -1 }, "intra_op_threads", "intra_op_threads -1: want >= 0"},
		{func(c *Config) { c.Width = 0 }, "width", "width 0: want > 0"},
		{func(c *Config) { c.QueueSize = -5 }, "queue_size", "queue_size -5: want > 0"},
		{func(c *Config) { c.ImageSize = 30 }, "image_size", "image_size 30: input 30×30 too small"},
		{func(c *Config) { c.Temperature = 0 }, "temperature", "temperature 0: want a finite value > 0"},
		{func(c *Config) { c.JitterProb = 1.5 }, "jitter_prob", "jitter_prob 1.5: want a probability in [0, 1]"},
		{func(c *Config) { c.Jitter = []float64{0.4, 0.4, 0.2, 0.6} }, "jitter", "jitter [0.4 0.4 0.2 0.6]: want a hue strength in [0, 0.5]"},
		{func(c *Config) { c.Jitter = []float64{0.4} }, "jitter", "want 4 strengths"},
		{func(c *Config) { c.BlurProb = []float64{1, 0.1, 0} }, "blur_prob", "want one probability for both views"},
		{func(c *Config) { c.BlurProb = []float64{-0.1} }, "blur_prob", "blur_prob -0.1: want a probability in [0, 1]"},
		{func(c *Config) { c.SolarizeProb = []float64{0, 1.2} }, "solarize_prob", "solarize_prob [0 1.2]: want a probability"},
		{func(c *Config) { c.BlurProb, c.BlurSigma = []float64{1}, []float64{2, 1} }, "blur_sigma", "blur_sigma [2 1]: above blur_sigma_hi 1"},
		{func(c *Config) { c.Version = 0 }, "version", "version 0"},
		{func(c *Config) { c.SupportTopK = -1 }, "support_topk", "support_topk -1: want >= 1"},
		{func(c *Config) { c.SupportTopK = 0 }, "support_topk", "support_topk 0: want >= 1"},
		{func(c *Config) { c.SupportTopK, c.QueueSize = 50, 40 }, "support_topk", "support_topk 50: more neighbours than the queue's 40 rows"},
		{func(c *Config) { c.PredHidden = -3 }, "pred_hidden", "pred_hidden -3: want >= 0 (0: no prediction head)"},
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
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	// The blur's sigma range is augment's to check, and only while the blur is on.
	c := DefaultConfig()
	c.BlurSigma = []float64{2, 1}
	if err := c.Validate(); err != nil {
		t.Fatalf("blur off, sigma 2,1: %v", err)
	}
}

// TestContrastiveAugmentPerView: blur_prob and solarize_prob give one probability to both views
// or one per view; the other augmentation settings apply to both.
func TestContrastiveAugmentPerView(t *testing.T) {
	c := DefaultConfig()
	c.JitterProb, c.GrayscaleProb, c.BlurProb, c.SolarizeProb = 0.8, 0.2, []float64{1, 0.1}, []float64{0, 0.2}
	v1, v2 := c.ContrastiveAugment(1), c.ContrastiveAugment(2)
	if v1.BlurProb != 1 || v2.BlurProb != 0.1 || v1.SolarizeProb != 0 || v2.SolarizeProb != 0.2 {
		t.Errorf("per view: blur %v/%v, solarize %v/%v; want 1/0.1 and 0/0.2", v1.BlurProb, v2.BlurProb, v1.SolarizeProb, v2.SolarizeProb)
	}
	if v1.JitterProb != 0.8 || v2.JitterProb != 0.8 || v1.GrayscaleProb != 0.2 || v2.GrayscaleProb != 0.2 || v1.JitterHue != 0.1 || v2.BlurSigmaHi != 2 {
		t.Errorf("shared settings differ: %+v / %+v", v1, v2)
	}
	c.BlurProb = []float64{0.5}
	if v1, v2 := c.ContrastiveAugment(1), c.ContrastiveAugment(2); v1.BlurProb != 0.5 || v2.BlurProb != 0.5 {
		t.Errorf("one blur_prob: views %v and %v", v1.BlurProb, v2.BlurProb)
	}
	if c.colourSetting() != "jitter" {
		t.Errorf("colour setting %q, want jitter (saturation strength 0.2 with jitter on)", c.colourSetting())
	}
}

func TestCheckResumeAndOverride(t *testing.T) {
	was := legacyWant()
	now := was
	now.Epochs, now.Device, now.Workers, now.DataDir = 3, "cpu", 2, "/elsewhere"
	if err := now.checkResume(was, "DIR", false); err != nil {
		t.Fatalf("epochs, device, workers and data dir may change: %v", err)
	}
	for _, tc := range []struct {
		set  func(*Config)
		want string
	}{
		{func(c *Config) { c.Seed = 4 }, "seed 4: differs from the run's 5 (DIR)"},
		{func(c *Config) { c.BlurProb = []float64{1} }, "blur_prob [1]: differs from the run's [0]"},
		{func(c *Config) { c.Dataset = "stl10" }, "dataset stl10: differs"},
		{func(c *Config) { c.InitFrom = "m" }, "init_from m: a resumed run continues from its checkpoint"},
		{func(c *Config) { c.Precision = "bf16" }, "precision bf16: differs from the run's fp32"},
		{func(c *Config) { c.SupportTopK = 5 }, "support_topk 5: differs from the run's 1"},
		{func(c *Config) { c.PredHidden = 64 }, "pred_hidden 64: differs from the run's 0"},
	} {
		c := was
		tc.set(&c)
		if err := c.checkResume(was, "DIR", false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
	bf := was
	bf.Precision = "bf16"
	if err := bf.checkResume(was, "DIR", true); err != nil {
		t.Errorf("an allowed precision change: %v", err)
	}
	given := DefaultConfig()
	given.Epochs, given.Seed = 9, 1
	got, err := was.Override(given, "epochs")
	if err != nil || got.Epochs != 9 || got.Seed != 5 || got.Width != 8 {
		t.Fatalf("override of epochs: %+v, %v", got, err)
	}
	if _, err := was.Override(given, "nope"); err == nil {
		t.Fatal("an unknown setting was overridden")
	}
}

// TestApplyPreset: the paper preset sets its model options (the paper's head widths, whatever
// the encoder's width) and augmentations, flags given keep their values, the example preset given explicitly refuses a paper
// model option (naming it), and an unknown preset is named.
func TestApplyPreset(t *testing.T) {
	c := DefaultConfig()
	c.Preset, c.Width, c.Channels = "paper", 64, 3
	c.JitterProb = 0.5 // given below: kept
	got, set, err := c.ApplyPreset([]string{"preset", "width", "jitter_prob"})
	if err != nil {
		t.Fatal(err)
	}
	if got.PredHidden != 4096 || got.ProjHidden != 2048 || got.ProjDim != 256 || !got.HeadBN || got.SupportTopK != 1 ||
		got.GrayscaleProb != 0.2 || !slices.Equal(got.BlurProb, []float64{1, 0.1}) || !slices.Equal(got.SolarizeProb, []float64{0, 0.2}) {
		t.Fatalf("paper preset at width 64: %+v", got)
	}
	if got.JitterProb != 0.5 || slices.Contains(set, "jitter_prob") || !slices.Contains(set, "head_bn") {
		t.Fatalf("a given setting was overridden: jitter_prob %v, set %v", got.JitterProb, set)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("the paper preset does not validate: %v", err)
	}
	// The default preset changes nothing of the default config.
	if d, _, err := DefaultConfig().ApplyPreset(nil); err != nil || !reflect.DeepEqual(d, DefaultConfig()) {
		t.Fatalf("example preset on the defaults: %+v, %v", d, err)
	}
	ex := DefaultConfig()
	ex.PredHidden = 8
	var se *setting.Error
	if _, _, err := ex.ApplyPreset([]string{"preset", "pred_hidden"}); !errors.As(err, &se) || se.Name != "pred_hidden" || !strings.Contains(err.Error(), "the example preset has no pred hidden") {
		t.Fatalf("explicit example preset with a predictor: %v", err)
	}
	if p, _, err := ex.ApplyPreset([]string{"pred_hidden"}); err != nil || p.PredHidden != 8 {
		t.Fatalf("the default preset with a predictor given: %+v, %v", p, err)
	}
	bad := DefaultConfig()
	bad.Preset = "simclr"
	if _, _, err := bad.ApplyPreset(nil); !errors.As(err, &se) || se.Name != "preset" {
		t.Fatalf("unknown preset: %v", err)
	}
}
