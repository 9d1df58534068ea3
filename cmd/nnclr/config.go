package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nnclr/nnclr/augment"

	"github.com/spf13/pflag"
)

// The paper's colour jitter strengths (brightness, contrast, saturation, hue) and blur σ range.
var defaultJitter, defaultBlurSigma = []float64{0.4, 0.4, 0.2, 0.1}, []float64{0.1, 2.0}

// Modes lists the values of --mode, in the order --help shows them.
var modes = []string{"info", "prepare", "pretrain", "evaluate", "embed", "export"}

// Config is the parsed command line.
type Config struct {
	Mode    string
	Seed    int64
	Device  string
	Quiet   bool
	DataDir string
	Dataset string
	RunDir  string
	Model   string

	IntraOpThreads int
	InterOpThreads int
	XLA            bool

	// pretrain
	Temperature     float64
	QueueSize       int
	Width           int
	Epochs          int
	StepsPerEpoch   int
	ShuffleBuffer   int
	ImageSize       int
	Channels        int
	LearningRate    float64
	Resume          bool
	KeepCheckpoints int
	CheckpointEvery int
	Workers         int
	Cache           bool
	MaxExamples     int

	// the paper's optional augmentations of the contrastive views (off by default)
	JitterProb    float64
	Jitter        []float64 // brightness, contrast, saturation, hue strengths
	GrayscaleProb float64
	BlurProb      []float64 // one probability for both views, or view 1's and view 2's
	BlurSigma     []float64 // σ range
	SolarizeProb  []float64 // like BlurProb

	UnlabelledBatch int
	LabelledBatch   int
	UnlabelledSplit string
	LabelledSplit   string
	TestSplit       string

	// prepare
	Source      string
	DownloadURL string
	SHA256      string
	Overwrite   bool

	// export, embed, evaluate
	Out        string
	Checkpoint string
	Split      string
	Signature  string
	InputKey   string
	OutputKey  string
	InputMax   float64
	BatchSize  int
	InitFrom   string

	// evaluate
	KNNK           int
	KNNTemperature float64
	LinearEpochs   int
	Protocols      string
	TrainSplit     string
}

// usageError is a bad flag or flag value; the process exits with code 2.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

var errHelp = errors.New("help requested")

func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// parseFlags parses args into a Config. --help prints the usage to out and returns errHelp.
func parseFlags(args []string, out io.Writer) (Config, error) {
	var c Config
	fs := pflag.NewFlagSet("nnclr", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.StringVar(&c.Mode, "mode", "info", "what to do: "+strings.Join(modes, ", "))
	fs.Int64Var(&c.Seed, "seed", 0, "seed of every random draw (data order, augmentation, initial weights)")
	fs.StringVar(&c.Device, "device", "auto", "device for TensorFlow: auto, cpu, gpu or gpu:N")
	fs.IntVar(&c.IntraOpThreads, "intra-op-threads", 0, "TensorFlow intra-op threads (0: one per core)")
	fs.IntVar(&c.InterOpThreads, "inter-op-threads", 0, "TensorFlow inter-op threads (0: TensorFlow's choice)")
	fs.BoolVar(&c.XLA, "xla", false, "compile the TensorFlow graph with XLA (global JIT; bin/nnclr sets TF_XLA_FLAGS for CPU)")
	fs.StringVar(&c.DataDir, "data-dir", "", "tfds data dir (default $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
	fs.StringVar(&c.Dataset, "dataset", "stl10", "dataset name, optionally with version (stl10:1.0.0)")
	fs.StringVar(&c.RunDir, "run-dir", "", "run directory: checkpoints, metrics.jsonl, TensorBoard files")
	fs.StringVar(&c.Model, "model", "", "SavedModel directory (info, embed, evaluate)")
	fs.BoolVar(&c.Quiet, "quiet", false, "no progress bar")
	fs.Float64Var(&c.Temperature, "temperature", 0.1, "contrastive temperature")
	fs.IntVar(&c.QueueSize, "queue-size", 10000, "nearest-neighbour support queue rows")
	fs.IntVar(&c.Width, "width", 128, "encoder filters and dense width")
	fs.IntVar(&c.Epochs, "epochs", 5, "pretraining epochs")
	fs.IntVar(&c.StepsPerEpoch, "steps-per-epoch", 50, "steps per epoch; batch sizes are split sizes / steps")
	fs.IntVar(&c.ShuffleBuffer, "shuffle-buffer", 5000, "shuffle buffer of both training splits")
	fs.IntVar(&c.ImageSize, "image-size", 96, "model input height and width (images are resized to it)")
	fs.IntVar(&c.Channels, "channels", 0, "model input channels (0: the dataset's; 3 replicates grayscale)")
	fs.Float64Var(&c.LearningRate, "learning-rate", 1e-3, "Adam learning rate of both optimizers")
	fs.BoolVar(&c.Resume, "resume", false, "continue from the run dir's latest checkpoint")
	fs.IntVar(&c.KeepCheckpoints, "keep-checkpoints", 3, "checkpoints kept in RUN_DIR/checkpoints (0: all)")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", 0, "also checkpoint every N steps (0: at epoch ends only)")
	fs.IntVar(&c.Workers, "workers", 0, "decoding and augmentation workers (0: one per core)")
	fs.Float64Var(&c.JitterProb, "jitter-prob", 0, "pretrain: probability of the NNCLR paper's colour jitter on each contrastive view (0: off, as in the Keras example; the paper: 0.8)")
	fs.Float64SliceVar(&c.Jitter, "jitter", defaultJitter, "pretrain: colour jitter strengths brightness,contrast,saturation,hue (the paper's)")
	fs.Float64Var(&c.GrayscaleProb, "grayscale-prob", 0, "pretrain: probability of grayscale on each contrastive view (0: off; the paper: 0.2; needs 3 channels)")
	fs.Float64SliceVar(&c.BlurProb, "blur-prob", []float64{0}, "pretrain: probability of Gaussian blur of the contrastive views, one value for both or view1,view2 (0: off; the paper: 1,0.1)")
	fs.Float64SliceVar(&c.BlurSigma, "blur-sigma", defaultBlurSigma, "pretrain: range lo,hi of the blur's sigma in pixels")
	fs.Float64SliceVar(&c.SolarizeProb, "solarize-prob", []float64{0}, "pretrain: probability of solarization of the contrastive views, one value for both or view1,view2 (0: off; the paper: 0,0.2)")
	fs.IntVar(&c.UnlabelledBatch, "unlabelled-batch", 0, "unlabelled images per step (0: unlabelled split size / steps)")
	fs.IntVar(&c.LabelledBatch, "labelled-batch", 0, "labelled images per step (0: labelled split size / steps)")
	fs.BoolVar(&c.Cache, "cache", false, "keep decoded images in memory after the first epoch")
	fs.StringVar(&c.UnlabelledSplit, "unlabelled-split", "", "split of unlabelled images (default: unlabelled if the dataset has it, else the labelled split)")
	fs.StringVar(&c.LabelledSplit, "labelled-split", "train", "split of labelled images for the probe")
	fs.StringVar(&c.TestSplit, "test-split", "test", "split for validation")
	fs.StringVar(&c.Source, "source", "", "prepare: STL-10 binary dir (stl10_binary) or Fashion-MNIST IDX dir")
	fs.IntVar(&c.MaxExamples, "limit", 0, "prepare: import at most N examples per split (0: all)")
	fs.StringVar(&c.DownloadURL, "download-url", "", "prepare: STL-10 archive URL used when --source is absent (default: the official release)")
	fs.StringVar(&c.SHA256, "sha256", "", "prepare: expected SHA-256 of the downloaded archive (default: the official one)")
	fs.BoolVar(&c.Overwrite, "overwrite", false, "prepare, export: replace an existing dataset version or output directory")
	fs.StringVar(&c.Out, "out", "", "export: SavedModel directory to write; embed, evaluate: output file")
	fs.StringVar(&c.Split, "split", "test", "embed: dataset split to embed")
	fs.StringVar(&c.Signature, "signature", "serving_default", "embed, evaluate: SavedModel signature to run")
	fs.StringVar(&c.InputKey, "input-key", "", "embed, evaluate: signature input key (default: its only input)")
	fs.StringVar(&c.OutputKey, "output-key", "", "embed, evaluate: signature output key (default: embedding, else its only output)")
	fs.Float64Var(&c.InputMax, "input-max", 1, "embed, evaluate: value of a white pixel for float signature inputs (1 or 255)")
	fs.IntVar(&c.BatchSize, "batch-size", 256, "embed, evaluate: images per session run")
	fs.StringVar(&c.Protocols, "protocols", "linear,knn", "evaluate: protocols to run (linear, knn or both)")
	fs.IntVar(&c.KNNK, "k", 20, "evaluate: neighbours of the kNN vote")
	fs.Float64Var(&c.KNNTemperature, "knn-temperature", 0.07, "evaluate: temperature T of the kNN vote weights exp(sim/T)")
	fs.IntVar(&c.LinearEpochs, "linear-epochs", 100, "evaluate: epochs of the linear classifier (Adam, batch 256)")
	fs.StringVar(&c.TrainSplit, "train-split", "train", "evaluate: labelled split the classifiers are fitted on")
	fs.StringVar(&c.InitFrom, "init-from", "", "pretrain: SavedModel of a Keras NNCLR encoder (and head) to start from")
	fs.StringVar(&c.Checkpoint, "checkpoint", "", "export, embed, evaluate: checkpoint prefix (default: the run dir's latest)")
	help := fs.BoolP("help", "h", false, "show this help")
	usage := func() {
		fmt.Fprintf(out, "Usage: nnclr --mode %s [flags]\n\nFlags:\n", strings.Join(modes, "|"))
		writeFlagUsages(out, fs)
	}
	if err := fs.Parse(args); err != nil {
		return c, &usageError{fmt.Errorf("%w (see nnclr --help)", err)}
	}
	if *help {
		usage()
		return c, errHelp
	}
	if fs.NArg() > 0 {
		return c, &usageError{fmt.Errorf("unexpected argument %q: nnclr takes flags only (see nnclr --help)", fs.Arg(0))}
	}
	return c, c.Validate()
}

// Validate checks the flag values that do not need a dataset or a runtime.
func (c Config) Validate() error {
	known := false
	for _, m := range modes {
		known = known || c.Mode == m
	}
	if !known {
		return &usageError{fmt.Errorf("unknown --mode %q: valid modes are %s", c.Mode, strings.Join(modes, ", "))}
	}
	if c.IntraOpThreads < 0 {
		return &usageError{fmt.Errorf("--intra-op-threads %d: want >= 0", c.IntraOpThreads)}
	}
	if c.InterOpThreads < 0 {
		return &usageError{fmt.Errorf("--inter-op-threads %d: want >= 0", c.InterOpThreads)}
	}
	positive := []struct {
		name string
		v    int
	}{{"--queue-size", c.QueueSize}, {"--width", c.Width}, {"--epochs", c.Epochs},
		{"--steps-per-epoch", c.StepsPerEpoch}, {"--image-size", c.ImageSize}}
	for _, p := range positive {
		if p.v <= 0 {
			return &usageError{fmt.Errorf("%s %d: want > 0", p.name, p.v)}
		}
	}
	nonNegative := []struct {
		name string
		v    int
	}{{"--shuffle-buffer", c.ShuffleBuffer}, {"--channels", c.Channels}, {"--keep-checkpoints", c.KeepCheckpoints},
		{"--checkpoint-every", c.CheckpointEvery}, {"--workers", c.Workers},
		{"--unlabelled-batch", c.UnlabelledBatch}, {"--labelled-batch", c.LabelledBatch}}
	for _, p := range nonNegative {
		if p.v < 0 {
			return &usageError{fmt.Errorf("%s %d: want >= 0", p.name, p.v)}
		}
	}
	if !(c.Temperature > 0) {
		return &usageError{fmt.Errorf("--temperature %v: want > 0", c.Temperature)}
	}
	if !(c.LearningRate > 0) {
		return &usageError{fmt.Errorf("--learning-rate %v: want > 0", c.LearningRate)}
	}
	if c.InputMax != 1 && c.InputMax != 255 {
		return &usageError{fmt.Errorf("--input-max %v: want 1 or 255", c.InputMax)}
	}
	if c.BatchSize <= 0 {
		return &usageError{fmt.Errorf("--batch-size %d: want > 0", c.BatchSize)}
	}
	if err := c.validateAugment(); err != nil {
		return err
	}
	if c.Channels != 0 && c.Channels != 1 && c.Channels != 3 {
		return &usageError{fmt.Errorf("--channels %d: want 0 (the dataset's), 1 or 3", c.Channels)}
	}
	return nil
}

// writeFlagUsages lists every flag with its type, meaning and default, zero defaults included.
func writeFlagUsages(w io.Writer, fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		typ, def := f.Value.Type(), f.DefValue
		switch typ {
		case "bool":
			typ = ""
		case "float64Slice":
			// pflag prints slice defaults as "[0.400000,0.100000]"; show what one would type.
			typ = "floats"
			var vals []string
			for _, v := range strings.Split(strings.Trim(def, "[]"), ",") {
				if x, err := strconv.ParseFloat(v, 64); err == nil {
					vals = append(vals, strconv.FormatFloat(x, 'g', -1, 64))
				}
			}
			def = strings.Join(vals, ",")
		}
		fmt.Fprintf(w, "  %-28s %s (default %q)\n", strings.TrimSpace(name+" "+typ), f.Usage, def)
	})
}

// validateAugment checks the flags of the paper's optional augmentations.
func (c Config) validateAugment() error {
	bad := func(flag string, v any, want string) error {
		return &usageError{fmt.Errorf("%s %v: %s", flag, v, want)}
	}
	for _, p := range []struct {
		flag string
		v    []float64
	}{{"--jitter-prob", []float64{c.JitterProb}}, {"--grayscale-prob", []float64{c.GrayscaleProb}},
		{"--blur-prob", c.BlurProb}, {"--solarize-prob", c.SolarizeProb}} {
		if len(p.v) != 1 && len(p.v) != 2 {
			return bad(p.flag, p.v, "want one probability for both views, or view 1's and view 2's")
		}
		for _, v := range p.v {
			if !(v >= 0 && v <= 1) {
				if len(p.v) == 1 {
					return bad(p.flag, v, "want a probability in [0, 1]")
				}
				return bad(p.flag, p.v, "want probabilities in [0, 1]")
			}
		}
	}
	if len(c.Jitter) != 4 {
		return bad("--jitter", c.Jitter, "want 4 strengths: brightness,contrast,saturation,hue")
	}
	b, ct, sat, hue := c.Jitter[0], c.Jitter[1], c.Jitter[2], c.Jitter[3]
	switch {
	case !(b >= 0 && b <= 1):
		return bad("--jitter", c.Jitter, "want a brightness strength in [0, 1]")
	case !(ct >= 0 && ct <= math.MaxFloat64):
		return bad("--jitter", c.Jitter, "want a finite contrast strength >= 0")
	case !(sat >= 0 && sat <= math.MaxFloat64):
		return bad("--jitter", c.Jitter, "want a finite saturation strength >= 0")
	case !(hue >= 0 && hue <= 0.5):
		return bad("--jitter", c.Jitter, "want a hue strength in [0, 0.5]")
	}
	if len(c.BlurSigma) != 2 || !(c.BlurSigma[0] > 0 && c.BlurSigma[0] <= c.BlurSigma[1] && c.BlurSigma[1] <= math.MaxFloat64) {
		return bad("--blur-sigma", c.BlurSigma, "want lo,hi with 0 < lo <= hi")
	}
	return nil
}

// contrastiveAugment is the Keras example's contrastive augmenter of view 1 or 2 with the
// paper's optional augmentations the flags turn on.
func (c Config) contrastiveAugment(size, view int) augment.Config {
	perView := func(p []float64) float64 { return p[min(view, len(p))-1] }
	ac := augment.ContrastiveConfig(size, size)
	ac.JitterProb = c.JitterProb
	ac.JitterBrightness, ac.JitterContrast, ac.JitterSaturation, ac.JitterHue = c.Jitter[0], c.Jitter[1], c.Jitter[2], c.Jitter[3]
	ac.GrayscaleProb = c.GrayscaleProb
	ac.BlurProb = perView(c.BlurProb)
	ac.BlurSigmaLo, ac.BlurSigmaHi = c.BlurSigma[0], c.BlurSigma[1]
	ac.SolarizeProb = perView(c.SolarizeProb)
	return ac
}

// colourFlag names the first enabled augmentation flag that needs 3-channel images, or "".
func (c Config) colourFlag() string {
	switch {
	case c.JitterProb > 0 && c.Jitter[2] > 0:
		return "--jitter-prob with a saturation strength"
	case c.JitterProb > 0 && c.Jitter[3] > 0:
		return "--jitter-prob with a hue strength"
	case c.GrayscaleProb > 0:
		return "--grayscale-prob"
	}
	return ""
}

// paperAugmentSummary describes the paper's optional augmentations the flags turn on, or "".
func (c Config) paperAugmentSummary() string {
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
