// Package testpy runs the project's pinned Python environment from Go tests, for the
// cross-checks against the real TensorFlow, Keras, tfds and TensorBoard.
package testpy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Interpreter returns the pinned environment's python: $NNCLR_PYTHON (the Makefile sets it), else
// .venv/bin/python in the repository root found above the working directory. It fails the test
// when there is none: the cross-checks never skip.
func Interpreter(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("NNCLR_PYTHON"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("NNCLR_PYTHON=%s: %v (run `make setup`)", p, err)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, ".venv", "bin", "python")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	t.Fatalf("no pinned Python environment (.venv/bin/python) above %s: run `make setup`", dir)
	return ""
}

// Run runs python script args… with TensorFlow's start-up logging quieted and returns stdout.
// A non-zero exit fails the test with the script's stderr.
func Run(t testing.TB, script string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(Interpreter(t), append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "CUDA_VISIBLE_DEVICES=", "PYTHONHASHSEED=0")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("python %s %v: %v\n%s", script, args, err, errb.String())
	}
	return out.Bytes()
}
