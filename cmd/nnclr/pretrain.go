package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"time"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/tboard"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/train"
)

// knownDatasets are the datasets --dataset names without a data dir listing.
var knownDatasets = []string{"stl10", "fashion_mnist"}

// seeds derives independent seeds for each consumer of --seed.
type seeds struct{ model, augment, data uint64 }

func deriveSeeds(seed int64) seeds {
	mix := func(x uint64) uint64 {
		x += 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		return x ^ (x >> 31)
	}
	s := uint64(seed)
	return seeds{model: mix(s ^ 1), augment: mix(s ^ 2), data: mix(s ^ 3)}
}

// openDataset opens --dataset under --data-dir; an unknown name lists the known ones.
func openDataset(c Config) (*loader.Dataset, error) {
	ds, err := loader.Open(c.DataDir, c.Dataset)
	if err != nil {
		if errors.Is(err, loader.ErrNotFound) {
			return nil, fmt.Errorf("%w (known datasets: %v; write one with --mode prepare)", err, knownDatasets)
		}
		return nil, err
	}
	return ds, nil
}

// setup is everything pretrain and its tests need: the pipeline, the model and the trainer.
type setup struct {
	pipe    *loader.Pipeline
	model   *tfgraph.Model
	trainer *train.Trainer
	loop    train.Config
	runDir  string
	log     io.Writer // where set-up notes go (the --init-from mapping)
}

func (s *setup) Close() error {
	var errs []error
	if s.model != nil {
		errs = append(errs, s.model.Close())
	}
	if s.pipe != nil {
		errs = append(errs, s.pipe.Close())
	}
	return errors.Join(errs...)
}

// newSetup validates the flags against the dataset and builds the pipeline, model and trainer.
// The model's variables are initialised from --seed, or restored with --resume.
func newSetup(c Config, log io.Writer) (_ *setup, err error) {
	if c.RunDir == "" {
		return nil, &usageError{errors.New("--mode pretrain needs --run-dir")}
	}
	sc, err := c.sessionConfig()
	if err != nil {
		return nil, err
	}
	ds, err := openDataset(c)
	if err != nil {
		return nil, err
	}
	shape := ds.Features.Image.Shape
	channels := c.Channels
	if channels == 0 {
		channels = shape.Channels
	}
	if f := c.colourFlag(); f != "" && channels != 3 {
		return nil, &usageError{fmt.Errorf("%s needs 3-channel images, but the model takes %d (dataset %s has %d): add --channels 3 or turn it off",
			f, channels, c.Dataset, shape.Channels)}
	}
	seeds := deriveSeeds(c.Seed)
	opts := loader.DefaultOptions()
	opts.Seed = seeds.data
	opts.StepsPerEpoch = c.StepsPerEpoch
	opts.ShuffleBuffer = c.ShuffleBuffer
	opts.Cache = c.Cache
	if c.Workers > 0 {
		opts.Workers = c.Workers
	}
	opts.LabelledSplit, opts.TestSplit = c.LabelledSplit, c.TestSplit
	opts.UnlabelledBatch, opts.LabelledBatch = c.UnlabelledBatch, c.LabelledBatch
	opts.UnlabelledSplit = c.UnlabelledSplit
	if opts.UnlabelledSplit == "" {
		opts.UnlabelledSplit = c.LabelledSplit
		if slices.Contains(ds.SplitNames(), "unlabelled") {
			opts.UnlabelledSplit = "unlabelled"
		}
	}
	out := loader.Shape{Height: c.ImageSize, Width: c.ImageSize, Channels: channels}
	if out != shape {
		opts.Output = out
	}
	s := &setup{runDir: c.RunDir, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.pipe, err = loader.NewPipeline(ds, opts); err != nil {
		return nil, err
	}
	b := s.pipe.UnlabelledBatch + s.pipe.LabelledBatch
	if c.QueueSize < b {
		return nil, &usageError{fmt.Errorf("--queue-size %d is smaller than the contrastive batch %d (%d unlabelled + %d labelled): the queue must hold at least one batch",
			c.QueueSize, b, s.pipe.UnlabelledBatch, s.pipe.LabelledBatch)}
	}
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.Channels = c.ImageSize, c.ImageSize, channels
	mc.NumClasses = ds.Features.Label.NumClasses
	mc.ModelWidth, mc.Temperature, mc.QueueSize, mc.LearningRate = c.Width, c.Temperature, c.QueueSize, c.LearningRate
	if s.model, err = tfgraph.NewModel(mc, sc); err != nil {
		return nil, err
	}
	ckdir := filepath.Join(c.RunDir, "checkpoints")
	latest, lerr := tfgraph.LatestCheckpoint(ckdir)
	switch {
	case c.Resume && lerr != nil:
		return nil, fmt.Errorf("--resume: %w", lerr)
	case c.Resume:
		if err = checkResumeFlags(c); err != nil {
			return nil, err
		}
		if err = s.model.Restore(latest); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
	case lerr == nil:
		return nil, &usageError{fmt.Errorf("--run-dir %s already holds checkpoint %s: pass --resume to continue it, or choose another --run-dir", c.RunDir, latest)}
	default:
		if err = s.model.Init(seeds.model); err != nil {
			return nil, err
		}
		if c.InitFrom != "" {
			if err = initFrom(s.model, c.InitFrom, sc, s.log); err != nil {
				return nil, err
			}
		}
	}
	aug := func(ac augment.Config) (*augment.Augmenter, error) {
		ac.Workers = c.Workers
		return augment.New(ac, seeds.augment)
	}
	s.trainer = &train.Trainer{Model: s.model}
	view1, view2 := c.contrastiveAugment(c.ImageSize, 1), c.contrastiveAugment(c.ImageSize, 2)
	if s.trainer.Contrastive, err = aug(view1); err != nil {
		return nil, err
	}
	if view2 != view1 {
		if s.trainer.Contrastive2, err = aug(view2); err != nil {
			return nil, err
		}
	}
	if s.trainer.Classification, err = aug(augment.ClassificationConfig(c.ImageSize, c.ImageSize)); err != nil {
		return nil, err
	}
	if s.trainer.Eval, err = aug(augment.EvalConfig(c.ImageSize, c.ImageSize)); err != nil {
		return nil, err
	}
	s.loop = train.Config{Epochs: c.Epochs, StepsPerEpoch: c.StepsPerEpoch, CheckpointDir: ckdir,
		CheckpointEvery: c.CheckpointEvery, Keep: c.KeepCheckpoints}
	return s, nil
}

func runPretrain(c Config, stdout, stderr io.Writer) error {
	s, err := newSetup(c, stdout)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := os.MkdirAll(c.RunDir, 0o755); err != nil {
		return err
	}
	if err := writeJSONAtomic(filepath.Join(c.RunDir, "flags.json"), c); err != nil {
		return err
	}
	log, err := openJSONL(filepath.Join(c.RunDir, "metrics.jsonl"))
	if err != nil {
		return err
	}
	defer log.Close()
	tw, err := tboard.NewWriter(c.RunDir)
	if err != nil {
		return err
	}
	tb := &tbLog{w: tw}
	defer tb.Close()
	start0, _ := s.model.GlobalStep()
	if err := tw.Text("flags", start0, flagsMarkdown(c)); err != nil {
		return err
	}
	bar := &epochBar{w: stderr, epochs: c.Epochs, steps: c.StepsPerEpoch}
	showBar := !c.Quiet && isTerminal(stderr)
	var last train.StepInfo
	var lastVal *train.Validation
	var images, steps int
	var busy time.Duration
	hooks := train.Hooks{
		OnStep: func(si train.StepInfo) {
			log.onStep(si)
			tb.onStep(si)
			if showBar {
				bar.onStep(si)
			}
			// The first step of a process warms TensorFlow up; the rate leaves it out when there
			// are others.
			if steps++; steps == 2 {
				images, busy = 0, 0
			}
			last, images, busy = si, images+si.Images, busy+si.Duration
		},
		OnValidation: func(v train.Validation) {
			log.onValidation(v)
			tb.onValidation(v)
			if showBar {
				bar.finish()
			}
			lastVal = &v
			fmt.Fprintf(stdout, "epoch %d/%d: val_p_loss %.4f val_p_acc %.4f (%d test images)\n", v.Epoch+1, c.Epochs, v.Loss, v.Acc, v.Examples)
		},
		OnCheckpoint: func(p string, step int64) {
			if showBar {
				bar.finish()
			}
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start, _ := s.model.GlobalStep()
	fmt.Fprintf(stdout, "pretrain %s: %d epochs × %d steps, batches %d unlabelled + %d labelled, test %d; model %dx%dx%d width %d, queue %d; from step %d\n",
		c.Dataset, c.Epochs, c.StepsPerEpoch, s.pipe.UnlabelledBatch, s.pipe.LabelledBatch, s.pipe.TestBatch,
		c.ImageSize, c.ImageSize, s.model.Config().Channels, c.Width, c.QueueSize, start)
	if extra := c.paperAugmentSummary(); extra != "" {
		fmt.Fprintf(stdout, "contrastive views also get the paper's %s\n", extra)
	}
	err = s.trainer.Run(ctx, s.loop, pipelineData{s.pipe}, hooks)
	bar.finish()
	if err != nil {
		return err
	}
	if images > 0 {
		m := last.Metrics
		rate := "images/s after the first step"
		if steps == 1 {
			rate = "images/s (one step, warm-up included)"
		}
		fmt.Fprintf(stdout, "done: step %d c_loss %.4f c_acc %.4f r_acc %.4f p_loss %.4f p_acc %.4f; %.1f %s\n",
			last.GlobalStep, m.CLoss, m.CAcc, m.RAcc, m.PLoss, m.PAcc, float64(images)/busy.Seconds(), rate)
	}
	if lastVal != nil {
		fmt.Fprintf(stdout, "validation: p_loss %.4f p_acc %.4f\n", lastVal.Loss, lastVal.Acc)
	}
	if p, err := tfgraph.LatestCheckpoint(s.loop.CheckpointDir); err == nil {
		fmt.Fprintf(stdout, "checkpoint: %s\n", p)
	}
	if err := tb.Close(); err != nil {
		return err
	}
	return log.Close()
}

// checkResumeFlags refuses to resume a run with flags that change its data order, augmentation
// or model: the run's own flags.json records them.
func checkResumeFlags(c Config) error {
	raw, err := os.ReadFile(filepath.Join(c.RunDir, "flags.json"))
	if err != nil {
		return fmt.Errorf("--resume: %w", err)
	}
	var prev Config
	if err := json.Unmarshal(raw, &prev); err != nil {
		return fmt.Errorf("--resume: %s: %w", filepath.Join(c.RunDir, "flags.json"), err)
	}
	// Runs written before the optional augmentations existed have no jitter or blur settings:
	// they ran with the options off, which the defaults describe.
	if prev.Jitter == nil {
		prev.Jitter = defaultJitter
	}
	if prev.BlurSigma == nil {
		prev.BlurSigma = defaultBlurSigma
	}
	if prev.BlurProb == nil {
		prev.BlurProb = []float64{0}
	}
	if prev.SolarizeProb == nil {
		prev.SolarizeProb = []float64{0}
	}
	for _, f := range []struct {
		flag      string
		now, then any
	}{
		{"--seed", c.Seed, prev.Seed}, {"--dataset", c.Dataset, prev.Dataset},
		{"--steps-per-epoch", c.StepsPerEpoch, prev.StepsPerEpoch}, {"--shuffle-buffer", c.ShuffleBuffer, prev.ShuffleBuffer},
		{"--image-size", c.ImageSize, prev.ImageSize}, {"--channels", c.Channels, prev.Channels},
		{"--width", c.Width, prev.Width}, {"--queue-size", c.QueueSize, prev.QueueSize},
		{"--temperature", c.Temperature, prev.Temperature}, {"--learning-rate", c.LearningRate, prev.LearningRate},
		{"--unlabelled-batch", c.UnlabelledBatch, prev.UnlabelledBatch}, {"--labelled-batch", c.LabelledBatch, prev.LabelledBatch},
		{"--unlabelled-split", c.UnlabelledSplit, prev.UnlabelledSplit}, {"--labelled-split", c.LabelledSplit, prev.LabelledSplit},
		{"--jitter-prob", c.JitterProb, prev.JitterProb}, {"--jitter", fmt.Sprint(c.Jitter), fmt.Sprint(prev.Jitter)},
		{"--grayscale-prob", c.GrayscaleProb, prev.GrayscaleProb}, {"--blur-prob", fmt.Sprint(c.BlurProb), fmt.Sprint(prev.BlurProb)},
		{"--blur-sigma", fmt.Sprint(c.BlurSigma), fmt.Sprint(prev.BlurSigma)}, {"--solarize-prob", fmt.Sprint(c.SolarizeProb), fmt.Sprint(prev.SolarizeProb)},
	} {
		if f.now != f.then {
			return &usageError{fmt.Errorf("--resume: %s %v differs from the run's %v (%s): resume with the run's settings",
				f.flag, f.now, f.then, filepath.Join(c.RunDir, "flags.json"))}
		}
	}
	return nil
}

// writeJSONAtomic writes v as indented JSON to path, atomically.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}
