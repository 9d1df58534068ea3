package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// modes lists the values of --mode, in the order --help shows them.
var modes = []string{"info", "prepare", "pretrain", "evaluate", "embed", "export", "neighbours"}

// cli is the parsed command line. Flags named like a rundir.Config setting are bound to that field
// of pretrain (the one mapping from flags to a run's config); the others are the modes' own.
type cli struct {
	fs         *pflag.FlagSet
	ctx        context.Context  // cancelled at the first SIGINT or SIGTERM
	signal     func() os.Signal // which one came first, or nil
	mode       string
	presetSet  []string // the settings --preset set (rundir.Config.ApplyPreset)
	normNote   string   // why the input normalisation is not the one given (backboneDefaults)
	quiet      bool
	runDir     string
	model      string
	resume     bool
	autoResume bool
	noPrepare  bool

	cluster        string        // --cluster host:port,...
	taskIndex      int           // --task-index
	clusterTimeout time.Duration // --cluster-timeout

	allowPrecisionChange bool
	pretrain             rundir.Config

	// prepare
	source, downloadURL, sha256 string
	limit                       int
	overwrite                   bool
	sourceFormat                string
	folder                      loader.FolderOptions // --unlabelled, --test-fraction, --max-side, --max-pixels, --strict
	verbose                     bool
	// export, embed, evaluate
	out, checkpoint, split string
	batchSize              int
	savedModel             embed.SavedModelOptions
	// evaluate
	protocols, trainSplit string
	knn                   evaluate.KNNConfig
	linearEpochs          int
	// evaluate, embed: the projector; neighbours: the sheet
	projector               bool
	projectorDir            string
	projectorLimit          int
	queries, neighbourCount int
}

// exitError ends the process with code after printing its message (msg, when set, instead of
// err's text). Bad flags and flag values exit 2 (usage); an interrupted mode 128 + the signal's
// number, as shells report a process a signal ended.
type exitError struct {
	err     error
	msg     string
	code    int
	printed bool // the mode has said what happened: main prints nothing more
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usage is a bad flag or flag value: exit status 2.
func usage(err error) error { return &exitError{err: err, code: 2} }

var errHelp = errors.New("help requested")

func exitCode(err error) int {
	if x := (*exitError)(nil); errors.As(err, &x) {
		return x.code
	}
	return 1
}

// parseFlags parses args. --help prints the usage to out and returns errHelp.
func parseFlags(args []string, out io.Writer) (*cli, error) {
	def := rundir.DefaultConfig()
	c := &cli{pretrain: def, savedModel: embed.DefaultSavedModelOptions(), knn: evaluate.DefaultKNNConfig()}
	fs := pflag.NewFlagSet("nnclr", pflag.ContinueOnError)
	c.fs = fs
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	p := &c.pretrain
	fs.StringVar(&c.mode, "mode", "info", "what to do: "+strings.Join(modes, ", "))
	fs.Int64Var(&p.Seed, "seed", def.Seed, "seed of every random draw (data order, augmentation, initial weights)")
	fs.StringVar(&p.Device, "device", def.Device, "device for TensorFlow: auto, cpu, gpu or gpu:N")
	fs.IntVar(&p.IntraOpThreads, "intra-op-threads", 0, "TensorFlow intra-op threads (0: one per core)")
	fs.IntVar(&p.InterOpThreads, "inter-op-threads", 0, "TensorFlow inter-op threads (0: TensorFlow's choice)")
	fs.Var(&p.Precision, "precision", "arithmetic: fp32, bf16 (CPUs with AVX512-BF16/AMX) or fp16 (GPUs); weights, checkpoints and exports stay float32")
	fs.BoolVar(&c.allowPrecisionChange, "allow-precision-change", false, "pretrain --resume: continue a run in another --precision than it ran in")
	fs.BoolVar(&p.XLA, "xla", false, "compile the TensorFlow graph with XLA (global JIT; bin/nnclr sets TF_XLA_FLAGS for CPU)")
	fs.StringVar(&p.DataDir, "data-dir", "", "tfds data dir (default $TFDS_DATA_DIR, else ~/tensorflow_datasets)")
	fs.StringVar(&p.Dataset, "dataset", def.Dataset, "dataset name, optionally with version (stl10:1.0.0); embed, evaluate, neighbours with --run-dir: the run's by default")
	fs.StringVar(&c.runDir, "run-dir", "", "run directory: run.json, checkpoints, metrics.jsonl, TensorBoard files")
	fs.StringVar(&c.model, "model", "", "SavedModel directory (info, embed, evaluate)")
	fs.BoolVarP(&c.quiet, "quiet", "q", false, "no progress bar")
	fs.Float64Var(&p.Temperature, "temperature", def.Temperature, "contrastive temperature")
	fs.IntVar(&p.QueueSize, "queue-size", def.QueueSize, "nearest-neighbour support queue rows")
	fs.StringVar(&p.Backbone, "backbone", def.Backbone, "pretrain: the encoder: "+strings.Join(tfgraph.Backbones, ", ")+" (conv4: the Keras example's four convolutions; resnet50: keras.applications.ResNet50 layer for layer)")
	fs.StringVar(&p.Stem, "stem", "", "pretrain, ResNets: first layers, imagenet (7x7/2 convolution + max-pool) or cifar (3x3/1, no pool) (default: cifar below 64 px, else imagenet)")
	fs.StringVar(&p.InputNorm, "input-norm", def.InputNorm, "pretrain: input normalisation, unit (/255), imagenet (/255, then ImageNet's per-channel mean and std) or caffe (keras.applications.resnet.preprocess_input: BGR, 0-255 minus the mean; the default with --init-from on resnet50)")
	fs.IntVar(&p.Width, "width", def.Width, "conv4's filters and dense width (refused with a ResNet: its widths are fixed, the heads have --proj-hidden and --proj-dim)")
	fs.IntVar(&p.Epochs, "epochs", def.Epochs, "pretraining epochs")
	fs.IntVar(&p.StepsPerEpoch, "steps-per-epoch", def.StepsPerEpoch, "steps per epoch; batch sizes are split sizes / steps")
	fs.IntVar(&p.ShuffleBuffer, "shuffle-buffer", def.ShuffleBuffer, "shuffle buffer of both training splits")
	fs.IntVar(&p.ImageSize, "image-size", def.ImageSize, "model input height and width (images are resized to it); embed, evaluate: size fed to a SavedModel of unknown size")
	fs.IntVar(&p.Channels, "channels", 0, "model input channels (0: the dataset's; 3 replicates grayscale)")
	fs.Float64Var(&p.LearningRate, "learning-rate", def.LearningRate, "pretrain: learning rate of the contrastive optimizer (the peak of --lr-schedule warmup-cosine)")
	fs.Float64Var(&p.ProbeLearningRate, "probe-learning-rate", def.ProbeLearningRate, "pretrain: the linear probe's Adam learning rate, constant (runs recorded before this flag keep their --learning-rate)")
	fs.StringVar(&p.Optimizer, "optimizer", def.Optimizer, "pretrain: contrastive optimizer: adam (the Keras example's), sgd (with --momentum) or lars (You et al. 2017: --momentum, --lars-eta, --lars-clip); the probe keeps Adam")
	fs.Float64Var(&p.Momentum, "momentum", def.Momentum, "pretrain: momentum of --optimizer sgd and lars")
	fs.Float64Var(&p.WeightDecay, "weight-decay", def.WeightDecay, "pretrain: weight decay of all but biases and batch-norm parameters: L2 added to the gradient for sgd and lars, decoupled for adam (AdamW's, keras.optimizers.Adam's weight_decay: w -= w*decay*lr); 0: none")
	fs.Float64Var(&p.LARSEta, "lars-eta", def.LARSEta, "pretrain: trust coefficient of --optimizer lars")
	fs.BoolVar(&p.LARSClip, "lars-clip", def.LARSClip, "pretrain: clip --optimizer lars's trust ratio as solo-learn's clip_lr (a layer's rate: min(trust ratio, learning rate))")
	fs.StringVar(&p.LRSchedule, "lr-schedule", def.LRSchedule, "pretrain: learning-rate schedule: constant, or warmup-cosine (per step: linear warm-up from 0 over --warmup-epochs, then cosine decay to 0 at the end of --epochs, fixed when the run is created)")
	fs.Float64Var(&p.WarmupEpochs, "warmup-epochs", def.WarmupEpochs, "pretrain: warm-up of --lr-schedule warmup-cosine, in epochs (rounded to steps)")
	fs.StringVar(&p.Preset, "preset", def.Preset, "pretrain: the defaults a new run starts from: example (the Keras example's model and augmentations) or paper (the NNCLR paper's heads, projection 2048-256 and prediction 4096 with BN whatever the backbone, and its augmentations; listed at the end of --help); flags given override it")
	fs.IntVar(&p.ProjHidden, "proj-hidden", def.ProjHidden, "pretrain: projection head's hidden width (0: --width with conv4, 2048 with a ResNet)")
	fs.IntVar(&p.ProjDim, "proj-dim", def.ProjDim, "pretrain: projection head's output width, also the queue's rows (0: --width with conv4, 256 with a ResNet)")
	fs.BoolVar(&p.HeadBN, "head-bn", def.HeadBN, "pretrain: the paper's batch normalisation in the projection and prediction heads")
	fs.IntVar(&p.SupportTopK, "support-topk", def.SupportTopK, "pretrain: the positive is drawn uniformly among the K nearest queue rows (1: the nearest, as in the Keras example; the paper's ablation)")
	fs.IntVar(&p.PredHidden, "pred-hidden", def.PredHidden, "pretrain: hidden width of the paper's prediction head on the projections (0: none, as in the Keras example; the paper: 4096)")
	fs.BoolVar(&c.resume, "resume", false, "continue the run dir's run from its latest checkpoint (flags not given keep the run's values)")
	fs.BoolVar(&c.autoResume, "auto-resume", false, "--resume when the run dir holds a checkpoint, else start the run (for jobs a scheduler restarts)")
	fs.IntVar(&p.KeepCheckpoints, "keep-checkpoints", def.KeepCheckpoints, "checkpoints kept in RUN_DIR/checkpoints (0: all)")
	fs.IntVar(&p.CheckpointEvery, "checkpoint-every", 0, "also checkpoint every N steps (0: off)")
	fs.Float64Var(&p.CheckpointSecs, "checkpoint-secs", def.CheckpointSecs, "also checkpoint when this many seconds have passed since the last checkpoint (0: off)")
	fs.IntVar(&p.Workers, "workers", 0, "decoding, augmentation and kNN workers (0: one per core)")
	fs.Float64Var(&p.JitterProb, "jitter-prob", 0, "pretrain: probability of the NNCLR paper's colour jitter on each contrastive view (0: off, as in the Keras example; the paper: 0.8)")
	fs.Float64SliceVar(&p.Jitter, "jitter", def.Jitter, "pretrain: colour jitter strengths brightness,contrast,saturation,hue (the paper's)")
	fs.Float64Var(&p.GrayscaleProb, "grayscale-prob", 0, "pretrain: probability of grayscale on each contrastive view (0: off; the paper: 0.2; needs 3 channels)")
	fs.Float64SliceVar(&p.BlurProb, "blur-prob", def.BlurProb, "pretrain: probability of Gaussian blur of the contrastive views, one value for both or view1,view2 (0: off; the paper: 1,0.1)")
	fs.Float64SliceVar(&p.BlurSigma, "blur-sigma", def.BlurSigma, "pretrain: range lo,hi of the blur's sigma in pixels")
	fs.Float64SliceVar(&p.SolarizeProb, "solarize-prob", def.SolarizeProb, "pretrain: probability of solarization of the contrastive views, one value for both or view1,view2 (0: off; the paper: 0,0.2)")
	fs.IntVar(&p.UnlabelledBatch, "unlabelled-batch", 0, "unlabelled images per step (0: unlabelled split size / steps)")
	fs.IntVar(&p.LabelledBatch, "labelled-batch", 0, "labelled images per step (0: labelled split size / steps)")
	fs.BoolVar(&p.Cache, "cache", false, "pretrain: decode every image of the splits into memory before the first step, so that no step decodes (multi-worker: each worker keeps what it has read)")
	fs.StringVar(&p.UnlabelledSplit, "unlabelled-split", "", "split of unlabelled images (default: unlabelled if the dataset has it, else the labelled split)")
	fs.StringVar(&p.LabelledSplit, "labelled-split", def.LabelledSplit, "split of labelled images for the probe")
	fs.StringVar(&p.TestSplit, "test-split", def.TestSplit, "split for validation (pretrain) and testing (evaluate)")
	fs.StringVar(&p.InitFrom, "init-from", "", "pretrain: SavedModel of a Keras NNCLR encoder (and head) to start a new run from")
	fs.BoolVar(&c.noPrepare, "no-prepare", false, "pretrain, embed, evaluate: fail on a dataset missing from the data dir instead of preparing it first")
	fs.StringVar(&c.cluster, "cluster", "", "pretrain on several workers: every worker's host:port, comma separated, the same list on each (default: $TF_CONFIG's cluster)")
	fs.IntVar(&c.taskIndex, "task-index", 0, "with --cluster: this worker's place in the list (0: the chief, which writes the run dir)")
	fs.DurationVar(&c.clusterTimeout, "cluster-timeout", rundir.DefaultClusterTimeout, "bound of every wait for the other workers (start-up, each step's collectives)")
	fs.StringVar(&c.source, "source", "", "prepare: STL-10 binary dir (stl10_binary), Fashion-MNIST IDX dir, or a folder of your own images (DIR/<class>/..., DIR/<split>/<class>/... or a flat folder) for any other --dataset name")
	fs.StringVar(&c.sourceFormat, "source-format", "", "prepare: folder reads --source as an image folder even for a known dataset name")
	fs.StringVar(&c.folder.Unlabelled, "unlabelled", "", "prepare (image folder): a folder of unlabelled images, written as the split unlabelled (label -1)")
	fs.Float64Var(&c.folder.TestFraction, "test-fraction", 0, "prepare (image folder of class folders): fraction of each class moved to a test split, drawn from --seed")
	fs.IntVar(&c.folder.MaxSide, "max-side", 0, "prepare (image folder): re-encode images whose longer side exceeds N, resized to N (aspect kept; 0: keep sizes)")
	fs.Int64Var(&c.folder.MaxPixels, "max-pixels", loader.MaxPixels, "prepare (image folder): refuse images whose header declares more pixels than this")
	fs.BoolVar(&c.folder.Strict, "strict", false, "prepare (image folder): an unreadable or corrupt image is an error instead of being skipped")
	fs.BoolVarP(&c.verbose, "verbose", "v", false, "prepare (image folder): list the files skipped")
	fs.IntVar(&c.limit, "limit", 0, "prepare: import at most N examples per split (0: all)")
	fs.StringVar(&c.downloadURL, "download-url", "", "prepare: STL-10 archive URL used when --source is absent (default: the official release)")
	fs.StringVar(&c.sha256, "sha256", "", "prepare: expected SHA-256 of the downloaded archive (default: the official one)")
	fs.BoolVar(&c.overwrite, "overwrite", false, "prepare, export: replace an existing dataset version or output directory")
	fs.StringVar(&c.out, "out", "", "export: SavedModel directory to write; embed, evaluate: output file; neighbours: the sheet's PNG")
	fs.StringVar(&c.split, "split", "test", "embed: dataset split to embed; neighbours: split of the queries")
	fs.StringVar(&c.savedModel.Signature, "signature", c.savedModel.Signature, "embed, evaluate: SavedModel signature to run")
	fs.StringVar(&c.savedModel.InputKey, "input-key", "", "embed, evaluate: signature input key (default: its only input)")
	fs.StringVar(&c.savedModel.OutputKey, "output-key", "", "embed, evaluate: signature output key (default: embedding, else its only output)")
	fs.Float64Var(&c.savedModel.InputMax, "input-max", c.savedModel.InputMax, "embed, evaluate: value of a white pixel for float signature inputs (1 or 255)")
	fs.IntVar(&c.batchSize, "batch-size", 256, "embed, evaluate: images per session run")
	fs.StringVar(&c.protocols, "protocols", "linear,knn", "evaluate: protocols to run (linear, knn or both)")
	fs.IntVar(&c.knn.K, "k", c.knn.K, "evaluate: neighbours of the kNN vote")
	fs.Float64Var(&c.knn.Temperature, "knn-temperature", c.knn.Temperature, "evaluate: temperature T of the kNN vote weights exp(sim/T)")
	fs.IntVar(&c.linearEpochs, "linear-epochs", evaluate.DefaultLinearConfig().Epochs, "evaluate: epochs of the linear classifier (Adam, batch 256)")
	fs.StringVar(&c.trainSplit, "train-split", "train", "evaluate: labelled split the classifiers are fitted on; neighbours: split searched for neighbours")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "export, embed, evaluate, neighbours: checkpoint prefix (default: the run dir's latest)")
	fs.IntVar(&p.KNNEvery, "knn-every", def.KNNEvery, "pretrain: kNN top-1 of the current encoder every N epochs (metrics.jsonl, TensorBoard val/knn_top1, the epoch line; k and temperature as evaluate's defaults; 0: off)")
	fs.IntVar(&p.KNNLimit, "knn-limit", def.KNNLimit, "kNN on a seeded subset of at most N examples of each split (0: all); pretrain's monitor uses it as given or recorded, evaluate and neighbours only when given (else all)")
	fs.IntVar(&p.ValEvery, "val-every", def.ValEvery, "pretrain: validate the online probe on the test split after every N epochs (1: after each, as the Keras example; 0: never); with a ResNet on a CPU a whole split takes minutes: set e.g. --val-every 5 --val-limit 2000")
	fs.IntVar(&p.ValLimit, "val-limit", def.ValLimit, "pretrain: validate on a seeded subset of at most N test examples, the same on every resume and worker (0: the whole split); in a cluster every worker validates its share")
	fs.BoolVar(&c.projector, "projector", false, "evaluate (the test split), embed (--split): also write a seeded subset's embeddings, metadata and sprite for TensorBoard's projector")
	fs.StringVar(&c.projectorDir, "projector-dir", "", "log directory of --projector (default: the run dir; needed with --model); view it with tensorboard --logdir DIR")
	fs.IntVar(&c.projectorLimit, "projector-limit", projectorLimitDefault, "points of --projector (a seeded subset; the whole split when smaller)")
	fs.IntVar(&c.queries, "queries", 8, "neighbours: query images drawn (seeded) from --split")
	fs.IntVar(&c.neighbourCount, "neighbours", 8, "neighbours: nearest neighbours shown per query, searched in --train-split")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return c, usage(fmt.Errorf("%w (see nnclr --help)", err))
	}
	if *help {
		fmt.Fprintf(out, "Usage: nnclr --mode %s [flags]\n\nFlags:\n", strings.Join(modes, "|"))
		writeFlagUsages(out, fs)
		fmt.Fprintf(out, "\nPresets (--preset):\n%s\n", rundir.PresetSummary())
		return c, errHelp
	}
	if fs.NArg() > 0 {
		return c, usage(fmt.Errorf("unexpected argument %q: nnclr takes flags only (see nnclr --help)", fs.Arg(0)))
	}
	if !slices.Contains(modes, c.mode) {
		return c, usage(fmt.Errorf("unknown --mode %q: valid modes are %s", c.mode, strings.Join(modes, ", ")))
	}
	if c.batchSize <= 0 {
		return c, c.flagError(setting.Errorf("batch_size", c.batchSize, "want > 0"))
	}
	if _, err := c.pretrain.Session(); err != nil {
		return c, c.flagError(err)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"projector_limit", c.projectorLimit}, {"queries", c.queries}, {"neighbours", c.neighbourCount}} {
		if f.v < 1 {
			return c, c.flagError(setting.Errorf(f.name, f.v, "want >= 1"))
		}
	}
	if c.pretrain.KNNLimit < 0 {
		return c, c.flagError(setting.Errorf("knn_limit", c.pretrain.KNNLimit, "want >= 0 (0: all)"))
	}
	if c.clusterTimeout <= 0 {
		return c, c.flagError(setting.Errorf("cluster_timeout", c.clusterTimeout, "want a duration > 0 (60s)"))
	}
	if c.mode == "pretrain" {
		var err error
		if c.pretrain, c.presetSet, err = c.pretrain.ApplyPreset(c.given()); err != nil {
			return c, c.flagError(err)
		}
		if err := c.backboneDefaults(); err != nil {
			return c, err
		}
		if c.resume || c.autoResume {
			return c, nil // the run's recorded settings with these over them are checked by rundir.Start
		}
		return c, c.flagError(c.pretrain.Validate())
	}
	return c, nil
}

// backboneDefaults refuses --width with a ResNet and gives --init-from on resnet50 the caffe
// input normalisation of keras.applications.resnet when --input-norm is not given (noted in
// normNote for the start lines).
func (c *cli) backboneDefaults() error {
	p := &c.pretrain
	if p.Backbone == tfgraph.BackboneConv4 || !slices.Contains(tfgraph.Backbones, p.Backbone) {
		return nil // conv4, or a backbone Validate refuses
	}
	if c.fs.Changed("width") {
		return usage(fmt.Errorf("--width %d: conv4's setting, and --backbone %s has fixed widths (its heads take --proj-hidden and --proj-dim)", p.Width, p.Backbone))
	}
	if p.InitFrom != "" && p.Backbone == tfgraph.BackboneResNet50 && !c.fs.Changed("input-norm") {
		p.InputNorm = tfgraph.NormCaffe
		c.normNote = "input normalisation caffe (keras.applications.resnet.preprocess_input), the default with --init-from a Keras ResNet-50; --input-norm overrides it"
	}
	return nil
}

// clusterOf returns the data-parallel cluster of --cluster and --task-index, else of $TF_CONFIG,
// else nil (one process).
func (c *cli) clusterOf() (*tfrun.Cluster, error) {
	if c.cluster == "" && c.fs.Changed("task-index") {
		return nil, usage(errors.New("--task-index needs --cluster"))
	}
	cl, err := rundir.ResolveCluster(c.cluster, c.taskIndex, os.Getenv("TF_CONFIG"), c.clusterTimeout)
	return cl, c.flagError(err)
}

// given returns the names of the rundir.Config settings given on the command line, and those
// a --preset given on it set.
func (c *cli) given() []string {
	var names []string
	for _, n := range rundir.Names() {
		if f := c.fs.Lookup(strings.ReplaceAll(n, "_", "-")); f != nil && f.Changed {
			names = append(names, n)
		}
	}
	if slices.Contains(names, "preset") {
		for _, n := range c.presetSet {
			if !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	return names
}

// flagError turns a *setting.Error naming one of the flags into a usage error that names the
// flag; other errors pass unchanged.
func (c *cli) flagError(err error) error {
	var se *setting.Error
	if err == nil || !errors.As(err, &se) || c.fs.Lookup(strings.TrimPrefix(setting.Flag(se.Name), "--")) == nil {
		return err
	}
	return &exitError{err: err, msg: se.Flag(), code: 2}
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
