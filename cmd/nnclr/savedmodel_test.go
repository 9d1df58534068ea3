package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/kerasfixture"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	kerasfixture.Remove()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// TestEmbedPythonSavedModels: embeddings of Python-saved models (tf.saved_model.save with a float
// signature, and Keras model.export) computed by Go equal Keras's on the same images.
func TestEmbedPythonSavedModels(t *testing.T) {
	fx := kerasfixture.Get(t)
	want := fx.Expected["embedding"].Data.([]float32)
	for _, model := range []string{"tfsm", "export"} {
		t.Run(model, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "emb.npz")
			var o bytes.Buffer
			if err := run([]string{"--mode", "embed", "--model", filepath.Join(fx.Dir, model), "--dataset", "fixture",
				"--data-dir", fx.DataDir, "--split", "test", "--out", out, "--batch-size", "4"}, &o, &bytes.Buffer{}); err != nil {
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
			if r := testutil.MaxRel(e.Data.([]float32), want); r > 1e-5 {
				t.Fatalf("Go embeddings differ from Keras's: relative %.3g", r)
			}
			if l := got["labels"].Data.([]int64); l[3] != 3 {
				t.Fatalf("labels %v", l)
			}
		})
	}
}

func TestPretrainInitFrom(t *testing.T) {
	fx := kerasfixture.Get(t)
	var out bytes.Buffer
	err := run([]string{"--mode", "pretrain", "--dataset", "fixture", "--data-dir", fx.DataDir, "--run-dir", t.TempDir(),
		"--image-size", "40", "--width", "16", "--queue-size", "32", "--epochs", "1", "--steps-per-epoch", "1",
		"--init-from", filepath.Join(fx.Dir, "tfsm"), "--quiet"}, &out, &bytes.Buffer{})
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
	fx := kerasfixture.Get(t)
	var out bytes.Buffer
	if err := run([]string{"--mode", "info", "--model", filepath.Join(fx.Dir, "export")}, &out, &bytes.Buffer{}); err != nil {
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
	if r := testutil.MaxRel(fromModel.Data.([]float32), fromRun.Data.([]float32)); r > 1e-5 {
		t.Fatalf("SavedModel and run embeddings differ: %.3g", r)
	}
}

// TestEmbedSavedModelOfAnySize: a Keras backbone exported with model.export on
// Input((None, None, 3)) takes images of any height and width; --mode embed feeds them at
// --image-size (the dataset's 40×40 here: Keras's embeddings to 1e-5), and without it says so,
// naming the flag.
func TestEmbedSavedModelOfAnySize(t *testing.T) {
	fx := kerasfixture.Get(t)
	model := filepath.Join(fx.Dir, "dynamic")
	out := filepath.Join(t.TempDir(), "emb.npz")
	args := []string{"--mode", "embed", "--model", model, "--dataset", "fixture", "--data-dir", fx.DataDir, "--split", "test", "--out", out, "--quiet"}
	err := run(args, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "--image-size: signature serving_default input ") ||
		!strings.Contains(err.Error(), "[?,?,?,3] of any height and width") || exitCode(err) != 2 {
		t.Fatalf("embed without --image-size: %v", err)
	}
	if err := run(append(args, "--image-size", "40"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got, err := npy.ReadNPZ(out)
	if err != nil {
		t.Fatal(err)
	}
	if e := got["embeddings"]; !slices.Equal(e.Shape, []int{10, 16}) || testutil.MaxRel(e.Data.([]float32), fx.Expected["dynamic_embedding"].Data.([]float32)) > 1e-5 {
		t.Fatalf("embeddings %v differ from Keras's by %.3g", e.Shape, testutil.MaxRel(e.Data.([]float32), fx.Expected["dynamic_embedding"].Data.([]float32)))
	}
	// Another size works too (the dataset's images are resized to it).
	if err := run(append(args, "--image-size", "56"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}
