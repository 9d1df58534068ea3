package tfgraph

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

// noProbeBatch is step i's input for a model without a probe: the views of stepBatch alone (of
// a labelled model's batch: the same views).
func noProbeBatch(t *testing.T, cfg ModelConfig, i int) Batch {
	cfg.NumClasses = 4
	b := stepBatch(t, cfg, i)
	tfrun.Close(b.ProbeX, b.ProbeY)
	return Batch{Views: b.Views}
}

// TestNoProbeModelEqualsContrastivePart: a model without a probe (NumClasses 0) has the labelled
// model's variables less the probe's and its Adam's, in the same order; the same seed
// initialises them to the same values (Init's streams are kept); and its train step is the
// labelled model's contrastive step: after three steps on the same views every shared variable
// (encoder, head, contrastive Adam, queue, step) and the contrastive metrics are equal bit for
// bit, and its Forward gives the same features and projections with no logits.
func TestNoProbeModelEqualsContrastivePart(t *testing.T) {
	lab := smallConfig()
	unl := lab
	unl.NumClasses = 0
	a, b := newInitModel(t, lab, 5), newInitModel(t, unl, 5)
	var shared []string
	for _, n := range a.VarNames() {
		if !strings.HasPrefix(n, "probe/") && !strings.HasPrefix(n, "adam_p/") {
			shared = append(shared, n)
		}
	}
	if got := b.VarNames(); !slices.Equal(got, shared) {
		t.Fatalf("variables without a probe:\n%v\nwant the labelled model's less probe/ and adam_p/:\n%v", got, shared)
	}
	equalShared := func(when string) {
		t.Helper()
		wa, err := a.Weights(shared...)
		if err != nil {
			t.Fatal(err)
		}
		wb, err := b.Weights(shared...)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range shared {
			if !slices.Equal(wa[n].Float, wb[n].Float) || !slices.Equal(wa[n].Int, wb[n].Int) {
				t.Errorf("%s: variable %s differs from the labelled model's", when, n)
			}
		}
	}
	equalShared("after Init")
	for i := range 3 {
		ma, err := a.TrainStep(stepBatch(t, lab, i))
		if err != nil {
			t.Fatal(err)
		}
		mb, err := b.TrainStep(noProbeBatch(t, unl, i))
		if err != nil {
			t.Fatal(err)
		}
		if mb.CLoss != ma.CLoss || mb.CAcc != ma.CAcc || mb.RAcc != ma.RAcc || mb.Probe || !ma.Probe || mb.PLoss != 0 || mb.PAcc != 0 {
			t.Errorf("step %d: metrics without a probe %+v, labelled %+v", i+1, mb, ma)
		}
	}
	equalShared("after 3 steps")
	if s, _ := b.GlobalStep(); s != 3 {
		t.Errorf("global step %d after 3 steps", s)
	}
	x := randTensor(t, rand.New(rand.NewPCG(3, 3)), 5, 32, 32, 3)
	defer tfrun.Close(x)
	fa, pa, la, err := a.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	fb, pb, lb, err := b.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fa, fb) || !slices.Equal(pa, pb) || lb != nil || len(la) != 5*lab.NumClasses {
		t.Errorf("Forward without a probe: features equal %v, projections equal %v, %d logits (labelled %d)",
			slices.Equal(fa, fb), slices.Equal(pa, pb), len(lb), len(la))
	}
}

// TestNoProbeModelRefuses: a model without a probe refuses probe tensors in a batch, has no test
// step (ErrNoProbe), and num_classes 1 or below 0 is no model.
func TestNoProbeModelRefuses(t *testing.T) {
	cfg := smallConfig()
	cfg.NumClasses = 0
	m := newInitModel(t, cfg, 1)
	b := stepBatch(t, smallConfig(), 0)
	defer b.Close()
	if _, err := m.TrainStep(b); err == nil || !strings.Contains(err.Error(), "a ProbeX or ProbeY for a model without a probe") {
		t.Errorf("TrainStep with probe tensors: %v", err)
	}
	if _, _, err := m.TestStep(b.ProbeX, b.ProbeY); !errors.Is(err, ErrNoProbe) {
		t.Errorf("TestStep: %v, want ErrNoProbe", err)
	}
	if s, _ := m.GlobalStep(); s != 0 {
		t.Errorf("global step %d after refused calls", s)
	}
	for _, k := range []int{1, -1} {
		c := cfg
		c.NumClasses = k
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "or 0 for a model without a probe") {
			t.Errorf("num_classes %d: %v", k, err)
		}
	}
}

// TestNoProbeCheckpoint: a model without a probe saves and restores bit for bit (a resumed
// model finishes equal to an uninterrupted one), ModelFromCheckpoint reads NumClasses 0 from its
// checkpoint (and the class count from a labelled one), and a labelled model refuses the
// checkpoint, naming the probe's variable.
func TestNoProbeCheckpoint(t *testing.T) {
	cfg := smallConfig()
	cfg.NumClasses = 0
	step := func(m *Model, from, to int) {
		for i := from; i < to; i++ {
			if _, err := m.TrainStep(noProbeBatch(t, cfg, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	full := newInitModel(t, cfg, 8)
	step(full, 0, 4)
	dir := t.TempDir()
	first := newInitModel(t, cfg, 8)
	step(first, 0, 2)
	p, err := first.Save(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	resumed := newInitModel(t, cfg, 999)
	if err := resumed.Restore(p); err != nil {
		t.Fatal(err)
	}
	step(resumed, 2, 4)
	sameWeights(t, full, resumed)

	got, err := ModelFromCheckpoint(DefaultModelConfig(), p)
	if err != nil || got.NumClasses != 0 || got.HasProbe() || got.Channels != 3 || got.ModelWidth != cfg.ModelWidth {
		t.Errorf("ModelFromCheckpoint without a probe: %+v, %v", got, err)
	}
	lab := newInitModel(t, smallConfig(), 8)
	lp, err := lab.Save(filepath.Join(t.TempDir(), "lab"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ModelFromCheckpoint(DefaultModelConfig(), lp); err != nil || got.NumClasses != 4 {
		t.Errorf("ModelFromCheckpoint of a labelled checkpoint: %d classes, %v", got.NumClasses, err)
	}
	if err := lab.Restore(p); err == nil || !strings.Contains(err.Error(), "probe/kernel") {
		t.Errorf("a labelled model restoring a checkpoint without a probe: %v", err)
	}
	if _, err := ModelFromCheckpoint(DefaultModelConfig(), filepath.Join(dir, "ckpt-77")); err == nil || !strings.Contains(err.Error(), "ckpt-77") {
		t.Errorf("a missing checkpoint: %v", err)
	}
	if _, err := tfrun.CheckpointHas(filepath.Join(dir, "nothing"), "probe/kernel"); err == nil || !strings.Contains(err.Error(), "nothing") {
		t.Errorf("CheckpointHas of a missing checkpoint: %v", err)
	}
}
