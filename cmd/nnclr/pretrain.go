package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

// setupPretrain creates the --run-dir run, or with --resume continues it: the run's recorded
// config with the flags given on this command line over it.
func setupPretrain(c *cli, log, stderr io.Writer) (*rundir.Training, error) {
	if c.runDir == "" {
		return nil, usage(errors.New("--mode pretrain needs --run-dir"))
	}
	cluster, err := c.clusterOf()
	if err != nil {
		return nil, err
	}
	prep, finish := c.prepareOptions(stderr)
	defer finish()
	opts := rundir.Options{Log: log, Context: c.ctx, AllowPrecisionChange: c.allowPrecisionChange, Cluster: cluster,
		Dataset: loader.LoadOptions{Prepare: !c.noPrepare, PrepareOptions: prep}}
	mode := rundir.New
	switch {
	case c.autoResume:
		mode = rundir.Auto
	case c.resume:
		mode = rundir.Continue
	}
	t, err := rundir.Start(c.runDir, c.pretrain, c.given(), mode, opts)
	if errors.Is(err, rundir.ErrExists) {
		return nil, usage(fmt.Errorf("%w: pass --resume to continue it, or choose another --run-dir", err))
	}
	return t, err
}

func runPretrain(c *cli, stdout, stderr io.Writer) error {
	if cl, err := c.clusterOf(); err == nil && cl != nil && cl.Size() > 1 {
		if cl.Task != 0 {
			// Workers other than the chief report on stderr; the chief's stdout is the run's.
			stdout = stderr
		}
		// A worker's first line says what it is in the cluster.
		fmt.Fprintf(stdout, "cluster: %s\n", cl.Describe())
	}
	t, err := setupPretrain(c, stdout, stderr)
	if err != nil {
		return err
	}
	defer t.Close()
	defer t.WaitForChief()
	cfg := t.Config
	bar := &epochBar{w: stderr, epochs: cfg.Epochs, steps: cfg.StepsPerEpoch}
	showBar := !c.quiet && isTerminal(stderr)
	var last train.StepInfo
	var lastVal *train.Validation
	var lastKNN *rundir.KNNRecord
	t.OnKNN = func(r rundir.KNNRecord) { lastKNN = &r }
	var images, steps int
	var busy time.Duration
	hooks := train.Hooks{
		OnStep: func(si train.StepInfo) {
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
		OnValidation: func(train.Validation) { bar.finish() },
		OnEpochEnd: func(e train.EpochEnd) {
			var parts []string
			if v := e.Validation; v != nil {
				lastVal = v
				parts = append(parts, fmt.Sprintf("val_p_loss %.4f val_p_acc %.4f (%d test images)", v.Loss, v.Acc, v.Examples))
			}
			if lastKNN != nil && lastKNN.Epoch == e.Epoch+1 {
				parts = append(parts, fmt.Sprintf("knn_top1 %.4f (%d train, %d test examples, %.1f s)", lastKNN.Top1, lastKNN.TrainCount, lastKNN.TestCount, lastKNN.Seconds))
			}
			if len(parts) > 0 {
				bar.finish()
				fmt.Fprintf(stdout, "epoch %d/%d: %s\n", e.Epoch+1, cfg.Epochs, strings.Join(parts, "; "))
			}
		},
		OnCheckpoint: func(string, int64) { bar.finish() },
	}
	start, err := t.Model.GlobalStep()
	if err != nil {
		return err
	}
	p := t.Pipeline
	batches := fmt.Sprintf("batches %d unlabelled + %d labelled, test %d; %s", p.UnlabelledBatch, p.LabelledBatch, p.TestBatch, validationText(cfg, p.TestLen()))
	if !p.HasLabels() {
		batches = fmt.Sprintf("batches %d unlabelled; no labelled split, so contrastive training only: no online probe, no validation after each epoch", p.UnlabelledBatch)
	}
	mc := t.Model.Config()
	fmt.Fprintf(stdout, "pretrain %s: %d epochs × %d steps, %s; model %dx%dx%d %s, queue %d; from step %d\n",
		cfg.Dataset, cfg.Epochs, cfg.StepsPerEpoch, batches,
		cfg.ImageSize, cfg.ImageSize, mc.Channels, mc.Describe(), cfg.QueueSize, start)
	if c.normNote != "" {
		fmt.Fprintln(stdout, c.normNote)
	}
	if sc := t.Model.Session().Config(); sc.Precision == tfrun.FP32 && !slices.ContainsFunc(t.Model.Session().Devices(), func(d tfrun.Device) bool { return d.Type == "GPU" }) {
		if cpu := tfrun.HostCPUFeatures(); cpu.AMXBF16 {
			fmt.Fprintf(stdout, "hint: this CPU has AMX (%s): --precision bf16 trains the same graph in bfloat16, usually much faster\n", cpu)
		}
	}
	if cfg.SupportTopK > 1 || cfg.PredHidden > 0 || cfg.HeadBN || cfg.ProjHidden > 0 || cfg.ProjDim > 0 {
		in, hidden, out := mc.HeadWidths()
		fmt.Fprintf(stdout, "paper's model options: support top-%d, prediction head hidden %d (0: none), projection head %d→%d→%d, BN in the heads %v\n",
			max(cfg.SupportTopK, 1), cfg.PredHidden, in, hidden, out, cfg.HeadBN)
	}
	if def := rundir.DefaultConfig(); cfg.Optimizer != def.Optimizer || cfg.LRSchedule != def.LRSchedule || cfg.WeightDecay > 0 || cfg.ProbeLearningRate != cfg.LearningRate {
		fmt.Fprintf(stdout, "optimizer: %s\n", cfg.Recipe())
	}
	if extra := cfg.PaperAugmentations(); extra != "" {
		fmt.Fprintf(stdout, "contrastive views also get the paper's %s\n", extra)
	}
	err = t.Train(c.ctx, hooks)
	bar.finish()
	var ie *train.InterruptedError
	if errors.As(err, &ie) && ie.Checkpoint != "" {
		fmt.Fprintf(stdout, "interrupted at step %d: checkpoint %s; continue with --resume\n", ie.Step, filepath.Base(ie.Checkpoint))
	}
	if err != nil {
		return err
	}
	if images > 0 {
		m := last.Metrics
		rate := "images/s after the first step"
		if steps == 1 {
			rate = "images/s (one step, warm-up included)"
		}
		fmt.Fprintf(stdout, "done: step %d %s; %.1f %s\n", last.GlobalStep, metricsText(m, "%.4f"), float64(images)/busy.Seconds(), rate)
	}
	if lastVal != nil {
		fmt.Fprintf(stdout, "validation (epoch %d): p_loss %.4f p_acc %.4f\n", lastVal.Epoch+1, lastVal.Loss, lastVal.Acc)
	}
	if p, err := tfgraph.LatestCheckpoint(t.Loop.CheckpointDir); err == nil {
		fmt.Fprintf(stdout, "checkpoint: %s\n", p)
	}
	return nil
}

// validationText says when and on what the run validates: "validation after each epoch on the
// 8000 test images", "... after every 5 epochs on 2000 of the 8000 test images (seeded)", "no
// validation (--val-every 0)".
func validationText(cfg rundir.Config, testLen int) string {
	when := "after each epoch"
	switch {
	case cfg.ValEvery == 0:
		return "no validation (--val-every 0)"
	case cfg.ValEvery > 1:
		when = fmt.Sprintf("after every %d epochs", cfg.ValEvery)
	}
	if cfg.ValLimit > 0 && cfg.ValLimit < testLen {
		return fmt.Sprintf("validation %s on %d of the %d test images (seeded)", when, cfg.ValLimit, testLen)
	}
	return fmt.Sprintf("validation %s on the %d test images", when, testLen)
}
