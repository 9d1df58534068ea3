package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
)

// kerasFixture holds the Python-trained models made once per test binary by
// savedmodel/testdata/keras_fixture.py, and a tfds dataset of the same images.
type kerasFixture struct {
	dir, dataDir string
	expected     map[string]npy.Array
}

var (
	fixtureOnce sync.Once
	fixture     kerasFixture
	fixtureErr  error
)

func getFixture(t *testing.T) kerasFixture {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nnclr-keras-fixture")
		if err != nil {
			fixtureErr = err
			return
		}
		testpy.Run(t, "../../savedmodel/testdata/keras_fixture.py", dir, "40", "40", "3", "16", "3")
		exp, err := npy.ReadNPZ(filepath.Join(dir, "expected.npz"))
		if err != nil {
			fixtureErr = err
			return
		}
		x := exp["x"]
		labels := make([]int64, x.Shape[0])
		for i := range labels {
			labels[i] = int64(i % 10)
		}
		dataDir := filepath.Join(dir, "tfds")
		w, err := loader.NewWriter(dataDir, loader.DatasetSpec{Name: "fixture", Version: "1.0.0",
			Shape: loader.Shape{Height: 40, Width: 40, Channels: 3}, NumClasses: 10}, loader.WriterOptions{})
		if err == nil {
			src := &loader.MemorySource{Images: x.Data.([]uint8), Labels: labels, Shp: loader.Shape{Height: 40, Width: 40, Channels: 3}}
			for _, s := range []string{"train", "test"} {
				if err = w.WriteSplit(s, src); err != nil {
					break
				}
			}
			if err == nil {
				err = w.Close()
			}
		}
		fixture, fixtureErr = kerasFixture{dir: dir, dataDir: dataDir, expected: exp}, err
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// TestEmbedPythonSavedModels: embeddings of Python-saved models (tf.saved_model.save with a float
// signature, and Keras model.export) computed by Go equal Keras's on the same images.
func TestEmbedPythonSavedModels(t *testing.T) {
	fx := getFixture(t)
	want := fx.expected["embedding"].Data.([]float32)
	for _, model := range []string{"tfsm", "export"} {
		t.Run(model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "emb.npz")
			var o bytes.Buffer
			if err := run([]string{"--mode", "embed", "--model", filepath.Join(fx.dir, model), "--dataset", "fixture",
				"--data-dir", fx.dataDir, "--split", "test", "--out", out, "--batch-size", "4"}, &o, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			got, err := npy.ReadNPZ(out)
			if err != nil {
				t.Fatal(err)
			}
			e := got["embeddings"]
			if !slices.Equal(e.Shape, []int{10, 16}) || !slices.Equal(got["labels"].Shape, []int{10}) {
				t.Fatalf("shapes %v %v", e.Shape, got["labels"].Shape)
			}
			if r := maxRel(e.Data.([]float32), want); r > 1e-5 {
				t.Fatalf("Go embeddings differ from Keras's: relative %.3g", r)
			}
			if l := got["labels"].Data.([]int64); l[3] != 3 {
				t.Fatalf("labels %v", l)
			}
		})
	}
}

// TestInitFromKeras: --init-from maps the Keras encoder and head onto nnclr's by path and shape;
// the Go model's weights equal Keras's and its forward pass gives Keras's embeddings and projections.
func TestInitFromKeras(t *testing.T) {
	fx := getFixture(t)
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.ModelWidth, mc.QueueSize = 40, 40, 16, 32
	m, err := tfgraph.NewModel(mc, tfgraph.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Init(1); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	if err := initFrom(m, filepath.Join(fx.dir, "tfsm"), tfgraph.DefaultSessionConfig(), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "enc/conv1/kernel") || !strings.Contains(log.String(), "encoder/conv2d_1/kernel") ||
		!strings.Contains(log.String(), "head/dense1/kernel") {
		t.Fatalf("mapping printed:\n%s", log.String())
	}
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range append(mc.EncoderVars(), mc.HeadVars()...) {
		if !slices.Equal(w[v.Name].Float, fx.expected[v.Name].Data.([]float32)) {
			t.Errorf("%s differs from the Keras model's", v.Name)
		}
	}
	x := fx.expected["x"]
	xt, err := tfgraph.NewFloatTensor([]int64{10, 40, 40, 3}, func(d []float32) error {
		for i, v := range x.Data.([]uint8) {
			d[i] = float32(v) * float32(1.0/255)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f, p, _, err := m.Forward(xt)
	if err != nil {
		t.Fatal(err)
	}
	if r := maxRel(f, fx.expected["embedding"].Data.([]float32)); r > 1e-5 {
		t.Errorf("features differ from Keras: %.3g", r)
	}
	if r := maxRel(p, fx.expected["projection"].Data.([]float32)); r > 1e-5 {
		t.Errorf("projections differ from Keras: %.3g", r)
	}

	// Keras model.export holds the encoder only: the head keeps its seed initialisation.
	log.Reset()
	if err := initFrom(m, filepath.Join(fx.dir, "export"), tfgraph.DefaultSessionConfig(), &log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "no projection head") {
		t.Fatalf("export mapping:\n%s", log.String())
	}

	// A model of another width: the error names both shapes.
	mc.ModelWidth = 8
	o, err := tfgraph.NewModel(mc, tfgraph.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	err = initFrom(o, filepath.Join(fx.dir, "tfsm"), tfgraph.DefaultSessionConfig(), &bytes.Buffer{})
	if !errors.Is(err, savedmodel.ErrNoMapping) || !strings.Contains(err.Error(), "expects kernel [3 3 3 8]") || !strings.Contains(err.Error(), "[3 3 3 16]") {
		t.Fatalf("width mismatch: %v", err)
	}
}

func TestPretrainInitFrom(t *testing.T) {
	fx := getFixture(t)
	var out bytes.Buffer
	err := run([]string{"--mode", "pretrain", "--dataset", "fixture", "--data-dir", fx.dataDir, "--run-dir", t.TempDir(),
		"--image-size", "40", "--width", "16", "--queue-size", "32", "--epochs", "1", "--steps-per-epoch", "1",
		"--init-from", filepath.Join(fx.dir, "tfsm"), "--quiet"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "enc/dense/kernel") || !strings.Contains(out.String(), "<- encoder/dense/kernel") {
		t.Fatalf("pretrain --init-from did not print the mapping:\n%s", out.String())
	}
}

// TestInfoModel lists a Python SavedModel's signature and counts its variables once each (Keras 3
// tracks some twice): the encoder at 40×40×3, width 16, has 4·(3·3·C·16+16) + 16·16+16 = 7,680
// parameters in 10 variables.
func TestInfoModel(t *testing.T) {
	fx := getFixture(t)
	var out bytes.Buffer
	if err := run([]string{"--mode", "info", "--model", filepath.Join(fx.dir, "export")}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`signature "serving_default" (tensorflow/serving/predict)`, "output output_0         float    [?,16]",
		"variables: 10, 7680 parameters", "encoder/conv2d_3/kernel"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("info lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEmbedExportedModelEqualsRun: embedding a split through the exported SavedModel (uint8
// input, scaling in the graph) gives the run's own embeddings.
func TestEmbedExportedModelEqualsRun(t *testing.T) {
	dataDir, runDir := smallRun(t)
	model := filepath.Join(t.TempDir(), "m")
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", model}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	emb := func(args ...string) npy.Array {
		out := filepath.Join(t.TempDir(), "e.npz")
		base := []string{"--mode", "embed", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--split", "test", "--out", out, "--batch-size", "32"}
		if err := run(append(base, args...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		a, err := npy.ReadNPZ(out)
		if err != nil {
			t.Fatal(err)
		}
		return a["embeddings"]
	}
	fromModel, fromRun := emb("--model", model), emb("--run-dir", runDir)
	if !slices.Equal(fromModel.Shape, []int{80, 8}) || !slices.Equal(fromModel.Shape, fromRun.Shape) {
		t.Fatalf("shapes %v and %v", fromModel.Shape, fromRun.Shape)
	}
	if r := maxRel(fromModel.Data.([]float32), fromRun.Data.([]float32)); r > 1e-5 {
		t.Fatalf("SavedModel and run embeddings differ: %.3g", r)
	}
}
