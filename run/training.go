package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tboard"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

var (
	// ErrExists reports a new run in a directory that already holds a checkpoint.
	ErrExists = errors.New("run directory already holds a checkpoint")
	// ErrLocked reports a run directory another process is writing.
	ErrLocked = errors.New("run directory is in use")
)

// Options configures how a run is set up; none of it is part of the run.
type Options struct {
	// Log receives set-up notes (which SavedModel variable initialises which weight, for
	// InitFrom); nil discards them.
	Log io.Writer
	// Dataset configures how the dataset is found: with Dataset.Prepare a known dataset missing
	// from the data dir is prepared first (loader.Load).
	Dataset loader.LoadOptions
	// Context cancels the set-up's long parts (a dataset download); nil is context.Background().
	Context context.Context
	// AllowPrecisionChange lets Resume continue a run in another precision than it ran in.
	AllowPrecisionChange bool
	// Cluster, when it has more than one worker, makes this process one worker of a
	// data-parallel run on TensorFlow's distributed runtime (see tfgraph.DataParallel): the
	// batches are global and each worker trains on its slice; the chief (task 0) alone reads and
	// writes the run directory (checkpoints, run.json, logs) and gives the others its variables at
	// start. Every worker must be started with the same settings (checked at start).
	Cluster *tfrun.Cluster
}

// Training is a pretraining run set up and ready to train: the dataset's batch pipeline, the
// model (initialised from the seed and InitFrom, or restored from the run's latest checkpoint),
// the augmenters and the loop's settings. Close releases it; it is safe to call more than once.
// A Training is not safe for concurrent use.
type Training struct {
	Dir      string
	Config   Config // recorded as run.json when Train starts
	Dataset  *loader.Dataset
	Pipeline *loader.Pipeline
	Model    *tfgraph.Model
	Trainer  *train.Trainer
	Loop     train.Config
	// Resumed is the checkpoint the model was restored from ("" for a new run), and Skipped the
	// newer ones that could not be read, each with the reason.
	Resumed string
	Skipped []string
	// OnKNN, when not nil, is called with each figure of the kNN monitor (Config.KNNEvery) on
	// the chief, after it is logged and before the epoch's train.Hooks.OnEpochEnd.
	OnKNN func(KNNRecord)

	lock      *dirLock
	cluster   *tfrun.Cluster
	valSubset []int // the validation's examples of the test split (nil: all)
}

// Create sets up a new run in dir with cfg. A directory that already holds a checkpoint is
// refused (ErrExists): resume it, or choose another. The Training holds dir's writer lock until
// Close: another Create or Resume of dir fails at once (ErrLocked, naming the holder), while
// Open works on it.
func Create(dir string, cfg Config, opts Options) (*Training, error) {
	return setup(dir, cfg, false, opts)
}

// Resume sets up the run in dir to continue from its latest checkpoint. cfg must keep the run's
// fixed settings (those tagged resume:"fixed" in Config); a difference is a *setting.Error naming
// the setting, both values and the run's config file. Start from ReadConfig(dir) and change what
// may change (Epochs, the checkpoint policy, the runtime). When the latest checkpoint cannot be
// read (a truncated index or data file, a missing shard), the newest readable one is used
// (Resumed, Skipped, and a line to Options.Log say which and why); only when none is readable is
// it an error, naming each one tried.
func Resume(dir string, cfg Config, opts Options) (*Training, error) {
	return setup(dir, cfg, true, opts)
}

func setup(dir string, cfg Config, resume bool, opts Options) (_ *Training, err error) {
	if dir == "" {
		return nil, setting.Errorf("run_dir", nil, "want the run directory")
	}
	cfg = cfg.resolved()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := opts.Log
	if log == nil {
		log = io.Discard
	}
	var cluster *tfrun.Cluster
	if opts.Cluster != nil && opts.Cluster.Size() > 1 {
		cluster = opts.Cluster
		if err := cluster.Validate(); err != nil {
			return nil, err
		}
		cfg.ClusterSize = cluster.Size()
	} else {
		cfg.ClusterSize = 1
	}
	if cluster != nil && cluster.Task != 0 {
		return setupWorker(dir, cfg, opts, cluster)
	}
	ckdir := filepath.Join(dir, CheckpointsDir)
	if resume {
		// Refuse before the lock would create the directory or write the lock file: nothing
		// in the directory changes when a resume is refused.
		if _, err := tfgraph.Checkpoints(ckdir); err != nil {
			return nil, fmt.Errorf("run: resume: %w", err)
		}
		was, err := ReadConfig(dir)
		if err != nil {
			return nil, fmt.Errorf("run: resume: %w", err)
		}
		if err := cfg.checkResume(was, dir, opts.AllowPrecisionChange); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	t := &Training{Dir: dir, Config: cfg, lock: lock}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	candidates, cerr := tfgraph.Checkpoints(ckdir)
	switch {
	case resume && cerr != nil:
		return nil, fmt.Errorf("run: resume: %w", cerr)
	case resume: // checked above
	case cerr == nil:
		return nil, fmt.Errorf("run: %s: %w (%s)", dir, ErrExists, candidates[0])
	}
	if err := t.build(cfg, opts, cluster, log, resume, candidates); err != nil {
		return nil, err
	}
	return t, nil
}

// setupWorker sets up a worker other than the chief: it trains but neither reads nor writes the
// run directory; its variables come from the chief.
func setupWorker(dir string, cfg Config, opts Options, cluster *tfrun.Cluster) (_ *Training, err error) {
	t := &Training{Dir: dir, Config: cfg}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if err := t.build(cfg, opts, cluster, io.Discard, false, nil); err != nil {
		return nil, err
	}
	return t, nil
}

// chief reports whether this process writes the run directory (one process, or task 0).
func (t *Training) chief() bool { return t.cluster == nil || t.cluster.Task == 0 }

// build sets up dataset, pipeline, model (restored from the newest readable of candidates when
// restore, else initialised), augmenters and loop; in a cluster it starts the worker's server,
// checks the cluster and takes the chief's variables.
func (t *Training) build(cfg Config, opts Options, cluster *tfrun.Cluster, log io.Writer, restore bool, candidates []string) (err error) {
	t.cluster = cluster
	ckdir := filepath.Join(t.Dir, CheckpointsDir)
	resume := restore
	sc, err := cfg.Session()
	if err != nil {
		return err
	}
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	ds, err := loader.Load(ctx, cfg.DataDir, cfg.Dataset, opts.Dataset)
	if err != nil {
		return err
	}
	shape := ds.Features.Image.Shape
	channels := cfg.Channels
	if channels == 0 {
		channels = shape.Channels
	}
	if name := cfg.colourSetting(); name != "" && channels != 3 {
		v, _ := cfg.value(name)
		return setting.Errorf(name, v, "needs 3-channel images, but the model takes %d (dataset %s has %d): set channels to 3 or turn it off",
			channels, cfg.Dataset, shape.Channels)
	}
	seeds := DeriveSeeds(cfg.Seed)
	lo := loader.DefaultOptions()
	lo.Seed = seeds.Data
	lo.StepsPerEpoch, lo.ShuffleBuffer, lo.Cache = cfg.StepsPerEpoch, cfg.ShuffleBuffer, cfg.Cache
	if cfg.Workers > 0 {
		lo.Workers = cfg.Workers
	}
	lo.LabelledSplit, lo.TestSplit = cfg.LabelledSplit, cfg.TestSplit
	lo.UnlabelledBatch, lo.LabelledBatch = cfg.UnlabelledBatch, cfg.LabelledBatch
	lo.UnlabelledSplit = cfg.UnlabelledSplit
	if lo.UnlabelledSplit == "" {
		lo.UnlabelledSplit = cfg.LabelledSplit
		if slices.Contains(ds.SplitNames(), "unlabelled") {
			lo.UnlabelledSplit = "unlabelled"
		}
	}
	if out := (loader.Shape{Height: cfg.ImageSize, Width: cfg.ImageSize, Channels: channels}); out != shape {
		lo.Output = out
	}
	t.Dataset = ds
	if t.Pipeline, err = loader.NewPipeline(ds, lo); err != nil {
		return err
	}
	if b := t.Pipeline.UnlabelledBatch + t.Pipeline.LabelledBatch; cfg.QueueSize < b {
		return setting.Errorf("queue_size", cfg.QueueSize, "smaller than the contrastive batch %d (%d unlabelled + %d labelled): the queue must hold at least one batch",
			b, t.Pipeline.UnlabelledBatch, t.Pipeline.LabelledBatch)
	}
	if !ds.HasLabels() && cfg.KNNEvery > 0 {
		return setting.Errorf("knn_every", cfg.KNNEvery, "the kNN monitor needs labelled train and test splits, and dataset %s has none (only %s: unlabelled images, label -1): set it to 0",
			cfg.Dataset, strings.Join(ds.SplitNames(), ", "))
	}
	// A dataset without labels gives a model without a probe (NumClasses 0): the contrastive
	// step alone, no validation.
	mc := cfg.ModelConfig(channels, ds.Features.Label.NumClasses)
	if cluster != nil {
		u, l, n := t.Pipeline.UnlabelledBatch, t.Pipeline.LabelledBatch, cluster.Size()
		if u%n != 0 {
			return setting.Errorf("unlabelled_batch", u, "the global batch does not split over %d workers: want a multiple of %d", n, n)
		}
		if l%n != 0 {
			return setting.Errorf("labelled_batch", l, "the global batch does not split over %d workers: want a multiple of %d", n, n)
		}
		target, err := tfrun.StartServer(*cluster, sc)
		if err != nil {
			return err
		}
		if err := waitForPeers(*cluster, clusterTimeout(cluster)); err != nil {
			return err
		}
		sc.Cluster, sc.Target = cluster, target
		mc.Parallel = &tfgraph.DataParallel{Workers: n, Task: cluster.Task, Unlabelled: u / n, Labelled: l / n, Timeout: clusterTimeout(cluster)}
	}
	if t.Model, err = tfgraph.NewModel(mc, sc); err != nil {
		return err
	}
	switch {
	case resume:
		if err = t.restoreNewest(candidates, log); err != nil {
			return err
		}
	default:
		if err = t.Model.Init(seeds.Model); err != nil {
			return err
		}
		if cfg.InitFrom != "" {
			if err = initFrom(t.Model, cfg.InitFrom, sc, log); err != nil {
				return err
			}
		}
	}
	if cluster != nil {
		if err := t.Model.CheckCluster(fingerprint(cfg, t.Pipeline.UnlabelledBatch, t.Pipeline.LabelledBatch, cluster.Size())); err != nil {
			return t.clusterErr(err)
		}
		if err := t.Model.SyncFromChief(); err != nil {
			return t.clusterErr(err)
		}
	}
	t.Trainer = &train.Trainer{Model: t.Model, SupportSeed: seeds.Support}
	if cluster != nil {
		t.Trainer.Workers, t.Trainer.Task, t.Trainer.SlicedInput = cluster.Size(), cluster.Task, true
	}
	aug := func(ac augment.Config) (*augment.Augmenter, error) {
		ac.Workers = cfg.Workers
		return augment.New(ac, seeds.Augment)
	}
	view1, view2 := cfg.ContrastiveAugment(1), cfg.ContrastiveAugment(2)
	if t.Trainer.Contrastive, err = aug(view1); err != nil {
		return err
	}
	if view2 != view1 {
		if t.Trainer.Contrastive2, err = aug(view2); err != nil {
			return err
		}
	}
	if t.Trainer.Classification, err = aug(augment.ClassificationConfig(cfg.ImageSize, cfg.ImageSize)); err != nil {
		return err
	}
	if t.Trainer.Eval, err = aug(augment.EvalConfig(cfg.ImageSize, cfg.ImageSize)); err != nil {
		return err
	}
	t.Loop = cfg.loop(ckdir)
	t.Loop.SkipValidation = t.Loop.SkipValidation || !ds.HasLabels()
	t.valSubset = ValidationSubset(t.Pipeline.TestLen(), cfg.ValLimit, cfg.Seed, cfg.TestSplit)
	if !t.chief() {
		t.Loop.CheckpointDir = ""
	}
	if cfg.Cache && cluster == nil {
		// Last, once every setting has been checked: every image decoded now, none in the steps
		// (a cluster's workers fill their caches as they read instead: preloading would hold the
		// others at the first collective).
		t0 := time.Now()
		n, size, err := t.Pipeline.Preload(ctx)
		if err != nil {
			return fmt.Errorf("run: cache: %w", err)
		}
		fmt.Fprintf(log, "cache: %d images decoded into memory (%.1f MiB) in %.1f s\n", n, float64(size)/(1<<20), time.Since(t0).Seconds())
	}
	return nil
}

// data is the training data of this process: in a cluster, this worker's slice of every global
// batch (only that slice is read and decoded).
func (t *Training) data() pipelineData {
	if t.cluster == nil {
		return pipelineData{p: t.Pipeline, testSubset: t.valSubset}
	}
	return pipelineData{p: t.Pipeline, slice: t.cluster.Task, slices: t.cluster.Size(), testSubset: t.valSubset}
}

// clusterErr adds to a failed collective which workers cannot be reached now, or do not answer
// (unreachable).
func (t *Training) clusterErr(err error) error {
	var ie *train.InterruptedError
	if t.cluster == nil || err == nil || errors.As(err, &ie) {
		return err // an interrupted run's peers stop too: not a failure to explain
	}
	// A peer killed a moment ago may still have its listening socket open while its
	// connections are already reset: look a few times before saying nobody is down.
	for try := 0; try < 5; try++ {
		if down := unreachable(*t.cluster); len(down) > 0 {
			return fmt.Errorf("%w (%s)", err, strings.Join(down, "; "))
		}
		time.Sleep(300 * time.Millisecond)
	}
	return err
}

// restoreNewest restores the newest readable of candidates (newest first).
func (t *Training) restoreNewest(candidates []string, log io.Writer) error {
	var tried []string
	for _, c := range candidates {
		err := t.Model.Restore(c)
		if err == nil {
			t.Resumed, t.Skipped = c, tried
			if len(tried) > 0 {
				fmt.Fprintf(log, "resuming from %s, the newest readable checkpoint: %s\n", filepath.Base(c), strings.Join(tried, "; "))
			}
			return nil
		}
		tried = append(tried, fmt.Sprintf("%s is unreadable (%v)", filepath.Base(c), err))
	}
	return fmt.Errorf("run: resume: no readable checkpoint in %s: %s", filepath.Dir(candidates[0]), strings.Join(tried, "; "))
}

// initFrom sets m's encoder (and projection head, when the SavedModel has one) from a Keras
// NNCLR model saved in Python — a ResNet's every trained variable and batch-norm statistic from a
// Keras model of that architecture — and writes the mapping and what starts fresh to log.
func initFrom(m *tfgraph.Model, dir string, sc tfrun.SessionConfig, log io.Writer) error {
	w, err := savedmodel.ReadNNCLRWeights(dir, m.Config(), sc)
	if err != nil {
		if c := m.Config(); errors.Is(err, savedmodel.ErrNoMapping) && c.ResolvedStem() == tfgraph.StemCIFAR {
			return fmt.Errorf("run: init_from: %w (the run's %s has the cifar stem; keras.applications' ResNets have the imagenet stem: --stem imagenet)", err, c.Backbone)
		}
		return fmt.Errorf("run: init_from: %w", err)
	}
	fmt.Fprintf(log, "init from %s:\n", dir)
	pairs := w.Pairs
	if c := m.Config(); c.IsResNet() && len(pairs) > 6 {
		// Hundreds of layers mapped name for name: the first and last three say how.
		pairs = slices.Concat(pairs[:3], pairs[len(pairs)-3:])
	}
	for i, p := range pairs {
		if len(pairs) < len(w.Pairs) && i == 3 {
			fmt.Fprintf(log, "  ... (%d more, each by its name)\n", len(w.Pairs)-6)
		}
		fmt.Fprintf(log, "  %-20s <- %-40s %v\n", p.Ours, p.Theirs, w.Values[p.Ours].Shape)
	}
	var fresh []string
	c := m.Config()
	for _, sp := range slices.Concat(c.EncoderVars(), c.EncoderStatVars(), c.HeadVars(), c.PredVars(), c.StatVars(), c.ProbeVars()) {
		if _, ok := w.Values[sp.Name]; !ok {
			fresh = append(fresh, sp.Name)
		}
	}
	fmt.Fprintf(log, "  %d variables from the SavedModel; from the seed: %s\n", len(w.Pairs), strings.Join(fresh, ", "))
	return m.SetWeights(w.Values)
}

// Train runs the loop to Config.Epochs: it records the config as run.json, appends a line per
// step and per validation (Config.ValEvery, ValLimit; see ValidationSubset) to metrics.jsonl, writes the same scalars (and the config as text) to
// a new TensorBoard event file in the run directory, checkpoints as the config says, runs the kNN
// monitor (Config.KNNEvery: a "knn" line in metrics.jsonl, val/knn_top1 in TensorBoard, OnKNN)
// and calls hooks after its own. A worker other than a cluster's chief only trains and calls hooks. A
// failed collective (a worker gone) is an error naming the workers that cannot be reached. It returns ctx's error when ctx is cancelled (the last checkpoint stays
// the latest).
func (t *Training) Train(ctx context.Context, hooks train.Hooks) (err error) {
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	mon := t.knnMonitor()
	// knn runs the monitor at an epoch's end (after its validation, if any), on every worker of
	// a cluster, to the end even when interrupted there (the loop stops at the next step). A
	// failure stops the run at the next step (checkpointed) and is returned.
	//
	// In a cluster every worker embeds the same subsets with the same weights (the workers
	// agree on knn_every and knn_limit at start-up, see fingerprint) between the same two
	// steps, so a worker waits at the next step's first collective only for the others' lag:
	// the difference between the slowest worker's validation, monitor and (on the chief)
	// checkpoint and its own, not the monitor's time. The monitor may take longer than the
	// cluster timeout (TestClusterKNNMonitor runs it for more than twice --cluster-timeout);
	// run on the chief alone, it would hold the others at that collective for all of its time
	// and fail the run once that passed the timeout (the same test shows it). Sharding it would
	// save the repeated work but needs the embeddings gathered across workers.
	var failed error // the monitor's failure, which stops the loop at the next step
	knn := func(e train.EpochEnd) (KNNRecord, bool) {
		if !mon.due(e.Epoch) {
			return KNNRecord{}, false
		}
		mctx := ctx
		if t.cluster != nil {
			mctx = context.Background()
		}
		r, err := mon.run(mctx, e.Epoch, e.GlobalStep)
		if err != nil {
			if ctx.Err() == nil {
				failed = fmt.Errorf("run: knn monitor after epoch %d: %w", e.Epoch+1, err)
				stop(failed)
			}
			return r, false
		}
		return r, true
	}
	monitorErr := func(err error) error {
		if err == nil {
			// After the last epoch no next step stops the loop: the failure is returned here.
			return failed
		}
		if cause := context.Cause(ctx); cause != nil && cause != context.Canceled && !errors.Is(cause, context.DeadlineExceeded) {
			var ie *train.InterruptedError
			if errors.As(err, &ie) {
				return errors.Join(cause, err)
			}
		}
		return err
	}
	if !t.chief() {
		// Another worker: the chief writes the run directory.
		wh := hooks
		wh.OnEpochEnd = func(e train.EpochEnd) {
			knn(e)
			if hooks.OnEpochEnd != nil {
				hooks.OnEpochEnd(e)
			}
		}
		return monitorErr(t.clusterErr(t.Trainer.Run(ctx, t.Loop, t.data(), wh)))
	}
	if err := os.MkdirAll(t.Dir, 0o755); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	if err := writeConfig(t.Dir, t.Config); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	start, err := t.Model.GlobalStep()
	if err != nil {
		return err
	}
	// Steps past the checkpoint a resume starts from were logged by the attempt that died after
	// them: metrics.jsonl keeps one line per step (the others go to metrics.orphaned.jsonl), and
	// the new event file starts with a SessionLog START at the next step, TensorBoard's sign of a
	// restart, which makes it drop the earlier files' points from that step on. TensorBoard takes
	// the first START of a run for its beginning, not a restart: a new run writes one, and a
	// resume writes two, so that a run whose first attempt wrote none still gets its restart.
	if err := trimMetrics(t.Dir, start); err != nil {
		return err
	}
	ml, err := openMetrics(filepath.Join(t.Dir, MetricsFile))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, ml.Close()) }()
	tw, err := tboard.NewWriter(t.Dir)
	if err != nil {
		return err
	}
	tb := &tbLog{w: tw}
	defer func() { err = errors.Join(err, tb.Close()) }()
	starts := 1
	if t.Resumed != "" {
		starts = 2
	}
	for range starts {
		if err := tw.SessionStart(start + 1); err != nil {
			return err
		}
	}
	if err := tw.Text("config", start, configMarkdown(t.Config)); err != nil {
		return err
	}
	all := hooks
	all.OnStep = func(s train.StepInfo) {
		ml.onStep(s)
		tb.onStep(s)
		if hooks.OnStep != nil {
			hooks.OnStep(s)
		}
	}
	all.OnValidation = func(v train.Validation) {
		ml.onValidation(v)
		tb.onValidation(v)
		if hooks.OnValidation != nil {
			hooks.OnValidation(v)
		}
	}
	all.OnEpochEnd = func(e train.EpochEnd) {
		if r, ok := knn(e); ok {
			ml.write(r)
			tb.onKNN(r)
			if t.OnKNN != nil {
				t.OnKNN(r)
			}
		}
		if hooks.OnEpochEnd != nil {
			hooks.OnEpochEnd(e)
		}
	}
	return monitorErr(t.clusterErr(t.Trainer.Run(ctx, t.Loop, t.data(), all)))
}

// Close releases the model's session, the pipeline and the run directory's lock.
func (t *Training) Close() error {
	var errs []error
	defer func() { t.lock.unlock() }()
	if t.Model != nil {
		errs = append(errs, t.Model.Close())
	}
	if t.Pipeline != nil {
		errs = append(errs, t.Pipeline.Close())
	}
	return errors.Join(errs...)
}

// StartMode says how Start treats the run directory.
type StartMode int

// The start modes.
const (
	New      StartMode = iota // a new run (Create)
	Continue                  // continue the run (Resume)
	Auto                      // Continue when the directory holds a checkpoint, else New
)

// Start is Create or Resume for a command line: cfg holds the settings given (the others at
// their defaults) and given names the settings given; a given setting the run's optimizer or
// schedule does not read is refused (Config.CheckGiven) before the directory is touched. A continued run takes the given settings
// over its recorded config (ReadConfig) and keeps the recorded values of the others. A worker
// other than a cluster's chief continues from the recorded config when it sees the run
// directory (a shared one) and from cfg otherwise: the start-up check refuses settings that
// differ from the chief's.
func Start(dir string, cfg Config, given []string, mode StartMode, opts Options) (*Training, error) {
	if dir == "" {
		return nil, setting.Errorf("run_dir", nil, "want the run directory")
	}
	if mode == Auto {
		mode = New
		if _, err := tfgraph.Checkpoints(filepath.Join(dir, CheckpointsDir)); err == nil {
			mode = Continue
		}
	}
	if mode == New {
		if err := cfg.CheckGiven(given); err != nil {
			return nil, err
		}
		return Create(dir, cfg, opts)
	}
	chief := opts.Cluster == nil || opts.Cluster.Size() < 2 || opts.Cluster.Task == 0
	was, err := ReadConfig(dir)
	switch {
	case err == nil:
		if cfg, err = was.Override(cfg, given...); err != nil {
			return nil, err
		}
	case chief:
		if _, cerr := tfgraph.Checkpoints(filepath.Join(dir, CheckpointsDir)); cerr != nil {
			return nil, fmt.Errorf("run: resume: %w", cerr)
		}
		return nil, fmt.Errorf("run: resume: %w", err)
	}
	if err := cfg.CheckGiven(given); err != nil {
		return nil, err
	}
	return Resume(dir, cfg, opts)
}
