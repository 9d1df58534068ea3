package main

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testutil"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// clusterTolerance is the CLI cluster tests' bound on a worker run's difference from one
// process (testutil.MaxRel of every variable): tfgraph's parallelTolerance, which
// TestDataParallelEqualsOneProcess holds in one test process.
const clusterTolerance = 5e-5

// TestClusterHeadBN: --head-bn (with a prediction head) is accepted with --cluster, and 2 worker
// processes train 4 steps with their batch norms synchronised (tfgraph's syncBN) to within
// clusterTolerance of one process on the same global batches, every variable (weights, Adam
// slots, the heads' moving statistics, the queue); it prints the worst (the README quotes it).
// The test ran 8 steps before and
// printed 4.26e-5 (commit dca7a7f), too near the bound to assert: Adam at ε 1e-7 turns rounding
// differences of small gradients into larger steps the more steps it takes (DESIGN, "Numerics").
// It fails if the workers read the wrong shard, if the batch norms' forward moments or the
// backward's Σdy, Σdy·x̂ are not all-reduced (each checked by a temporary edit: 11.9, 5.25 and
// 2.75 relative).
func TestClusterHeadBN(t *testing.T) {
	dataDir := smallFashion(t, 120)
	extra := []string{"--head-bn", "--pred-hidden", "16"}
	one := filepath.Join(t.TempDir(), "one")
	if err := run(clusterArgs(dataDir, one, 1, extra...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, want := finalWeights(t, one)
	dirs := []string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	out, step, got := runWorkers(t, 2, func(w int) []string { return clusterArgs(dataDir, dirs[w], 1, extra...) }, dirs[0])
	if !strings.Contains(out, "BN in the heads true") {
		t.Fatalf("the chief does not say it trains with BN in the heads:\n%s", out)
	}
	if step != 4 {
		t.Fatalf("the chief ends at step %d, want 4", step)
	}
	name, worst := worstRel(got, want, nil)
	if worst > clusterTolerance {
		t.Errorf("2 worker processes with --head-bn differ from one process by %.3g relative (%s), want at most %g", worst, name, clusterTolerance)
	}
	t.Logf("2 worker processes with --head-bn: worst %s, %.3g relative to one process", name, worst)
}

// TestClusterResNet: --backbone resnet18 with --cluster on 2 worker processes equals one process
// within clusterTolerance, every variable (weights, Adam slots, every batch norm's moving
// statistics, the probe, the queue), over 2 steps resumed from a checkpoint whose batch norms'
// offsets are moved away from the ReLU's kink (liftBN); the contrastive loss of the first
// resumed step (the same weights on both sides: the forward pass alone) agrees within 1e-6.
// It prints both (the README quotes them).
//
// The checkpoint is a one-process run of 2 steps (the resumed steps start mid-training, with Adam
// slots and moving statistics set) with the lift written into it, and both sides resume it: the
// CLI's whole cluster path (each worker's shard of the global batch and its augmentation draws,
// the synchronised batch norms forward and backward, the moving statistics, the probe, the
// queue, the chief's restore and sync) is compared. It fails if the workers read the wrong
// shard (0.46 relative), if the forward moments are not all-reduced (0.16) or the backward's
// Σdy, Σdy·x̂ are not (0.070): each checked by a temporary edit. At the default initialisation
// the comparison is ill-conditioned, not wrong: TestClusterResNetConditioning.
func TestClusterResNet(t *testing.T) {
	dataDir := smallFashion(t, 48)
	base := resnetBase(t, dataDir)
	editCheckpoint(t, base, liftBN)
	one, chief := testutil.CopyTree(t, base), testutil.CopyTree(t, base)
	want := resumeOne(t, dataDir, one)
	out, got := resumeWorkers(t, dataDir, chief)
	if !strings.Contains(out, "resnet18 (cifar stem") {
		t.Fatalf("the chief does not say it trains resnet18:\n%s", out)
	}
	if _, ok := got["enc/conv5_block2_2_bn/moving_mean"]; !ok {
		t.Fatal("the chief's checkpoint lacks the encoder's BN statistics")
	}
	name, worst := worstRel(got, want, nil)
	if worst > clusterTolerance {
		t.Errorf("2 worker processes with resnet18 differ from one process by %.3g relative (%s), want at most %g", worst, name, clusterTolerance)
	}
	lossRel := firstResumedLoss(t, one, chief)
	if lossRel > 1e-6 {
		t.Errorf("the first resumed step's contrastive loss differs by %.3g relative on 2 workers (the same weights: the forward pass differs)", lossRel)
	}
	t.Logf("2 worker processes with resnet18, offsets lifted: worst %s, %.3g relative to one process; first resumed step's c_loss %.3g", name, worst, lossRel)
}

// TestClusterResNetConditioning (make test-long) establishes why TestClusterResNet lifts the
// batch norms' offsets. For resnet18 at 16×16×3 as TestClusterResNet runs it, it prints the
// difference from one process of 2 worker processes and of a rounding-size nudge on one process
// alone (nudgeBetas: ±1e-7 to every batch norm's offset, about the size by which the workers'
// moments differ from one process's), over the same 2 steps resumed from one checkpoint, with the
// offsets as trained and lifted (the nudge's figure leaves out the offsets it nudged; 2026-12-06,
// commit 8faa569, with one process's batch-norm backward by hand):
//
//	from the default initialisation:  2 workers 0.94 (a batch norm's beta)
//	resumed, offsets as trained:      2 workers 9.0e-2, nudge 4.9e-2 (187 and 162 of the 242
//	                                  variables beyond 1e-4); first resumed c_loss 7e-8
//	resumed, offsets lifted:          2 workers 7.9e-6, nudge 1.0e-5 (none beyond 1e-4)
//
// So the forward pass agrees (the first resumed step's loss, on the same weights), the whole
// cluster path agrees to 1e-5 once no batch norm output lies near the ReLU's kink, and one
// process alone, no workers involved, moves by the same kind of amount at the default offsets
// when they move by 1e-7: a ReLU input within rounding of 0 falls on the other side and changes
// that element's gradient by its whole size (TestDataParallelEqualsOneProcess's
// resnetParallelCase), which the next steps spread. The default initialisation's difference is
// that chaos, not a bug of the cluster path. The test asserts the conditioning: at the trained
// offsets the nudge alone exceeds clusterTolerance, lifted it stays within it.
func TestClusterResNetConditioning(t *testing.T) {
	if os.Getenv("NNCLR_LONG_CHECKS") != "1" {
		t.Skip("8 resnet18 runs: make test-long (NNCLR_LONG_CHECKS=1) runs it")
	}
	dataDir := smallFashion(t, 48)
	base := resnetBase(t, dataDir)
	dirs := []string{filepath.Join(t.TempDir(), "w0"), filepath.Join(t.TempDir(), "w1")}
	_, _, fresh := runWorkers(t, 2, func(w int) []string { return resnetClusterArgs(dataDir, dirs[w], 1) }, dirs[0])
	_, want := finalWeights(t, base)
	name, worst := worstRel(fresh, want, nil)
	t.Logf("from the default initialisation, 2 steps: 2 workers %.3g (%s)", worst, name)
	for _, lifted := range []bool{false, true} {
		b := testutil.CopyTree(t, base)
		if lifted {
			editCheckpoint(t, b, liftBN)
		}
		one, chief, nudged := testutil.CopyTree(t, b), testutil.CopyTree(t, b), testutil.CopyTree(t, b)
		want := resumeOne(t, dataDir, one)
		_, workers := resumeWorkers(t, dataDir, chief)
		editCheckpoint(t, nudged, nudgeBetas)
		nudge := resumeOne(t, dataDir, nudged)
		wn, w := worstRel(workers, want, nil)
		nn, n := worstRel(nudge, want, func(name string) bool { return !strings.HasSuffix(name, "_bn/beta") }) // not the nudged
		t.Logf("resumed at step 2, lifted %v: 2 workers %.3g (%s, %d variables beyond 1e-4), nudge %.3g (%s, %d beyond 1e-4); first resumed step's c_loss %.3g",
			lifted, w, wn, beyond(workers, want, 1e-4), n, nn, beyond(nudge, want, 1e-4), firstResumedLoss(t, one, chief))
		if lifted == (n > clusterTolerance) {
			t.Errorf("lifted %v: a ±1e-7 nudge of the offsets moves one process by %.3g: the conditioning this test documents does not hold", lifted, n)
		}
	}
}

// resnetClusterArgs is resnetArgs for the cluster tests: resnet18 at 16×16×3, no validation, no
// time-based checkpoints.
func resnetClusterArgs(dataDir, runDir string, epochs int, extra ...string) []string {
	return resnetArgs(dataDir, runDir, epochs, append([]string{"--backbone", "resnet18", "--image-size", "16", "--val-every", "0", "--checkpoint-secs", "0"}, extra...)...)
}

// resnetBase is a run directory of resnet18 trained 2 steps (one epoch) on one process.
func resnetBase(t *testing.T, dataDir string) string {
	t.Helper()
	base := filepath.Join(t.TempDir(), "base")
	if err := run(resnetClusterArgs(dataDir, base, 1), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	return base
}

// resumeOne resumes runDir on one process to its second epoch and returns its variables.
func resumeOne(t *testing.T, dataDir, runDir string) map[string]tfrun.Array {
	t.Helper()
	if err := run(resnetClusterArgs(dataDir, runDir, 2, "--resume"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, w := finalWeights(t, runDir)
	return w
}

// resumeWorkers resumes chiefDir on 2 worker processes (worker 1 with an empty run directory) to
// its second epoch and returns the chief's output and variables.
func resumeWorkers(t *testing.T, dataDir, chiefDir string) (string, map[string]tfrun.Array) {
	t.Helper()
	dirs := []string{chiefDir, filepath.Join(t.TempDir(), "w1")}
	out, step, got := runWorkers(t, 2, func(w int) []string { return resnetClusterArgs(dataDir, dirs[w], 2, "--resume") }, chiefDir)
	if step != 4 {
		t.Fatalf("the chief ends at step %d, want 4:\n%s", step, out)
	}
	return out, got
}

// editCheckpoint rewrites the newest checkpoint of runDir (same step) with the variables edit
// returns, given the run's model and its variables.
func editCheckpoint(t *testing.T, runDir string, edit func(cfg tfgraph.ModelConfig, w map[string]tfrun.Array) map[string]tfrun.Array) {
	t.Helper()
	r, m, w := restoredModel(t, runDir)
	defer m.Close()
	if err := m.SetWeights(edit(r.Model, w)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Save(filepath.Join(runDir, rundir.CheckpointsDir), 0); err != nil {
		t.Fatal(err)
	}
}

// liftBN draws the encoder's batch-norm scales from U(0.5, 1.5) and offsets from U(1.5, 2.5)
// (as tfgraph's liftEncoderBN): most normalised values then lie well above the ReLU's kink.
func liftBN(cfg tfgraph.ModelConfig, _ map[string]tfrun.Array) map[string]tfrun.Array {
	r := rand.New(rand.NewPCG(5, 6))
	vals := map[string]tfrun.Array{}
	for _, sp := range cfg.EncoderVars() {
		lo := 0.5
		switch {
		case strings.HasSuffix(sp.Name, "_bn/beta"):
			lo = 1.5
		case !strings.HasSuffix(sp.Name, "_bn/gamma"):
			continue
		}
		a := tfrun.Array{Shape: sp.Shape, Float: make([]float32, numel(sp.Shape))}
		for i := range a.Float {
			a.Float[i] = float32(lo + r.Float64())
		}
		vals[sp.Name] = a
	}
	return vals
}

// nudgeBetas adds ±1e-7 (random signs) to every batch norm's offset of the encoder.
func nudgeBetas(cfg tfgraph.ModelConfig, w map[string]tfrun.Array) map[string]tfrun.Array {
	r := rand.New(rand.NewPCG(8, 9))
	vals := map[string]tfrun.Array{}
	for _, sp := range cfg.EncoderVars() {
		if !strings.HasSuffix(sp.Name, "_bn/beta") {
			continue
		}
		a := tfrun.Array{Shape: sp.Shape, Float: append([]float32(nil), w[sp.Name].Float...)}
		for i := range a.Float {
			a.Float[i] += float32(1e-7 * float64(2*r.IntN(2)-1))
		}
		vals[sp.Name] = a
	}
	return vals
}

func numel(shape []int64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

// beyond counts the variables of want whose got differs by more than tol (testutil.MaxRel).
func beyond(got, want map[string]tfrun.Array, tol float64) int {
	n := 0
	for k, a := range want {
		if testutil.MaxRel(got[k].Float, a.Float) > tol {
			n++
		}
	}
	return n
}

// firstResumedLoss is the relative difference of c_loss at global step 3 (the first step after
// resuming at 2) between the runs in dirs a and b: the contrastive loss of the restored weights,
// the forward pass alone (p_loss is not: the probe step reads the encoder after the contrastive
// update of the same step).
func firstResumedLoss(t *testing.T, a, b string) float64 {
	t.Helper()
	at := func(dir string) map[string]any {
		for _, r := range readJSONL(t, filepath.Join(dir, rundir.MetricsFile)) {
			if r["type"] == "step" && r["global_step"] == 3.0 {
				return r
			}
		}
		t.Fatalf("%s: no step line for global step 3", dir)
		return nil
	}
	x, y := at(a)["c_loss"].(float64), at(b)["c_loss"].(float64)
	return math.Abs(x-y) / math.Abs(x)
}
