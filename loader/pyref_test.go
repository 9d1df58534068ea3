package loader

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// pythonPath returns the pinned interpreter: $NNCLR_PYTHON (the Makefile exports it), else
// ../.venv/bin/python relative to this package. Missing, the test fails: the cross-checks are
// part of the suite, never skipped.
func pythonPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("NNCLR_PYTHON"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("NNCLR_PYTHON=%s: %v (run `make setup`)", p, err)
		}
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", ".venv", "bin", "python"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no pinned Python: NNCLR_PYTHON is not set and %s is missing (run `make setup`)", p)
	}
	return p
}

// runRef runs pyref/tfds_ref.py with args and fails the test on error, showing its output.
func runRef(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonPath(t), append([]string{filepath.Join("pyref", "tfds_ref.py")}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "TFDS_DISABLE_GCS=1", "NO_GCE_CHECK=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("tfds_ref.py %v: %v\n%s", args, err, tail(out.Bytes(), 4000))
	}
	t.Logf("tfds_ref.py %s: %.1fs", args[0], time.Since(start).Seconds())
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
