package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

func testData() *MemData {
	r := rand.New(rand.NewPCG(3, 4))
	img := func(n int) []uint8 {
		b := make([]uint8, n*32*32*3)
		for i := range b {
			b[i] = uint8(r.IntN(256))
		}
		return b
	}
	labels := func(n int) []int64 {
		l := make([]int64, n)
		for i := range l {
			l[i] = int64(r.IntN(4))
		}
		return l
	}
	return &MemData{H: 32, W: 32, C: 3, Unlabelled: img(30), Labelled: img(12), Labels: labels(12),
		TestImages: img(10), TestLabels: labels(10), UnlabelledBatch: 10, LabelledBatch: 4, TestBatch: 4, Seed: 5}
}

func newTrainer(t *testing.T, seed uint64) *Trainer {
	t.Helper()
	cfg := tfgraph.DefaultModelConfig()
	cfg.Height, cfg.Width, cfg.Channels, cfg.ModelWidth, cfg.QueueSize, cfg.NumClasses = 32, 32, 3, 8, 28, 4
	m, err := tfgraph.NewModel(cfg, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Init(seed); err != nil {
		t.Fatal(err)
	}
	mk := func(c augment.Config) *augment.Augmenter {
		a, err := augment.New(c, seed)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	return &Trainer{Model: m, Contrastive: mk(augment.ContrastiveConfig(32, 32)),
		Classification: mk(augment.ClassificationConfig(32, 32)), Eval: mk(augment.EvalConfig(32, 32))}
}

func allWeights(t *testing.T, m *tfgraph.Model) map[string]tfrun.Array {
	t.Helper()
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestInterruptedRunResumesExactly stops a run after 4 of 6 steps (cancelling in a hook, with a
// checkpoint every step), resumes it in a fresh trainer from the latest checkpoint and compares
// every variable with an uninterrupted run of the same seed: bit-identical.
func TestInterruptedRunResumesExactly(t *testing.T) {
	cfg := Config{Epochs: 2, StepsPerEpoch: 3, Keep: 2}
	full := newTrainer(t, 11)
	var steps []StepInfo
	var vals []Validation
	if err := full.Run(context.Background(), cfg, testData(), Hooks{
		OnStep:       func(s StepInfo) { steps = append(steps, s) },
		OnValidation: func(v Validation) { vals = append(vals, v) },
	}); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 6 || steps[5].GlobalStep != 6 || steps[5].Epoch != 1 || steps[5].Step != 3 || steps[0].Images != 14 {
		t.Fatalf("steps reported: %+v", steps)
	}
	if len(vals) != 2 || vals[0].Examples != 10 || vals[1].GlobalStep != 6 {
		t.Fatalf("validations reported: %+v", vals)
	}

	dir := t.TempDir()
	ccfg := cfg
	ccfg.CheckpointDir, ccfg.CheckpointEvery = dir, 1
	ctx, cancel := context.WithCancel(context.Background())
	first := newTrainer(t, 11)
	err := first.Run(ctx, ccfg, testData(), Hooks{OnStep: func(s StepInfo) {
		if s.GlobalStep == 4 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	latest, err := tfgraph.LatestCheckpoint(dir)
	if err != nil || filepath.Base(latest) != "ckpt-4" {
		t.Fatalf("latest %s, %v; want ckpt-4", latest, err)
	}
	resumed := newTrainer(t, 11)
	if err := resumed.Model.Restore(latest); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Run(context.Background(), ccfg, testData(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	a, b := allWeights(t, full.Model), allWeights(t, resumed.Model)
	for name, wa := range a {
		if !slices.Equal(wa.Float, b[name].Float) || !slices.Equal(wa.Int, b[name].Int) {
			t.Errorf("variable %s differs after resume", name)
		}
	}
}

// TestNonFiniteStops: a weight made NaN after the step-2 checkpoint stops the run at global step 3
// with ErrNonFinite, naming the step and what went non-finite, and the last good checkpoint stays
// the latest. The projection head's last bias makes the loss NaN (no ReLU follows it); an encoder
// bias does not reach the loss (a ReLU fused into its matmul, as Grappler fuses them, maps NaN to
// 0), so the check of the weights after the update catches it.
func TestNonFiniteStops(t *testing.T) {
	for _, c := range []struct{ weight, want string }{
		{"head/dense1/bias", "contrastive loss is NaN"},
		{"enc/dense/bias", "NaN or Inf in enc/dense/bias after the update"},
		{"enc/conv0/kernel", "NaN or Inf in enc/conv0/kernel after the update"},
	} {
		t.Run(c.weight, func(t *testing.T) {
			dir := t.TempDir()
			tr := newTrainer(t, 2)
			cfg := Config{Epochs: 3, StepsPerEpoch: 2, CheckpointDir: dir, SkipValidation: true}
			poisoned := false
			err := tr.Run(context.Background(), cfg, testData(), Hooks{OnCheckpoint: func(p string, step int64) {
				if poisoned {
					return
				}
				poisoned = true
				w, err := tr.Model.Weights(c.weight)
				if err != nil {
					t.Fatal(err)
				}
				k := w[c.weight]
				k.Float[0] = float32(math.NaN())
				if err := tr.Model.SetWeights(map[string]tfrun.Array{c.weight: k}); err != nil {
					t.Fatal(err)
				}
			}})
			if !errors.Is(err, ErrNonFinite) || !strings.Contains(err.Error(), "global step 3") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrNonFinite at global step 3 saying %q", err, c.want)
			}
			latest, err := tfgraph.LatestCheckpoint(dir)
			if err != nil || filepath.Base(latest) != "ckpt-2" {
				t.Fatalf("latest %s, %v; want ckpt-2", latest, err)
			}
		})
	}
}

func TestDataRunsOut(t *testing.T) {
	tr := newTrainer(t, 2)
	err := tr.Run(context.Background(), Config{Epochs: 1, StepsPerEpoch: 4, SkipValidation: true}, testData(), Hooks{})
	if err == nil || !strings.Contains(err.Error(), "data ran out after 3 of 4 steps") {
		t.Fatalf("err = %v", err)
	}
}

// TestStepViews: the views tensor of a step holds view 1 of the unlabelled then the labelled
// images (stream 0 of Contrastive), then view 2 (stream 1), made by Contrastive2 when it is set;
// the probe view is stream 2 of Classification.
func TestStepViews(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	img := func(n int) augment.Images {
		p := make([]uint8, n*32*32*3)
		for i := range p {
			p[i] = uint8(r.IntN(256))
		}
		return augment.Images{Pix: p, N: n, H: 32, W: 32, C: 3}
	}
	b := Batch{Unlabelled: img(5), Labelled: img(3), Labels: []int64{0, 1, 2}}
	all := augment.Images{Pix: slices.Concat(b.Unlabelled.Pix, b.Labelled.Pix), N: 8, H: 32, W: 32, C: 3}
	second := augment.ContrastiveConfig(32, 32)
	second.BlurProb, second.BlurSigmaLo, second.BlurSigmaHi, second.SolarizeProb = 1, 1, 2, 0.5
	for _, twoAugmenters := range []bool{false, true} {
		tr := newTrainer(t, 6)
		want2 := tr.Contrastive
		if twoAugmenters {
			a, err := augment.New(second, 6)
			if err != nil {
				t.Fatal(err)
			}
			tr.Contrastive2, want2 = a, a
		}
		const step = 7
		p := tr.augmentStep(b, step)
		if p.err != nil {
			t.Fatal(p.err)
		}
		got, err := tfrun.Float32s(p.batch.Views)
		if err != nil {
			t.Fatal(err)
		}
		half := tr.Contrastive.OutputLen(8, 3)
		want := make([]float32, 2*half)
		if err := tr.Contrastive.Apply(want[:half], all, 0, step); err != nil {
			t.Fatal(err)
		}
		if err := want2.Apply(want[half:], all, 1, step); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("two augmenters %v: views differ from view 1 by Contrastive and view 2 by the second view's augmenter", twoAugmenters)
		}
		probe, err := tfrun.Float32s(p.batch.ProbeX)
		if err != nil {
			t.Fatal(err)
		}
		wantProbe := make([]float32, tr.Classification.OutputLen(3, 3))
		if err := tr.Classification.Apply(wantProbe, b.Labelled, 2, step); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(probe, wantProbe) {
			t.Errorf("two augmenters %v: probe view differs from stream 2 of Classification", twoAugmenters)
		}
	}
}

// TestInterruptCheckpointsCompletedSteps: cancelling the context mid-epoch, with checkpoints at
// epoch ends only, still checkpoints every completed step (an *InterruptedError says which), and
// the run resumed from it ends bit-identical to an uninterrupted one.
func TestInterruptCheckpointsCompletedSteps(t *testing.T) {
	cfg := Config{Epochs: 2, StepsPerEpoch: 3, SkipValidation: true}
	full := newTrainer(t, 13)
	if err := full.Run(context.Background(), cfg, testData(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg.CheckpointDir = dir
	ctx, cancel := context.WithCancel(context.Background())
	first := newTrainer(t, 13)
	err := first.Run(ctx, cfg, testData(), Hooks{OnStep: func(s StepInfo) {
		if s.GlobalStep == 2 {
			cancel()
		}
	}})
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.Step != 2 || filepath.Base(ie.Checkpoint) != "ckpt-2" {
		t.Fatalf("interrupted run: %v", err)
	}
	latest, err := tfgraph.LatestCheckpoint(dir)
	if err != nil || latest != ie.Checkpoint {
		t.Fatalf("latest %s, %v; want %s", latest, err, ie.Checkpoint)
	}
	resumed := newTrainer(t, 13)
	if err := resumed.Model.Restore(latest); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Run(context.Background(), cfg, testData(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	a, b := allWeights(t, full.Model), allWeights(t, resumed.Model)
	for name, wa := range a {
		if !slices.Equal(wa.Float, b[name].Float) || !slices.Equal(wa.Int, b[name].Int) {
			t.Errorf("variable %s differs after the interrupted run resumed", name)
		}
	}
}

// TestCheckpointSecs: with a time policy shorter than a step every step is checkpointed; with a
// long one only the epoch ends are.
func TestCheckpointSecs(t *testing.T) {
	for _, c := range []struct {
		secs float64
		want []int64
	}{{1e-9, []int64{1, 2, 3, 4}}, {3600, []int64{2, 4}}} {
		var saved []int64
		cfg := Config{Epochs: 2, StepsPerEpoch: 2, SkipValidation: true, CheckpointDir: t.TempDir(), CheckpointSecs: c.secs}
		if err := newTrainer(t, 3).Run(context.Background(), cfg, testData(), Hooks{OnCheckpoint: func(_ string, step int64) {
			saved = append(saved, step)
		}}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(saved, c.want) {
			t.Errorf("checkpoint secs %v: checkpoints at %v, want %v", c.secs, saved, c.want)
		}
	}
	if err := (Config{Epochs: 1, StepsPerEpoch: 1, CheckpointSecs: -1}).Validate(); err == nil {
		t.Error("negative checkpoint secs accepted")
	}
}

// TestWorkerSlice: a data-parallel worker's step holds exactly its rows of the one-process step:
// views of its unlabelled and labelled slices with the draws of their places in the global
// batch, its labelled slice's probe view and labels.
func TestWorkerSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 10))
	img := func(n int) augment.Images {
		p := make([]uint8, n*32*32*3)
		for i := range p {
			p[i] = uint8(r.IntN(256))
		}
		return augment.Images{Pix: p, N: n, H: 32, W: 32, C: 3}
	}
	b := Batch{Unlabelled: img(6), Labelled: img(4), Labels: []int64{0, 1, 2, 3}}
	one := newTrainer(t, 6)
	all := one.augmentStep(b, 5)
	if all.err != nil {
		t.Fatal(all.err)
	}
	views, _ := tfrun.Float32s(all.batch.Views)
	probe, _ := tfrun.Float32s(all.batch.ProbeX)
	per := 32 * 32 * 3
	rowsOf := func(x []float32, rows ...int) []float32 {
		var out []float32
		for _, i := range rows {
			out = append(out, x[i*per:(i+1)*per]...)
		}
		return out
	}
	for task := range 2 {
		w := newTrainer(t, 6)
		w.Workers, w.Task = 2, task
		p := w.augmentStep(b, 5)
		if p.err != nil {
			t.Fatal(p.err)
		}
		rows := []int{3 * task, 3*task + 1, 3*task + 2, 6 + 2*task, 6 + 2*task + 1}
		view2 := make([]int, len(rows))
		for i, r := range rows {
			view2[i] = 10 + r
		}
		got, _ := tfrun.Float32s(p.batch.Views)
		if want := append(rowsOf(views, rows...), rowsOf(views, view2...)...); !slices.Equal(got, want) {
			t.Errorf("task %d: views differ from its rows of the one-process step", task)
		}
		gp, _ := tfrun.Float32s(p.batch.ProbeX)
		if !slices.Equal(gp, rowsOf(probe, 2*task, 2*task+1)) {
			t.Errorf("task %d: probe view differs", task)
		}
		if y := p.batch.ProbeY.Value().([]int64); !slices.Equal(y, b.Labels[2*task:2*task+2]) {
			t.Errorf("task %d: labels %v", task, y)
		}
	}
}

// TestTensorsClosed: every tensor the loop makes (the steps' views, probe views and labels, the
// validation batches, the fetched metrics and checkpoint reads) is closed exactly once, in a
// whole run with validation and checkpoints and in a run interrupted while the producer holds a
// prepared step: tfrun's count of open tensors is back where it started, and no tensor was closed
// twice (TrainStep's Close error would fail the run).
func TestTensorsClosed(t *testing.T) {
	tr := newTrainer(t, 17)
	before := tfrun.OpenTensors()
	cfg := Config{Epochs: 2, StepsPerEpoch: 3, CheckpointDir: t.TempDir(), CheckpointEvery: 2}
	if err := tr.Run(context.Background(), cfg, testData(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	if open := tfrun.OpenTensors(); open != before {
		t.Errorf("after a whole run %d tensors are open, %d before", open, before)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Epochs = 4
	err := tr.Run(ctx, cfg, testData(), Hooks{OnStep: func(s StepInfo) {
		if s.GlobalStep == 8 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if open := tfrun.OpenTensors(); open != before {
		t.Errorf("after an interrupted run %d tensors are open, %d before", open, before)
	}
}

// TestValidateEvery: with ValidateEvery 2 over 3 epochs the loop validates after epoch 2 only
// (OnValidation once, OnValidationBatch for each of its 3 test batches, OnEpochEnd after every
// epoch with the validation only at epoch 2), and that validation equals Validate on the same
// weights; a negative ValidateEvery is refused naming val_every.
func TestValidateEvery(t *testing.T) {
	tr := newTrainer(t, 11)
	var vals []Validation
	var ends []EpochEnd
	var batches []int
	cfg := Config{Epochs: 3, StepsPerEpoch: 2, ValidateEvery: 2}
	var atEpoch2 Validation
	err := tr.Run(context.Background(), cfg, testData(), Hooks{
		OnValidation:      func(v Validation) { vals = append(vals, v) },
		OnValidationBatch: func(epoch, b int) { batches = append(batches, epoch*10+b) },
		OnEpochEnd: func(e EpochEnd) {
			ends = append(ends, e)
			if e.Epoch == 1 {
				var err error
				if atEpoch2, err = tr.Validate(testData()); err != nil {
					t.Error(err)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vals) != 1 || vals[0].Epoch != 1 || vals[0].GlobalStep != 4 || vals[0].Examples != 10 {
		t.Fatalf("validations: %+v, want one after epoch 2 (step 4) on 10 examples", vals)
	}
	if !slices.Equal(batches, []int{11, 12, 13}) {
		t.Errorf("validation batches reported (epoch·10 + batch): %v, want 11 12 13", batches)
	}
	if len(ends) != 3 {
		t.Fatalf("epoch ends: %+v", ends)
	}
	for i, e := range ends {
		if e.Epoch != i || e.GlobalStep != int64(2*(i+1)) || (e.Validation != nil) != (i == 1) {
			t.Errorf("epoch end %d: %+v", i, e)
		}
	}
	if *ends[1].Validation != vals[0] || atEpoch2.Loss != vals[0].Loss || atEpoch2.Acc != vals[0].Acc {
		t.Errorf("the loop's validation %+v, Validate on the same weights %+v", vals[0], atEpoch2)
	}
	err = Config{Epochs: 1, StepsPerEpoch: 1, ValidateEvery: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "val_every -1: want >= 0") {
		t.Errorf("negative ValidateEvery: %v", err)
	}
}
