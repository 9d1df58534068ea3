package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testutil"
)

// TestClusterHeadBN: --head-bn (with a prediction head) is accepted with --cluster, and 2 worker
// processes train the 8 steps to the end, their batch norms synchronised (tfgraph's syncBN; the
// equality with one process is TestDataParallelEqualsOneProcess's). The test logs the chief's
// worst difference from one process on the same global batches (4.3e-5 relative when written:
// Adam at the default ε 1e-7 over 8 steps, where rounding noise can become ±lr steps, so it is
// logged, not asserted).
func TestClusterHeadBN(t *testing.T) {
	dataDir := smallFashion(t, 120)
	extra := []string{"--head-bn", "--pred-hidden", "16"}
	one := filepath.Join(t.TempDir(), "one")
	if err := run(clusterArgs(dataDir, one, 2, extra...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, want := finalWeights(t, one)
	dirs := []string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	cmds, outs := startWorkers(t, testutil.FreeAddrs(t, 2), func(w int) []string { return clusterArgs(dataDir, dirs[w], 2, extra...) })
	for w, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v\n%s", w, err, outs[w])
		}
	}
	if !strings.Contains(outs[0].String(), "BN in the heads true") {
		t.Fatalf("the chief does not say it trains with BN in the heads:\n%s", outs[0])
	}
	step, got := finalWeights(t, dirs[0])
	if step != 8 {
		t.Fatalf("the chief ends at step %d, want 8", step)
	}
	worst, name := 0.0, ""
	for k, a := range want {
		if e := testutil.MaxRel(got[k].Float, a.Float); e > worst {
			worst, name = e, k
		}
	}
	t.Logf("2 worker processes with --head-bn: worst %s, %.3g relative to one process", name, worst)
}
