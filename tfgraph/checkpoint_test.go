package tfgraph

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/tfrun"
)

// stepBatch is the deterministic input of step i.
func stepBatch(t *testing.T, cfg ModelConfig, i int) Batch {
	r := rand.New(rand.NewPCG(99, uint64(i)))
	h, w, c := int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)
	return Batch{Views: randTensor(t, r, 16, h, w, c),
		ProbeX: randTensor(t, r, 4, h, w, c), ProbeY: labelTensor(t, r, 4, cfg.NumClasses)}
}

func newInitModel(t testing.TB, cfg ModelConfig, seed uint64) *Model {
	t.Helper()
	return newInitModelIn(t, cfg, tfrun.DefaultSessionConfig(), seed)
}

// newInitModelIn is newInitModel in a session of sc.
func newInitModelIn(t testing.TB, cfg ModelConfig, sc tfrun.SessionConfig, seed uint64) *Model {
	t.Helper()
	m, err := NewModel(cfg, sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Init(seed); err != nil {
		t.Fatal(err)
	}
	return m
}

func train(t *testing.T, m *Model, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if _, err := m.TrainStep(stepBatch(t, m.Config(), i)); err != nil {
			t.Fatal(err)
		}
	}
}

func sameWeights(t *testing.T, a, b *Model) {
	t.Helper()
	wa, err := a.Weights()
	if err != nil {
		t.Fatal(err)
	}
	wb, err := b.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range a.VarNames() {
		if !slices.Equal(wa[n].Float, wb[n].Float) || !slices.Equal(wa[n].Int, wb[n].Int) {
			t.Errorf("variable %s differs", n)
		}
	}
}

// TestResumeIsBitIdentical interrupts a run after k steps (in-process), restores a fresh model
// from the checkpoint and finishes: every variable equals the uninterrupted run's bit for bit.
func TestResumeIsBitIdentical(t *testing.T) {
	cfg := smallConfig()
	const k, n = 2, 5
	full := newInitModel(t, cfg, 7)
	train(t, full, 0, n)

	dir := t.TempDir()
	first := newInitModel(t, cfg, 7)
	train(t, first, 0, k)
	if _, err := first.Save(dir, 3); err != nil {
		t.Fatal(err)
	}
	first.Close()

	resumed := newInitModel(t, cfg, 12345) // other initial values, all overwritten by Restore
	latest, err := LatestCheckpoint(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(latest) != "ckpt-2" {
		t.Fatalf("latest checkpoint %s, want ckpt-2", latest)
	}
	if err := resumed.Restore(latest); err != nil {
		t.Fatal(err)
	}
	if s, _ := resumed.GlobalStep(); s != k {
		t.Fatalf("restored global step %d, want %d", s, k)
	}
	train(t, resumed, k, n)
	sameWeights(t, full, resumed)

	// The check can fail: one more step on one side changes the weights.
	train(t, resumed, n, n+1)
	wa, _ := full.Weights("enc/conv0/kernel")
	wb, _ := resumed.Weights("enc/conv0/kernel")
	if slices.Equal(wa["enc/conv0/kernel"].Float, wb["enc/conv0/kernel"].Float) {
		t.Fatal("an extra step left the weights unchanged")
	}
}

func TestCheckpointKeepAndAtomicity(t *testing.T) {
	cfg := smallConfig()
	m := newInitModel(t, cfg, 1)
	dir := t.TempDir()
	for i := 0; i < 4; i++ {
		train(t, m, i, i+1)
		if _, err := m.Save(dir, 2); err != nil {
			t.Fatal(err)
		}
	}
	all, err := listCheckpoints(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(all, []string{"ckpt-3", "ckpt-4"}) {
		t.Fatalf("kept %v, want [ckpt-3 ckpt-4]", all)
	}
	for _, gone := range []string{"ckpt-1", "ckpt-2"} {
		if _, err := os.Stat(filepath.Join(dir, gone+".index")); !os.IsNotExist(err) {
			t.Errorf("%s not removed", gone)
		}
	}
	// A crash in the middle of the next save: its temporary bundle exists, the state file does not
	// name it. The latest stays ckpt-4 and restores.
	for _, s := range []string{".index", ".data-00000-of-00001"} {
		if err := os.WriteFile(filepath.Join(dir, ".ckpt-5.tmp1"+s), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	latest, err := LatestCheckpoint(dir)
	if err != nil || filepath.Base(latest) != "ckpt-4" {
		t.Fatalf("latest = %s, %v; want ckpt-4", latest, err)
	}
	if err := m.Restore(latest); err != nil {
		t.Fatal(err)
	}
	if _, err := LatestCheckpoint(t.TempDir()); !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestRestoreWrongShape(t *testing.T) {
	cfg := smallConfig()
	m := newInitModel(t, cfg, 1)
	dir := t.TempDir()
	p, err := m.Save(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.ModelWidth = 8
	o := newInitModel(t, other, 1)
	before, _ := o.Weights("enc/conv0/kernel")
	err = o.Restore(p)
	if !errors.Is(err, ErrShape) || !strings.Contains(err.Error(), "enc/conv0/kernel") ||
		!strings.Contains(err.Error(), "checkpoint has [3 3 3 16], model expects [3 3 3 8]") {
		t.Fatalf("err = %v", err)
	}
	after, _ := o.Weights("enc/conv0/kernel")
	if !slices.Equal(before["enc/conv0/kernel"].Float, after["enc/conv0/kernel"].Float) {
		t.Fatal("a failed restore changed a variable")
	}
	if err := o.Restore(filepath.Join(dir, "nope")); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("missing checkpoint: %v", err)
	}
}

// TestCheckpointReadByTensorFlow: TensorFlow's own tf.train.latest_checkpoint finds the latest
// of Go's checkpoints and tf.train.load_checkpoint reads every variable of it with the values the
// Go model holds, bit for bit, and no other variable.
func TestCheckpointReadByTensorFlow(t *testing.T) {
	cfg := smallConfig()
	m := newInitModel(t, cfg, 5)
	dir := t.TempDir()
	train(t, m, 0, 1)
	if _, err := m.Save(dir, 0); err != nil {
		t.Fatal(err)
	}
	train(t, m, 1, 2)
	if _, err := m.Save(dir, 0); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "ckpt.npz")
	testpy.Run(t, "testdata/read_checkpoint.py", dir, out)
	got, err := npy.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	if latest := string(got["__latest__"].Data.([]uint8)); latest != "ckpt-2" {
		t.Errorf("tf.train.latest_checkpoint found %s, want ckpt-2", latest)
	}
	want, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+1 {
		t.Errorf("TensorFlow read %d variables, the model has %d", len(got)-1, len(want))
	}
	for name, w := range want {
		a, ok := got[name]
		if !ok {
			t.Errorf("TensorFlow did not find %s", name)
			continue
		}
		var same bool
		switch v := a.Data.(type) {
		case []float32:
			same = slices.Equal(v, w.Float) && slices.Equal(toInt64(a.Shape), w.Shape)
		case []int64:
			same = slices.Equal(v, w.Int)
		}
		if !same {
			t.Errorf("%s: TensorFlow read another value or shape (%v) than the model holds (%v)", name, a.Shape, w.Shape)
		}
	}
}

func toInt64(s []int) []int64 {
	out := make([]int64, len(s))
	for i, d := range s {
		out[i] = int64(d)
	}
	return out
}
