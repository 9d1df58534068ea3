package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
	tf "github.com/wamuir/graft/tensorflow"
)

// copyDir copies a SavedModel directory tree.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSavedModelBadInput: broken SavedModels and wrong requests give errors naming what was
// expected and what was found; nothing panics.
func TestSavedModelBadInput(t *testing.T) {
	fx := getFixture(t)
	good := filepath.Join(fx.dir, "export")
	sc := tfgraph.DefaultSessionConfig()

	noPB := copyDir(t, good)
	os.Remove(filepath.Join(noPB, "saved_model.pb"))
	if _, err := tfgraph.LoadSavedModel(noPB, nil, sc); err == nil || !strings.Contains(err.Error(), "saved_model.pb") {
		t.Errorf("missing saved_model.pb: %v", err)
	}
	if _, err := savedmodel.Read(noPB); !errors.Is(err, savedmodel.ErrBadModel) {
		t.Errorf("Read without saved_model.pb: %v", err)
	}

	trunc := copyDir(t, good)
	pb := filepath.Join(trunc, "saved_model.pb")
	b, _ := os.ReadFile(pb)
	os.WriteFile(pb, b[:len(b)/2], 0o644)
	if _, err := savedmodel.Read(trunc); !errors.Is(err, savedmodel.ErrBadModel) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Read of a truncated saved_model.pb: %v", err)
	}
	if _, err := tfgraph.LoadSavedModel(trunc, nil, sc); err == nil {
		t.Error("a truncated saved_model.pb loaded")
	}
	if err := run([]string{"--mode", "info", "--model", trunc}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, savedmodel.ErrBadModel) {
		t.Errorf("info on a truncated model: %v", err)
	}

	noShard := copyDir(t, good)
	shards, _ := filepath.Glob(filepath.Join(noShard, "variables", "variables.data-*"))
	for _, s := range shards {
		os.Remove(s)
	}
	if _, err := tfgraph.LoadSavedModel(noShard, nil, sc); err == nil || !strings.Contains(err.Error(), noShard) {
		t.Errorf("missing variables shard: %v", err)
	}

	if _, err := tfgraph.LoadSavedModel(good, []string{"train"}, sc); err == nil || !strings.Contains(err.Error(), "[train]") {
		t.Errorf("wrong tag: %v", err)
	}

	m, err := tfgraph.LoadSavedModel(good, nil, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Signature("predict"); !errors.Is(err, tfgraph.ErrSignature) || !strings.Contains(err.Error(), "serve, serving_default") {
		t.Errorf("unknown signature: %v", err)
	}
	sig, _ := m.Signature("serving_default")
	var in string
	for k := range sig.Inputs {
		in = k
	}
	u8, _ := tf.NewTensor(make([]uint8, 2*40*40*3))
	u8.Reshape([]int64{2, 40, 40, 3})
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{in: u8}); !errors.Is(err, tfgraph.ErrSignature) ||
		!strings.Contains(err.Error(), "dtype uint8 given, signature declares float") {
		t.Errorf("wrong dtype: %v", err)
	}
	f, _ := tfgraph.NewFloatTensor([]int64{2, 32, 32, 3}, func(d []float32) error { return nil })
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{in: f}); !errors.Is(err, tfgraph.ErrSignature) ||
		!strings.Contains(err.Error(), "shape [2 32 32 3] given") {
		t.Errorf("wrong shape: %v", err)
	}
	if _, err := m.Run("serving_default", map[string]*tf.Tensor{}); !errors.Is(err, tfgraph.ErrSignature) || !strings.Contains(err.Error(), "not given") {
		t.Errorf("missing input: %v", err)
	}
	err = run([]string{"--mode", "embed", "--model", good, "--signature", "predict", "--dataset", "fixture", "--data-dir", fx.dataDir,
		"--out", filepath.Join(t.TempDir(), "e.npz")}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, tfgraph.ErrSignature) {
		t.Errorf("embed with an unknown signature: %v", err)
	}
	err = run([]string{"--mode", "embed", "--model", good, "--output-key", "nope", "--dataset", "fixture", "--data-dir", fx.dataDir,
		"--out", filepath.Join(t.TempDir(), "e.npz")}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `no output "nope" (it has [output_0])`) {
		t.Errorf("embed with an unknown output key: %v", err)
	}
}

// TestExportBadInput: a failed export leaves nothing in place, and an existing output is kept.
func TestExportBadInput(t *testing.T) {
	_, runDir := smallRun(t)
	parent := t.TempDir()
	out := filepath.Join(parent, "model")
	// A checkpoint lacking the probe: the export fails and leaves neither out nor a temporary dir.
	err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", out, "--checkpoint", filepath.Join(runDir, "checkpoints", "ckpt-999")},
		&bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "ckpt-999") {
		t.Fatalf("missing checkpoint: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Fatalf("a failed export left %v", entries)
	}
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	err = run([]string{"--mode", "export", "--run-dir", runDir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("export over an existing dir: %v", err)
	}
	if err := run([]string{"--mode", "export", "--out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil || exitCode(err) != 2 {
		t.Fatalf("export without --run-dir: %v", err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Fatalf("directory holds %v, want only the export", entries)
	}
}
