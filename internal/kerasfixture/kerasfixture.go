// Package kerasfixture makes, once per test binary, the Python-trained NNCLR SavedModels that
// the SavedModel, embedding and CLI tests load (savedmodel/testdata/keras_fixture.py, run with
// the pinned Python environment), and a tfds dataset "fixture" of the same images. It is for
// tests only.
package kerasfixture

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/loader"
)

// The fixture's sizes: 40×40×3 images, encoder width 16, seed 3.
const (
	Size, Channels, Width = 40, 3, 16
	Images                = 10
)

// Fixture is where the models and the dataset are.
type Fixture struct {
	Dir      string               // tfsm/ (tf.saved_model.save), export/ (Keras model.export)
	DataDir  string               // tfds data dir holding "fixture" (train and test: the same 10 images)
	Expected map[string]npy.Array // expected.npz: x, embedding, projection and the weights
}

var (
	once    sync.Once
	fixture Fixture
	err     error
)

// Get returns the fixture, making it on first use; a failure fails the test.
func Get(t testing.TB) Fixture {
	t.Helper()
	once.Do(func() { fixture, err = build(t) })
	if err != nil {
		t.Fatal(err)
	}
	return fixture
}

// Remove deletes the fixture's files; call it from TestMain after m.Run.
func Remove() {
	if fixture.Dir != "" {
		os.RemoveAll(fixture.Dir)
	}
}

func build(t testing.TB) (Fixture, error) {
	dir, err := os.MkdirTemp("", "nnclr-keras-fixture")
	if err != nil {
		return Fixture{}, err
	}
	_, self, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(self), "..", "..", "savedmodel", "testdata", "keras_fixture.py")
	testpy.Run(t, script, dir, "40", "40", "3", "16", "3")
	exp, err := npy.ReadNPZ(filepath.Join(dir, "expected.npz"))
	if err != nil {
		return Fixture{}, err
	}
	x := exp["x"]
	labels := make([]int64, x.Shape[0])
	for i := range labels {
		labels[i] = int64(i % 10)
	}
	dataDir := filepath.Join(dir, "tfds")
	shape := loader.Shape{Height: Size, Width: Size, Channels: Channels}
	w, err := loader.NewWriter(dataDir, loader.DatasetSpec{Name: "fixture", Version: "1.0.0", Shape: shape, NumClasses: 10}, loader.WriterOptions{})
	if err != nil {
		return Fixture{}, err
	}
	src := &loader.MemorySource{Images: x.Data.([]uint8), Labels: labels, Shp: shape}
	for _, s := range []string{"train", "test"} {
		if err := w.WriteSplit(s, src); err != nil {
			return Fixture{}, err
		}
	}
	if err := w.Close(); err != nil {
		return Fixture{}, err
	}
	return Fixture{Dir: dir, DataDir: dataDir, Expected: exp}, nil
}
