package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/rng"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// Batch is one training step's images: the unlabelled batch and the labelled batch with labels.
// For a model without a probe (a dataset without labels: tfgraph.ModelConfig.HasProbe) the
// labelled batch is empty (N 0) and the contrastive views are of the unlabelled images alone.
// The loop reads it before asking for the next one; the source may reuse its buffers after that.
type Batch struct {
	Unlabelled, Labelled augment.Images
	Labels               []int64
}

// TestBatch is a batch of the test split.
type TestBatch struct {
	Images augment.Images
	Labels []int64
}

// Iterator yields batches until io.EOF.
type Iterator[T any] interface {
	Next() (T, error)
	Close() error
}

// Data is what the loop trains on. TrainEpoch must be deterministic for a given epoch (the
// source derives its shuffling from its own seed and the epoch), so a resumed run sees the same
// batches as an uninterrupted one.
type Data interface {
	TrainEpoch(epoch int) (Iterator[Batch], error)
	Test() (Iterator[TestBatch], error)
}

// Config holds the loop's settings.
type Config struct {
	Epochs, StepsPerEpoch int
	// CheckpointDir receives TF checkpoints at the end of each epoch, every CheckpointEvery steps
	// when > 0, when CheckpointSecs have passed since the last one when > 0, and when the run is
	// interrupted; empty disables checkpoints.
	CheckpointDir   string
	CheckpointEvery int
	CheckpointSecs  float64
	Keep            int // checkpoints kept (0: all)
	// SkipValidation turns off the per-epoch validation on the test split. A model without a
	// probe has no validation: Run refuses it unless SkipValidation.
	SkipValidation bool
	// ValidateEvery validates only after the epochs whose number (from 1) is a multiple of it
	// (0 or 1: after every epoch, the Keras example's).
	ValidateEvery int
}

// Validate checks the loop settings; errors are *setting.Error values named as run.json and the
// CLI name them (epochs, steps_per_epoch, checkpoint_every, checkpoint_secs, keep_checkpoints).
func (c Config) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("train: %w", setting.Errorf(name, v, "%s", want))
	}
	switch {
	case c.Epochs <= 0:
		return bad("epochs", c.Epochs, "want > 0")
	case c.StepsPerEpoch <= 0:
		return bad("steps_per_epoch", c.StepsPerEpoch, "want > 0")
	case c.CheckpointEvery < 0:
		return bad("checkpoint_every", c.CheckpointEvery, "want >= 0")
	case !(c.CheckpointSecs >= 0) || math.IsInf(c.CheckpointSecs, 1):
		return bad("checkpoint_secs", c.CheckpointSecs, "want a finite number of seconds >= 0")
	case c.Keep < 0:
		return bad("keep_checkpoints", c.Keep, "want >= 0")
	case c.ValidateEvery < 0:
		return bad("val_every", c.ValidateEvery, "want >= 0 (0 or 1: every epoch)")
	}
	return nil
}

// validates reports whether the loop validates after epoch (from 0).
func (c Config) validates(epoch int) bool {
	return !c.SkipValidation && (c.ValidateEvery <= 1 || (epoch+1)%c.ValidateEvery == 0)
}

// StepInfo is reported after every step.
type StepInfo struct {
	Epoch, Step    int   // 0-based epoch, 1-based step within it
	GlobalStep     int64 // steps run in total, this one included
	Metrics        tfgraph.Metrics
	Images         int           // images in the step (unlabelled + labelled)
	Duration       time.Duration // wall time of the step, augmentation overlap included
	SessionRunTime time.Duration // time spent in the session run
}

// Validation is reported after each epoch's evaluation on the test split.
type Validation struct {
	Epoch      int
	GlobalStep int64
	Loss, Acc  float64
	Examples   int
}

// EpochEnd is reported after every epoch: after its validation, if it had one, and before its
// checkpoint.
type EpochEnd struct {
	Epoch      int // from 0
	GlobalStep int64
	Validation *Validation // nil when the epoch had none (Config.ValidateEvery, SkipValidation)
}

// Hooks receive the loop's events. Any of them may be nil.
type Hooks struct {
	OnStart      func(startStep int64, total int64)
	OnStep       func(StepInfo)
	OnValidation func(Validation)
	// OnValidationBatch is called after each test batch of a validation (this worker's share
	// of it in a data-parallel run) with the epoch (from 0) and the batches done.
	OnValidationBatch func(epoch, batches int)
	OnEpochEnd        func(EpochEnd)
	OnCheckpoint      func(path string, step int64)
	OnEnd             func(err error)
}

// Trainer holds the model and the augmenters.
type Trainer struct {
	Model       *tfgraph.Model
	Contrastive *augment.Augmenter
	// Contrastive2, when set, augments the second view instead of Contrastive (views with
	// different augmentation probabilities, as the paper's blur and solarization have).
	Contrastive2   *augment.Augmenter
	Classification *augment.Augmenter
	Eval           *augment.Augmenter
	// Workers and Task, when Workers > 1, make this trainer one worker of a data-parallel run
	// (the model's ModelConfig.Parallel): every Batch is the global batch, and the worker
	// augments and feeds its Task-th slice of the unlabelled and of the labelled images, with
	// the draws of those images' places in the global batch, as one process would.
	Workers, Task int
	// SlicedInput, with Workers > 1, says that every Batch already is this worker's slice of the
	// global batch (its Task-th of Workers equal parts of the unlabelled and of the labelled
	// images; loader.Pipeline.TrainSlice), not the whole: only the slice was decoded.
	SlicedInput bool
	// SupportSeed keys the top-k support's picks (ModelConfig.SupportTopK > 1): each step draws
	// them from the stream of its step number, for the whole global batch.
	SupportSeed uint64
}

// slice returns images [i·n, (i+1)·n) of im.
func slice(im augment.Images, i, n int) augment.Images {
	per := im.H * im.W * im.C
	return augment.Images{Pix: im.Pix[i*n*per : (i+1)*n*per], N: n, H: im.H, W: im.W, C: im.C}
}

// ErrNonFinite reports a loss that became NaN or Inf.
var ErrNonFinite = errors.New("loss is not finite")

// ErrPeerStopped is the cause of an *InterruptedError when another worker of a data-parallel run
// was interrupted: every worker stops after the same step.
var ErrPeerStopped = errors.New("another worker stopped")

// InterruptedError is what Run returns when its context is cancelled: the step in flight was
// finished, and Checkpoint (when the loop checkpoints) holds every completed step, Step of them.
// It wraps the context's error.
type InterruptedError struct {
	Step       int64
	Checkpoint string // "" without a CheckpointDir
	Err        error
}

func (e *InterruptedError) Error() string {
	if e.Checkpoint == "" {
		return fmt.Sprintf("train: interrupted at step %d: %v", e.Step, e.Err)
	}
	return fmt.Sprintf("train: interrupted at step %d: checkpoint %s: %v", e.Step, e.Checkpoint, e.Err)
}

// Unwrap returns the context's error (context.Canceled, for instance).
func (e *InterruptedError) Unwrap() error { return e.Err }

// prepared is a step's input, augmented into TF tensors. Its tensors belong to the producer
// goroutine until it hands the prepared step over, then to the loop, which closes them after the
// step; a step prepared but never handed over (the loop stopped) is closed by the producer.
type prepared struct {
	batch tfgraph.Batch
	n     int
	err   error
}

// augmentStep makes the step's tensors: views 1 and 2 of concat(unlabelled, labelled) with the
// contrastive augmenter (streams 0 and 1) and the probe view of the labelled images with the
// classification augmenter (stream 2); the step number keys every draw.
func (t *Trainer) augmentStep(b Batch, step uint64) prepared {
	cfg := t.Model.Config()
	u, l := b.Unlabelled, b.Labelled
	if !cfg.HasProbe() && (l.N > 0 || len(b.Labels) > 0) {
		return prepared{err: fmt.Errorf("train: step %d: %d labelled images for a model without a probe (num_classes 0)", step, l.N)}
	}
	if !cfg.HasProbe() {
		l = augment.Images{H: u.H, W: u.W, C: u.C} // no labelled images
	}
	if u.C != cfg.Channels || l.C != cfg.Channels {
		return prepared{err: fmt.Errorf("train: step %d: images have %d/%d channels, the model takes %d", step, u.C, l.C, cfg.Channels)}
	}
	if len(b.Labels) != l.N {
		return prepared{err: fmt.Errorf("train: step %d: %d labels for %d labelled images", step, len(b.Labels), l.N)}
	}
	var p prepared
	global := u.N + l.N // the global batch's images
	if t.Workers > 1 && t.SlicedInput {
		global *= t.Workers
	}
	if k := cfg.SupportTopK; k > 1 {
		var err error
		if p.batch.SupportPick, err = tfrun.NewInt32Matrix(t.supportPicks(step, global, k)); err != nil {
			return prepared{err: err}
		}
	}
	// Draw indices: the unlabelled images are 0.. of the global batch, the labelled follow.
	ubase, lbase, pbase, labels := 0, u.N, 0, b.Labels
	switch {
	case t.Workers > 1 && t.SlicedInput:
		// b is this worker's slice: places Task·un.. of the global unlabelled images, and
		// Task·ln.. of the labelled ones, which follow all Workers·un unlabelled images.
		un, ln := u.N, l.N
		ubase, lbase, pbase = t.Task*un, t.Workers*un+t.Task*ln, t.Task*ln
	case t.Workers > 1:
		if u.N%t.Workers != 0 || l.N%t.Workers != 0 {
			return prepared{err: fmt.Errorf("train: step %d: a global batch of %d unlabelled + %d labelled images does not split over %d workers", step, u.N, l.N, t.Workers)}
		}
		un, ln := u.N/t.Workers, l.N/t.Workers
		ubase, lbase, pbase = t.Task*un, u.N+t.Task*ln, t.Task*ln
		labels = b.Labels[t.Task*ln : (t.Task+1)*ln]
		u, l = slice(u, t.Task, un), slice(l, t.Task, ln)
	}
	n := u.N + l.N
	h, w, c := int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)
	// One tensor holds both views: view 1 (stream 0) of the n images, then view 2 (stream 1).
	p.n = n
	var err error
	p.batch.Views, err = tfrun.NewFloatTensor([]int64{2 * int64(n), h, w, c}, func(dst []float32) error {
		half := len(dst) / 2
		split := t.Contrastive.OutputLen(u.N, u.C)
		augs := []*augment.Augmenter{t.Contrastive, t.Contrastive}
		if t.Contrastive2 != nil {
			augs[1] = t.Contrastive2
		}
		for stream, v := range [][]float32{dst[:half], dst[half:]} {
			if err := augs[stream].ApplyFrom(v[:split], u, uint64(stream), step, ubase); err != nil {
				return fmt.Errorf("view %d: %w", stream+1, err)
			}
			if l.N == 0 {
				continue // a model without a probe: no labelled images
			}
			if err := augs[stream].ApplyFrom(v[split:], l, uint64(stream), step, lbase); err != nil {
				return fmt.Errorf("view %d: %w", stream+1, err)
			}
		}
		return nil
	})
	if err != nil {
		p.batch.Close()
		return prepared{err: fmt.Errorf("train: step %d: %w", step, err)}
	}
	if !cfg.HasProbe() {
		return p
	}
	p.batch.ProbeX, err = tfrun.NewFloatTensor([]int64{int64(l.N), h, w, c}, func(dst []float32) error {
		return t.Classification.ApplyFrom(dst, l, 2, step, pbase)
	})
	if err != nil {
		p.batch.Close()
		return prepared{err: fmt.Errorf("train: step %d: probe view: %w", step, err)}
	}
	if p.batch.ProbeY, err = tfrun.NewInt64Tensor(labels); err != nil {
		p.batch.Close()
		return prepared{err: err}
	}
	return p
}

// supportPicks draws the step's top-k picks: one per row of the global batch of rows images and
// view, the same on every worker.
func (t *Trainer) supportPicks(step uint64, rows, k int) [][]int32 {
	r := rng.New(t.SupportSeed, rng.Name("support"), step)
	picks := [2][]int32{make([]int32, rows), make([]int32, rows)}
	for v := range picks {
		for i := range picks[v] {
			picks[v][i] = int32(r.IntN(k))
		}
	}
	return picks[:]
}

// Run trains from the model's current global step to Epochs × StepsPerEpoch. A resumed model
// (restored from a checkpoint) continues in the middle of its epoch: the batches already used are
// drawn and skipped, so the data order and every augmentation equal an uninterrupted run's.
// When ctx is cancelled Run finishes the step in flight (or abandons a validation), checkpoints
// the completed steps and returns an *InterruptedError.
func (t *Trainer) Run(ctx context.Context, cfg Config, data Data, hooks Hooks) (err error) {
	if hooks.OnEnd != nil {
		defer func() { hooks.OnEnd(err) }()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if !cfg.SkipValidation && !t.Model.Config().HasProbe() {
		return fmt.Errorf("train: validation needs the probe: %w (set SkipValidation)", tfgraph.ErrNoProbe)
	}
	start, err := t.Model.GlobalStep()
	if err != nil {
		return err
	}
	total := int64(cfg.Epochs) * int64(cfg.StepsPerEpoch)
	if hooks.OnStart != nil {
		hooks.OnStart(start, total)
	}
	ck := &checkpointer{cfg: cfg, hooks: hooks, m: t.Model, saved: start, last: time.Now()}
	defer func() {
		switch {
		case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
			err = ck.interrupted(ctx.Err())
		case errors.Is(err, ErrPeerStopped):
			err = ck.interrupted(ErrPeerStopped)
		}
	}()
	for epoch := int(start / int64(cfg.StepsPerEpoch)); epoch < cfg.Epochs; epoch++ {
		skip := 0
		if int64(epoch) == start/int64(cfg.StepsPerEpoch) {
			skip = int(start % int64(cfg.StepsPerEpoch))
		}
		if err := t.runEpoch(ctx, cfg, data, epoch, skip, hooks, ck); err != nil {
			return err
		}
		if err := t.endEpoch(ctx, cfg, data, epoch, hooks); err != nil {
			return err
		}
		if err := ck.save(); err != nil {
			return err
		}
	}
	return nil
}

// endEpoch validates after epoch when cfg says so and reports the epoch's end.
func (t *Trainer) endEpoch(ctx context.Context, cfg Config, data Data, epoch int, hooks Hooks) error {
	end := EpochEnd{Epoch: epoch}
	if cfg.validates(epoch) {
		vctx := ctx
		if t.Workers > 1 {
			// Workers validate in step (each its share of every batch, summed over the
			// workers at the end); one abandoning would leave the others waiting at the sum:
			// finish it, stop at the next step.
			vctx = context.Background()
		}
		var progress func(int)
		if hooks.OnValidationBatch != nil {
			progress = func(b int) { hooks.OnValidationBatch(epoch, b) }
		}
		v, err := t.validate(vctx, data, progress)
		if err != nil {
			return fmt.Errorf("train: epoch %d: validation: %w", epoch+1, err)
		}
		v.Epoch = epoch
		v.GlobalStep, _ = t.Model.GlobalStep()
		if hooks.OnValidation != nil {
			hooks.OnValidation(v)
		}
		end.Validation = &v
	}
	end.GlobalStep, _ = t.Model.GlobalStep()
	if hooks.OnEpochEnd != nil {
		hooks.OnEpochEnd(end)
	}
	return nil
}

// checkpointer writes the loop's checkpoints and knows the last one.
type checkpointer struct {
	cfg   Config
	hooks Hooks
	m     *tfgraph.Model
	saved int64     // global step of the last checkpoint (or of the start)
	path  string    // the last checkpoint written by this loop
	last  time.Time // when it was written (or the loop started)
}

// save checkpoints the model's current step unless it is checkpointed already.
func (c *checkpointer) save() error {
	if c.cfg.CheckpointDir == "" {
		return nil
	}
	step, err := c.m.GlobalStep()
	if err != nil {
		return err
	}
	if step == c.saved && c.path != "" {
		return nil
	}
	p, err := c.m.Save(c.cfg.CheckpointDir, c.cfg.Keep)
	if err != nil {
		return err
	}
	c.saved, c.path, c.last = step, p, time.Now()
	if c.hooks.OnCheckpoint != nil {
		c.hooks.OnCheckpoint(p, step)
	}
	return nil
}

// due reports whether the step-count or time policy asks for a checkpoint after global step g.
func (c *checkpointer) due(g int64) bool {
	return (c.cfg.CheckpointEvery > 0 && g%int64(c.cfg.CheckpointEvery) == 0) ||
		(c.cfg.CheckpointSecs > 0 && time.Since(c.last).Seconds() >= c.cfg.CheckpointSecs)
}

// interrupted checkpoints the completed steps (when they are not yet) and returns the
// *InterruptedError for cause.
func (c *checkpointer) interrupted(cause error) error {
	step, err := c.m.GlobalStep()
	if err != nil {
		return errors.Join(cause, err)
	}
	if c.cfg.CheckpointDir != "" && step > 0 {
		if err := c.save(); err != nil {
			return fmt.Errorf("train: interrupted at step %d, and the checkpoint failed: %w", step, err)
		}
	}
	return &InterruptedError{Step: step, Checkpoint: c.path, Err: cause}
}

func (t *Trainer) runEpoch(ctx context.Context, cfg Config, data Data, epoch, skip int, hooks Hooks, ck *checkpointer) error {
	it, err := data.TrainEpoch(epoch)
	if err != nil {
		return fmt.Errorf("train: epoch %d: %w", epoch+1, err)
	}
	defer it.Close()
	for i := 0; i < skip; i++ {
		if _, err := it.Next(); err != nil {
			return fmt.Errorf("train: epoch %d: skipping to step %d: %w", epoch+1, skip+1, err)
		}
	}
	// The producer augments step i+1 while the session runs step i, then waits to hand it over:
	// the channel is unbuffered, so at most two steps' tensors exist at once (the one running,
	// the one ready). A buffer of one held a third (measured at 500 + 25 images of 96×96×3 per
	// step: 116 MB of views more, peak RSS 4,488 MiB against Keras's 4,172).
	ready := make(chan prepared)
	stop, done := make(chan struct{}), make(chan struct{})
	defer func() {
		// Stop the producer and wait until it has closed what it holds.
		close(stop)
		for p := range ready {
			p.batch.Close()
		}
		<-done
	}()
	first := int64(epoch)*int64(cfg.StepsPerEpoch) + int64(skip)
	go func() {
		defer close(done)
		defer close(ready)
		for s := skip; s < cfg.StepsPerEpoch; s++ {
			b, err := it.Next()
			var p prepared
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("data ran out after %d of %d steps", s, cfg.StepsPerEpoch)
				}
				p = prepared{err: fmt.Errorf("train: epoch %d: %w", epoch+1, err)}
			} else {
				p = t.augmentStep(b, uint64(first+int64(s-skip)))
			}
			select {
			case ready <- p:
			case <-stop:
				p.batch.Close()
				return
			}
			if p.err != nil {
				return
			}
		}
	}()
	last := time.Now()
	for s := skip; s < cfg.StepsPerEpoch; s++ {
		if t.Workers > 1 {
			// Every worker of a data-parallel run takes the same decision.
			// Only the agreed decision counts: a signal arriving after the agreement is
			// taken at the next one (stopping here alone would leave the others' step waiting).
			stop, err := t.Model.AnyStop(ctx.Err() != nil)
			if err != nil {
				return err
			}
			if stop {
				if err := ctx.Err(); err != nil {
					return err
				}
				return ErrPeerStopped
			}
		} else if err := ctx.Err(); err != nil {
			return err
		}
		p, ok := <-ready
		if !ok {
			return fmt.Errorf("train: epoch %d: no batch for step %d", epoch+1, s+1)
		}
		if p.err != nil {
			return p.err
		}
		t0 := time.Now()
		m, err := t.Model.TrainStep(p.batch)
		run := time.Since(t0)
		// The step's input tensors live in TensorFlow's allocator: freed now, the next step's
		// reuse their memory (left to Go's collector, which does not see them, they piled up).
		if cerr := p.batch.Close(); cerr != nil && err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("train: epoch %d step %d: %w", epoch+1, s+1, err)
		}
		global := first + int64(s-skip) + 1
		for _, v := range []struct {
			name string
			x    float64
		}{{"contrastive loss", m.CLoss}, {"probe loss", m.PLoss}} { // PLoss is 0 without a probe
			if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
				return fmt.Errorf("train: epoch %d step %d (global step %d): %s is %v: %w", epoch+1, s+1, global, v.name, v.x, ErrNonFinite)
			}
		}
		if len(m.NonFinite) > 0 {
			return fmt.Errorf("train: epoch %d step %d (global step %d): NaN or Inf in %s after the update: %w", epoch+1, s+1, global, strings.Join(m.NonFinite, ", "), ErrNonFinite)
		}
		now := time.Now()
		if hooks.OnStep != nil {
			hooks.OnStep(StepInfo{Epoch: epoch, Step: s + 1, GlobalStep: global, Metrics: m, Images: p.n,
				Duration: now.Sub(last), SessionRunTime: run})
		}
		last = now
		if s+1 < cfg.StepsPerEpoch && ck.due(global) {
			if err := ck.save(); err != nil {
				return err
			}
		}
	}
	return nil
}

// Validate evaluates the probe on data's test batches (the whole test split, or the subset the
// source gives) with the evaluation augmenter (÷255), as the example's test step does: the loss
// is the mean of the batch losses, the accuracy the fraction of correct examples. With Workers >
// 1 every worker takes part: each evaluates its share of every batch (share), and the losses and
// counts are summed over the workers (tfgraph.Model.SumOverWorkers), so that every worker
// returns the whole batches' figures, equal to one process's up to float32 rounding of the
// losses; a worker waits at the sum only for the others' lag, not for the validation's time.
func (t *Trainer) Validate(data Data) (Validation, error) {
	return t.validate(context.Background(), data, nil)
}

// validate is Validate, abandoned between batches when ctx is cancelled; progress, when not
// nil, is told the batches done after each one.
func (t *Trainer) validate(ctx context.Context, data Data, progress func(batches int)) (Validation, error) {
	it, err := data.Test()
	if err != nil {
		return Validation{}, err
	}
	defer it.Close()
	var losses []float64 // per batch: its mean loss (one process) or this worker's share's sum
	var sizes []int
	correct := 0
	for {
		if err := ctx.Err(); err != nil {
			return Validation{}, err
		}
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Validation{}, err
		}
		im, labels := t.share(b)
		l, c, err := t.testBatch(im, labels)
		if err != nil {
			return Validation{}, err
		}
		if t.Workers > 1 {
			l *= float64(im.N)
		}
		losses, sizes, correct = append(losses, l), append(sizes, b.Images.N), correct+c
		if progress != nil {
			progress(len(losses))
		}
	}
	return t.validation(losses, sizes, correct)
}

// share returns this worker's share of a test batch: images [Task·n/Workers,
// (Task+1)·n/Workers) of its n (all of them in one process; none when n < Workers leaves it
// without).
func (t *Trainer) share(b TestBatch) (augment.Images, []int64) {
	if t.Workers <= 1 {
		return b.Images, b.Labels
	}
	im, n := b.Images, b.Images.N
	lo, hi := t.Task*n/t.Workers, (t.Task+1)*n/t.Workers
	per := im.H * im.W * im.C
	return augment.Images{Pix: im.Pix[lo*per : hi*per], N: hi - lo, H: im.H, W: im.W, C: im.C}, b.Labels[lo:hi]
}

// testBatch runs the test step on im with labels: the mean loss and the correct count (0 and 0
// for no images).
func (t *Trainer) testBatch(im augment.Images, labels []int64) (float64, int, error) {
	if im.N == 0 {
		return 0, 0, nil
	}
	cfg := t.Model.Config()
	x, err := tfrun.NewFloatTensor([]int64{int64(im.N), int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)},
		func(dst []float32) error { return t.Eval.Apply(dst, im, 0, 0) })
	if err != nil {
		return 0, 0, err
	}
	y, err := tfrun.NewInt64Tensor(labels)
	if err != nil {
		tfrun.Close(x)
		return 0, 0, err
	}
	l, c, err := t.Model.TestStep(x, y)
	if cerr := tfrun.Close(x, y); err == nil {
		err = cerr
	}
	return l, c, err
}

// validation makes the figures of the batches' losses (means, or with Workers > 1 this
// worker's sums, then summed over the workers with the correct count), sizes and correct count.
func (t *Trainer) validation(losses []float64, sizes []int, correct int) (Validation, error) {
	if t.Workers > 1 {
		sum, err := t.Model.SumOverWorkers(append(losses, float64(correct)))
		if err != nil {
			return Validation{}, err
		}
		losses, correct = sum[:len(losses)], int(sum[len(losses)])
		for i, n := range sizes {
			losses[i] /= float64(n)
		}
	}
	var v Validation
	for i, n := range sizes {
		v.Loss += losses[i]
		v.Examples += n
	}
	if v.Examples == 0 {
		return v, errors.New("train: the test split gave no batch")
	}
	v.Loss /= float64(len(sizes)) // Keras's Mean metric: the mean of the batch means
	v.Acc = float64(correct) / float64(v.Examples)
	return v, nil
}
