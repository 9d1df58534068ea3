package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
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
	out, step, got := runWorkers(t, 2, func(w int) []string { return clusterArgs(dataDir, dirs[w], 2, extra...) }, dirs[0])
	if !strings.Contains(out, "BN in the heads true") {
		t.Fatalf("the chief does not say it trains with BN in the heads:\n%s", out)
	}
	if step != 8 {
		t.Fatalf("the chief ends at step %d, want 8", step)
	}
	name, worst := worstRel(got, want, nil)
	t.Logf("2 worker processes with --head-bn: worst %s, %.3g relative to one process", name, worst)
}

// TestClusterResNet: --backbone resnet18 with --cluster: 2 worker processes (16×16×3 images, 4 +
// 2 of each global batch per worker) train the 2 steps to the end with their batch norms
// synchronised, and the chief's checkpoint holds the encoder's moving statistics. The difference
// from one process on the same global batches is logged, not asserted, and it is large: 0.81
// relative in head/dense0/bias and 0.94 in a BN beta after 2 steps with Adam (one run,
// 2026-12-06), and 0.46 in conv1's gradient with plain SGD. The same happens between nnclr and
// Keras on one process (TestResNetStepsMatchKeras's doc comment: ReLU inputs within rounding of
// zero that fall on the other side when sums run in another order; the workers sum the moments
// in another order than one process), and TestDataParallelEqualsOneProcess holds its resnet18
// equality only with the BN offsets moved away from the kink. Whether that is all of it at the
// default initialisation is not established.
func TestClusterResNet(t *testing.T) {
	dataDir := smallFashion(t, 48)
	extra := []string{"--backbone", "resnet18", "--image-size", "16", "--val-every", "0", "--checkpoint-secs", "0"}
	one := filepath.Join(t.TempDir(), "one")
	if err := run(resnetArgs(dataDir, one, 1, extra...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, want := finalWeights(t, one)
	dirs := []string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	out, step, got := runWorkers(t, 2, func(w int) []string { return resnetArgs(dataDir, dirs[w], 1, extra...) }, dirs[0])
	if !strings.Contains(out, "resnet18 (cifar stem") {
		t.Fatalf("the chief does not say it trains resnet18:\n%s", out)
	}
	if step != 2 {
		t.Fatalf("the chief ends at step %d, want 2", step)
	}
	if _, ok := got["enc/conv5_block2_2_bn/moving_mean"]; !ok {
		t.Fatal("the chief's checkpoint lacks the encoder's BN statistics")
	}
	// A batch norm's beta gets a gradient near rounding noise at initialisation, which Adam at
	// ε 1e-7 turns into ±lr steps whose sign can differ: those are logged apart.
	isBN := func(name string) bool { return strings.Contains(name, "_bn/") }
	name, worst := worstRel(got, want, func(n string) bool { return !isBN(n) })
	nameBN, worstBN := worstRel(got, want, isBN)
	t.Logf("2 worker processes with --backbone resnet18: worst %s, %.3g relative to one process; of the batch norms' variables and slots %s, %.3g", name, worst, nameBN, worstBN)
}
