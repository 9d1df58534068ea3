package loader

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// runRef runs pyref/tfds_ref.py with args and fails the test on error, showing its output.
func runRef(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testpy.Interpreter(t), append([]string{filepath.Join("pyref", "tfds_ref.py")}, args...)...)
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
