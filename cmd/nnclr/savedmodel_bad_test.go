package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/kerasfixture"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfrun"
)

// TestSavedModelBadInput: the CLI's errors for a broken SavedModel and wrong requests
// (savedmodel's own tests cover the library).
func TestSavedModelBadInput(t *testing.T) {
	fx := kerasfixture.Get(t)
	good := filepath.Join(fx.Dir, "export")
	trunc := filepath.Join(t.TempDir(), "trunc")
	if err := os.MkdirAll(trunc, 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(good, "saved_model.pb"))
	os.WriteFile(filepath.Join(trunc, "saved_model.pb"), b[:len(b)/2], 0o644)
	if err := run([]string{"--mode", "info", "--model", trunc}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, savedmodel.ErrBadModel) {
		t.Errorf("info on a truncated model: %v", err)
	}
	err := run([]string{"--mode", "embed", "--model", good, "--signature", "predict", "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--out", filepath.Join(t.TempDir(), "e.npz")}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, savedmodel.ErrSignature) {
		t.Errorf("embed with an unknown signature: %v", err)
	}
	err = run([]string{"--mode", "embed", "--model", good, "--output-key", "nope", "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--out", filepath.Join(t.TempDir(), "e.npz")}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `--output-key nope: signature serving_default has no output "nope" (it has [output_0])`) || exitCode(err) != 2 {
		t.Errorf("embed with an unknown output key: %v", err)
	}
	// A SavedModel's session is checked as a run's is: fp16 on the CPU is refused, not run in fp32.
	out := filepath.Join(t.TempDir(), "e.npz")
	err = run([]string{"--mode", "embed", "--model", good, "--device", "cpu", "--precision", "fp16", "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--out", out}, &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, tfrun.ErrPrecision) || !strings.Contains(err.Error(), good) {
		t.Errorf("embed --model in fp16 on the CPU: %v", err)
	}
	if _, serr := os.Stat(out); serr == nil {
		t.Errorf("the refused embed wrote %s", out)
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
