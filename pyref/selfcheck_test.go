// Package pyref holds the Keras reference implementation (nnclr_keras.py) that the Go tests
// compare nnclr with, and its self-check against an independent NumPy model (selfcheck.py). The
// Go test here runs the self-check as part of `go test ./...`, beside the other packages.
package pyref

import (
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testpy"
)

// TestKerasReferenceSelfCheck runs selfcheck.py: the Keras reference's forward pass, steps,
// queue, Adam updates and resume against NumPy (float64) and finite differences. It fails when
// any check fails (the script exits non-zero) or does not report them all passed.
func TestKerasReferenceSelfCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("about 40 s of TensorFlow start-ups; runs in make test, skipped with -short")
	}
	out := string(testpy.Run(t, "selfcheck.py"))
	t.Log(out)
	if !strings.Contains(out, "all checks passed") || strings.Contains(out, "FAIL") {
		t.Fatalf("selfcheck.py:\n%s", out)
	}
}
