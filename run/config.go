package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

// Files and directories of a run directory.
const (
	ConfigFile       = "run.json"               // the run's Config (this format)
	LegacyConfigFile = "flags.json"             // what runs before run.json recorded: the CLI's flags
	MetricsFile      = "metrics.jsonl"          // one StepRecord or ValidationRecord per line
	CheckpointsDir   = "checkpoints"            // TF checkpoints ckpt-STEP and their state file
	LockFile         = "lock"                   // held (flock) by the process writing the run
	OrphanedMetrics  = "metrics.orphaned.jsonl" // metrics.jsonl lines past the step a resume started from
)

// Format and SchemaVersion identify run.json; Version grows when its meaning changes.
const (
	Format        = "nnclr-run"
	SchemaVersion = 1
)

// Config is what a pretraining run is, as recorded in RUN_DIR/run.json. Its json keys are the
// settings' names (package setting): the CLI's flags are the same names with dashes. Fields
// tagged resume:"fixed" define the run's data order, augmentation and model; a resume must keep
// them. The others (epochs, checkpoint policy, runtime) may change between attempts.
type Config struct {
	Format  string `json:"format"`
	Version int    `json:"version"`

	Dataset string `json:"dataset" resume:"fixed"` // tfds name, optionally name:version
	DataDir string `json:"data_dir"`               // "" is $TFDS_DATA_DIR, else ~/tensorflow_datasets
	Seed    int64  `json:"seed" resume:"fixed"`    // of every random draw (see Seeds)
	// Model (tfgraph.ModelConfig).
	ImageSize int `json:"image_size" resume:"fixed"` // model input height and width
	Channels  int `json:"channels" resume:"fixed"`   // 0: the dataset's; 3 replicates grey images
	Width     int `json:"width" resume:"fixed"`      // conv4's filters and dense width (a ResNet does not use it)
	// Backbone is the encoder (tfgraph.Backbones): conv4 (the Keras example's), resnet18 or
	// resnet50. Stem is a ResNet's first layers, imagenet or cifar: a new run records the one it
	// uses ("" picks it by ImageSize: cifar below 64 pixels). InputNorm is the encoder's input
	// normalisation (tfgraph.InputNorms): unit (÷255, the example's), imagenet or caffe.
	Backbone     string  `json:"backbone" resume:"fixed"`
	Stem         string  `json:"stem" resume:"fixed"`
	InputNorm    string  `json:"input_norm" resume:"fixed"`
	QueueSize    int     `json:"queue_size" resume:"fixed"` // support queue rows
	Temperature  float64 `json:"temperature" resume:"fixed"`
	LearningRate float64 `json:"learning_rate" resume:"fixed"` // the contrastive optimizer's (warmup-cosine's peak)
	// The training recipe (see tfgraph.ModelConfig): the contrastive optimizer (adam, sgd or
	// lars) with its settings, weight decay, the learning-rate schedule (constant or
	// warmup-cosine over warmup_epochs of warm-up and the run's epochs, fixed at creation),
	// and the probe's Adam learning rate (a run.json without it ran the probe at learning_rate).
	ProbeLearningRate float64 `json:"probe_learning_rate" resume:"fixed"`
	Optimizer         string  `json:"optimizer" resume:"fixed"`
	Momentum          float64 `json:"momentum" resume:"fixed"`     // sgd, lars
	WeightDecay       float64 `json:"weight_decay" resume:"fixed"` // L2 for sgd and lars; decoupled for adam
	LARSEta           float64 `json:"lars_eta" resume:"fixed"`
	LARSClip          bool    `json:"lars_clip" resume:"fixed"`
	LRSchedule        string  `json:"lr_schedule" resume:"fixed"`
	WarmupEpochs      float64 `json:"warmup_epochs" resume:"fixed"` // warmup-cosine's warm-up
	// Preset names the defaults the run started from: "example" (the Keras example's) or
	// "paper" (the NNCLR paper's model options and augmentations); see ApplyPreset. The other
	// fields hold the resolved values: Create and Resume do not apply a preset, so a Go caller
	// setting Preset calls ApplyPreset first (the CLI does, with the flags given).
	Preset string `json:"preset"`
	// The NNCLR paper's model options, off at their example values.
	SupportTopK int  `json:"support_topk" resume:"fixed"` // positive drawn among the K nearest (1: the nearest)
	PredHidden  int  `json:"pred_hidden" resume:"fixed"`  // prediction head's hidden width (0: none)
	ProjHidden  int  `json:"proj_hidden" resume:"fixed"`  // projection head's hidden width (0: width)
	ProjDim     int  `json:"proj_dim" resume:"fixed"`     // projection (and queue row) width (0: width)
	HeadBN      bool `json:"head_bn" resume:"fixed"`      // batch normalisation in the heads
	// Data (loader.Options).
	StepsPerEpoch   int    `json:"steps_per_epoch" resume:"fixed"`
	ShuffleBuffer   int    `json:"shuffle_buffer" resume:"fixed"`
	UnlabelledBatch int    `json:"unlabelled_batch" resume:"fixed"` // 0: split size / steps
	LabelledBatch   int    `json:"labelled_batch" resume:"fixed"`   // 0: split size / steps
	UnlabelledSplit string `json:"unlabelled_split" resume:"fixed"` // "": unlabelled if present, else the labelled split
	LabelledSplit   string `json:"labelled_split" resume:"fixed"`
	TestSplit       string `json:"test_split"`
	Cache           bool   `json:"cache"` // decode every image into memory before training (loader.Pipeline.Preload; a cluster's workers: after their first read)
	// The NNCLR paper's augmentations of the contrastive views, off at their zero values (the
	// Keras example has none). BlurProb and SolarizeProb hold one probability for both views or
	// view 1's and view 2's.
	JitterProb    float64   `json:"jitter_prob" resume:"fixed"`
	Jitter        []float64 `json:"jitter" resume:"fixed"` // brightness, contrast, saturation, hue
	GrayscaleProb float64   `json:"grayscale_prob" resume:"fixed"`
	BlurProb      []float64 `json:"blur_prob" resume:"fixed"`
	BlurSigma     []float64 `json:"blur_sigma" resume:"fixed"` // lo, hi
	SolarizeProb  []float64 `json:"solarize_prob" resume:"fixed"`
	// Loop (train.Config).
	Epochs          int     `json:"epochs"`
	CheckpointEvery int     `json:"checkpoint_every"` // also every N steps (0: off)
	CheckpointSecs  float64 `json:"checkpoint_secs"`  // also when this long has passed since the last (0: off)
	KeepCheckpoints int     `json:"keep_checkpoints"` // 0: all
	InitFrom        string  `json:"init_from"`        // Keras NNCLR SavedModel the new run starts from
	// The kNN monitor (see KNNRecord): every KNNEvery epochs (0: off) the encoder's kNN top-1 on
	// seeded subsets of at most KNNLimit examples of the labelled and test splits (0: all).
	KNNEvery int `json:"knn_every"`
	KNNLimit int `json:"knn_limit"`
	// The validation of the online probe (see ValidationRecord): after every ValEvery epochs (0:
	// never; 1: after each, the Keras example's) on a seeded subset of at most ValLimit examples
	// of the test split (0: all), the same on every attempt and every worker. A run.json
	// without them (written before they existed) reads as 1 and 0: what those runs did.
	ValEvery int `json:"val_every"`
	ValLimit int `json:"val_limit"`
	// Precision is the arithmetic: fp32 (the example's), bf16 (oneDNN's rewrite on CPUs with
	// AVX512-BF16/AMX) or fp16 (GPUs). Variables, checkpoints and exports are float32 in all.
	// A resume keeps it unless Options.AllowPrecisionChange.
	Precision tfrun.Precision `json:"precision"`
	// Runtime.
	Device         string `json:"device"` // auto, cpu, gpu, gpu:N
	IntraOpThreads int    `json:"intra_op_threads"`
	InterOpThreads int    `json:"inter_op_threads"`
	XLA            bool   `json:"xla"`
	Workers        int    `json:"workers"` // decoding and augmentation goroutines (0: one per core)
	// ClusterSize is the number of data-parallel workers the run last trained on (0 or 1: one
	// process); set by Create and Resume from Options.Cluster. The batches are global, so a run
	// may resume on another number of workers that divides them.
	ClusterSize int `json:"cluster_size"`
}

// DefaultConfig returns the Keras example's run: the model's defaults of
// tfgraph.DefaultModelConfig (STL-10's 96×96, width 128, queue 10,000, temperature 0.1, Adam
// 1e-3 at a constant rate for both optimizers, no weight decay), the data's of loader.DefaultOptions (50 steps per epoch, shuffle buffer 5,000), 5
// epochs, seed 0, checkpoints at epoch ends and every 10 minutes (3 kept), and the paper's
// augmentation settings present but off (jitter strengths 0.4,0.4,0.2,0.1, blur σ 0.1–2),
// the kNN monitor off with a limit of 5,000 examples per split, and validation on the whole
// test split after every epoch.
func DefaultConfig() Config {
	mc, lo := tfgraph.DefaultModelConfig(), loader.DefaultOptions()
	return Config{Format: Format, Version: SchemaVersion, Dataset: "stl10", ImageSize: mc.Height, Width: mc.ModelWidth,
		Backbone: tfgraph.BackboneConv4, InputNorm: tfgraph.NormUnit,
		QueueSize: mc.QueueSize, Temperature: mc.Temperature, LearningRate: mc.LearningRate, Preset: "example",
		ProbeLearningRate: mc.LearningRate, Optimizer: mc.Optimizer, Momentum: mc.Momentum, LARSEta: mc.LARSEta, LRSchedule: mc.LRSchedule,
		SupportTopK: mc.SupportTopK, StepsPerEpoch: lo.StepsPerEpoch, ShuffleBuffer: lo.ShuffleBuffer, LabelledSplit: lo.LabelledSplit,
		TestSplit: lo.TestSplit, Jitter: []float64{0.4, 0.4, 0.2, 0.1}, BlurProb: []float64{0}, BlurSigma: []float64{0.1, 2},
		SolarizeProb: []float64{0}, Epochs: 5, KNNLimit: 5000, ValEvery: 1, CheckpointSecs: 600, KeepCheckpoints: 3, Precision: tfrun.FP32, Device: "auto"}
}

// Session returns the session settings of the config's runtime fields.
func (c Config) Session() (tfrun.SessionConfig, error) {
	dev, err := tfrun.ParseDevice(c.Device)
	if err != nil {
		return tfrun.SessionConfig{}, setting.Errorf("device", c.Device, "want auto, cpu, gpu or gpu:N with N >= 0")
	}
	sc := tfrun.SessionConfig{Device: dev, IntraOpThreads: c.IntraOpThreads, InterOpThreads: c.InterOpThreads, XLA: c.XLA, Precision: c.Precision}
	return sc, sc.Validate()
}

// ModelConfig maps the config onto the model of channels input channels and classes classes
// (the config may leave both to the dataset).
func (c Config) ModelConfig(channels, classes int) tfgraph.ModelConfig {
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.Channels, mc.NumClasses = c.ImageSize, c.ImageSize, channels, classes
	mc.ModelWidth, mc.Temperature, mc.QueueSize, mc.LearningRate = c.Width, c.Temperature, c.QueueSize, c.LearningRate
	mc.SupportTopK, mc.PredHidden = c.SupportTopK, c.PredHidden
	mc.ProjHidden, mc.ProjDim, mc.HeadBN = c.ProjHidden, c.ProjDim, c.HeadBN
	mc.Backbone, mc.Stem, mc.InputNorm = c.Backbone, c.Stem, c.InputNorm
	mc.ProbeLearningRate, mc.Optimizer, mc.Momentum, mc.WeightDecay = c.ProbeLearningRate, c.Optimizer, c.Momentum, c.WeightDecay
	mc.LARSEta, mc.LARSClip, mc.LRSchedule = c.LARSEta, c.LARSClip, c.LRSchedule
	mc.WarmupSteps, mc.TotalSteps = c.scheduleSteps()
	return mc
}

// resolved returns c with the defaults that depend on other settings made explicit, as run.json
// records them: a ResNet's stem (by ImageSize). Every worker and every attempt resolves them
// alike.
func (c Config) resolved() Config {
	if c.Stem == "" {
		c.Stem = c.ModelConfig(max(c.Channels, 1), 2).ResolvedStem()
	}
	return c
}

// loop returns the training loop's settings, checkpointing to ckdir.
func (c Config) loop(ckdir string) train.Config {
	return train.Config{Epochs: c.Epochs, StepsPerEpoch: c.StepsPerEpoch, CheckpointDir: ckdir,
		CheckpointEvery: c.CheckpointEvery, CheckpointSecs: c.CheckpointSecs, Keep: c.KeepCheckpoints,
		ValidateEvery: c.ValEvery, SkipValidation: c.ValEvery == 0}
}

// modelKeys maps tfgraph.ModelConfig's setting names to the run's.
var modelKeys = map[string]string{"height": "image_size", "width": "image_size", "model_width": "width",
	"warmup_steps": "warmup_epochs", "total_steps": "epochs"}

// augmentKeys maps augment.Config's setting names to the run's.
var augmentKeys = map[string]string{"jitter_brightness": "jitter", "jitter_contrast": "jitter", "jitter_saturation": "jitter",
	"jitter_hue": "jitter", "blur_sigma_lo": "blur_sigma", "blur_sigma_hi": "blur_sigma"}

// rename turns a *setting.Error of another package into one about the run's setting: its name
// through keys, and the run's value of it.
func (c Config) rename(err error, keys map[string]string) error {
	var se *setting.Error
	if !errors.As(err, &se) {
		return err
	}
	name := se.Name
	if k, ok := keys[name]; ok {
		name = k
	}
	v, ok := c.value(name)
	if !ok {
		return err
	}
	if p, ok := v.([]float64); ok && len(p) == 1 {
		v = p[0] // one value given for both views
	}
	return &setting.Error{Name: name, Value: v, Reason: se.Reason}
}

// fieldIndex returns the index of Config's field whose json key is name, or -1.
func fieldIndex(name string) int {
	rt := reflect.TypeOf(Config{})
	for i := 0; i < rt.NumField(); i++ {
		if key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); key == name {
			return i
		}
	}
	return -1
}

// value returns the config's field whose json key is name.
func (c Config) value(name string) (any, bool) {
	i := fieldIndex(name)
	if i < 0 {
		return nil, false
	}
	return reflect.ValueOf(c).Field(i).Interface(), true
}

// setValue sets the setting name (a json key) to v, of the field's type.
func (c *Config) setValue(name string, v any) error {
	i := fieldIndex(name)
	if i < 0 {
		return fmt.Errorf("run: no setting %q", name)
	}
	f, x := reflect.ValueOf(c).Elem().Field(i), reflect.ValueOf(v)
	if !x.Type().AssignableTo(f.Type()) {
		return fmt.Errorf("run: setting %s is %s, not %T", name, f.Type(), v)
	}
	f.Set(x)
	return nil
}

// ContrastiveAugment returns the augmenter config of contrastive view 1 or 2 at the model's size:
// the Keras example's with the paper's options the config turns on.
func (c Config) ContrastiveAugment(view int) augment.Config {
	perView := func(p []float64) float64 {
		if len(p) == 0 {
			return 0
		}
		return p[min(view, len(p))-1]
	}
	at := func(p []float64, i int) float64 {
		if i < len(p) {
			return p[i]
		}
		return 0
	}
	ac := augment.ContrastiveConfig(c.ImageSize, c.ImageSize)
	ac.Workers = c.Workers
	ac.JitterProb = c.JitterProb
	ac.JitterBrightness, ac.JitterContrast, ac.JitterSaturation, ac.JitterHue = at(c.Jitter, 0), at(c.Jitter, 1), at(c.Jitter, 2), at(c.Jitter, 3)
	ac.GrayscaleProb = c.GrayscaleProb
	ac.BlurProb = perView(c.BlurProb)
	ac.BlurSigmaLo, ac.BlurSigmaHi = at(c.BlurSigma, 0), at(c.BlurSigma, 1)
	ac.SolarizeProb = perView(c.SolarizeProb)
	return ac
}

// Validate checks the settings that need neither a dataset nor a runtime. Errors are
// *setting.Error values naming the setting (the model's and the augmentations' checks are
// tfgraph's and augment's own, reported under the run's names).
func (c Config) Validate() error {
	switch {
	case c.Format != Format:
		return setting.Errorf("format", c.Format, "want %q", Format)
	case c.Version != SchemaVersion:
		return setting.Errorf("version", c.Version, "this nnclr reads run.json version %d", SchemaVersion)
	case c.Dataset == "":
		return setting.Errorf("dataset", nil, "want a dataset name")
	}
	if err := c.loop("").Validate(); err != nil {
		return c.rename(err, nil)
	}
	if c.ImageSize <= 0 {
		return setting.Errorf("image_size", c.ImageSize, "want > 0")
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"shuffle_buffer", c.ShuffleBuffer}, {"workers", c.Workers}, {"unlabelled_batch", c.UnlabelledBatch}, {"labelled_batch", c.LabelledBatch},
		{"knn_every", c.KNNEvery}, {"knn_limit", c.KNNLimit}, {"val_limit", c.ValLimit}} {
		if p.v < 0 {
			return setting.Errorf(p.name, p.v, "want >= 0")
		}
	}
	if c.Channels != 0 && c.Channels != 1 && c.Channels != 3 {
		return setting.Errorf("channels", c.Channels, "want 0 (the dataset's), 1 or 3")
	}
	if _, err := c.Session(); err != nil {
		return err
	}
	if _, err := PresetValues(c.Preset); err != nil {
		return err
	}
	if c.SupportTopK < 1 {
		// tfgraph reads its zero value as 1; a run says what it uses.
		return setting.Errorf("support_topk", c.SupportTopK, "want >= 1 (1: the nearest neighbour)")
	}
	if err := c.validateRecipe(); err != nil {
		return err
	}
	// The model's own checks, on the channels and classes any dataset could give (an RGB
	// normalisation on a dataset's own channels is checked when the dataset is known).
	channels := max(c.Channels, 1)
	if c.Channels == 0 && c.InputNorm != tfgraph.NormUnit {
		channels = 3
	}
	if err := c.ModelConfig(channels, 2).Validate(); err != nil {
		return c.rename(err, modelKeys)
	}
	for _, p := range []struct {
		name string
		v    []float64
	}{{"blur_prob", c.BlurProb}, {"solarize_prob", c.SolarizeProb}} {
		if len(p.v) != 1 && len(p.v) != 2 {
			return setting.Errorf(p.name, p.v, "want one probability for both views, or view 1's and view 2's")
		}
	}
	if len(c.Jitter) != 4 {
		return setting.Errorf("jitter", c.Jitter, "want 4 strengths: brightness,contrast,saturation,hue")
	}
	if len(c.BlurSigma) != 2 {
		return setting.Errorf("blur_sigma", c.BlurSigma, "want a range lo,hi")
	}
	for view := 1; view <= 2; view++ {
		if err := c.ContrastiveAugment(view).Validate(); err != nil {
			return c.rename(err, augmentKeys)
		}
	}
	return nil
}

// colourSetting names the first enabled augmentation setting that needs 3-channel images, or "".
func (c Config) colourSetting() string {
	for view := 1; view <= 2; view++ {
		if name, _ := c.ContrastiveAugment(view).NeedsRGB(); name != "" {
			if k, ok := augmentKeys[name]; ok {
				return k
			}
			return name
		}
	}
	return ""
}

// PaperAugmentations describes the paper's augmentations the config turns on, or "".
func (c Config) PaperAugmentations() string {
	var on []string
	if c.JitterProb > 0 {
		on = append(on, fmt.Sprintf("colour jitter (p %g, strengths %v)", c.JitterProb, c.Jitter))
	}
	if c.GrayscaleProb > 0 {
		on = append(on, fmt.Sprintf("grayscale (p %g)", c.GrayscaleProb))
	}
	if slices.Max(c.BlurProb) > 0 {
		on = append(on, fmt.Sprintf("blur (p %v, sigma %v)", c.BlurProb, c.BlurSigma))
	}
	if slices.Max(c.SolarizeProb) > 0 {
		on = append(on, fmt.Sprintf("solarization (p %v)", c.SolarizeProb))
	}
	return strings.Join(on, ", ")
}

// checkResume refuses a config that changes a fixed setting of the run recorded as was, that
// asks a resumed run to start from a SavedModel, or that changes the precision unless allowed.
func (c Config) checkResume(was Config, path string, allowPrecision bool) error {
	if c.InitFrom != was.InitFrom {
		return setting.Errorf("init_from", c.InitFrom, "a resumed run continues from its checkpoint; init_from applies to a new run only")
	}
	if now, then := c.Precision, was.Precision; now != then && !allowPrecision {
		return setting.Errorf("precision", c.Precision, "differs from the run's %s (%s): resume with it, or allow the change explicitly", then, path)
	}
	if err := c.checkScheduleResume(was, path); err != nil {
		return err
	}
	then := was.fixedSettings()
	for i, now := range c.fixedSettings() {
		if !reflect.DeepEqual(now.value, then[i].value) {
			return setting.Errorf(now.key, now.value, "differs from the run's %v (%s): resume with the run's settings", then[i].value, path)
		}
	}
	return nil
}

// fixedSetting is a setting tagged resume:"fixed" and its value.
type fixedSetting struct {
	key   string // its json key
	value any
}

// fixedSettings returns the settings tagged resume:"fixed" (those that define the run's data
// order, augmentation and model), in field order: what a resume must keep and what every
// worker of a cluster must agree on.
func (c Config) fixedSettings() []fixedSetting {
	var out []fixedSetting
	rv, rt := reflect.ValueOf(c), reflect.TypeOf(c)
	for i := 0; i < rt.NumField(); i++ {
		if f := rt.Field(i); f.Tag.Get("resume") == "fixed" {
			key, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			out = append(out, fixedSetting{key, rv.Field(i).Interface()})
		}
	}
	return out
}

// ReadConfig reads the config of the run in dir: run.json, or for runs written before it the
// flags.json the CLI recorded (its Go field names mapped to the settings' names, and settings
// that did not exist yet at their defaults: the augmentation options off, which is what those
// runs did, and the 10-minute checkpoint policy, which applies from their resume on).
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	raw, err := os.ReadFile(path)
	legacy := errors.Is(err, os.ErrNotExist)
	if legacy {
		path = filepath.Join(dir, LegacyConfigFile)
		raw, err = os.ReadFile(path)
	}
	if err != nil {
		return Config{}, fmt.Errorf("run: %s is not a run directory: %w", dir, err)
	}
	c, err := parseConfig(raw, legacy)
	if err != nil {
		return Config{}, fmt.Errorf("run: %s: %w", path, err)
	}
	return c, nil
}

// parseConfig decodes run.json, or a legacy flags.json, over DefaultConfig.
func parseConfig(raw []byte, legacy bool) (Config, error) {
	c := DefaultConfig()
	if legacy {
		var old map[string]json.RawMessage
		if err := json.Unmarshal(raw, &old); err != nil {
			return Config{}, err
		}
		renamed := map[string]json.RawMessage{}
		for k, v := range old {
			renamed[snakeCase(k)] = v
		}
		raw, _ = json.Marshal(renamed)
	} else {
		var head struct {
			Format  string `json:"format"`
			Version int    `json:"version"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			return Config{}, err
		}
		if head.Format != Format || head.Version != SchemaVersion {
			return Config{}, fmt.Errorf("format %q version %d: this nnclr reads %q version %d", head.Format, head.Version, Format, SchemaVersion)
		}
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return Config{}, err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return Config{}, err
	}
	if _, ok := keys["probe_learning_rate"]; !ok {
		c.ProbeLearningRate = c.LearningRate // one learning rate set both optimizers
	}
	return c, nil
}

var camelBoundary = regexp.MustCompile(`([a-z0-9])([A-Z])`)

// snakeCase maps the CLI's old Go field names to setting names: QueueSize → queue_size,
// IntraOpThreads → intra_op_threads, XLA → xla.
func snakeCase(s string) string {
	return strings.ToLower(camelBoundary.ReplaceAllString(s, "${1}_${2}"))
}

// writeConfig records c as dir's run.json, atomically.
func writeConfig(dir string, c Config) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, ConfigFile), func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

// Override returns c with the named settings (json keys) taken from from, e.g. the settings a
// user gave on a command line over a run's recorded config. An unknown name is an error.
func (c Config) Override(from Config, names ...string) (Config, error) {
	cv, fv := reflect.ValueOf(&c).Elem(), reflect.ValueOf(from)
	for _, name := range names {
		i := fieldIndex(name)
		if i < 0 {
			return c, fmt.Errorf("run: no setting %q", name)
		}
		cv.Field(i).Set(fv.Field(i))
	}
	return c, nil
}

// Names returns the json keys of every setting of Config, in field order.
func Names() []string {
	rt := reflect.TypeOf(Config{})
	out := make([]string, 0, rt.NumField())
	for i := 0; i < rt.NumField(); i++ {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		out = append(out, key)
	}
	return out
}
