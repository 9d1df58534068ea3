package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// cliBinary builds the CLI once per test binary (as bin/nnclr-tf) and returns its path.
func cliBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "nnclr-cli")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "nnclr-tf")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("go build: %v", binErr)
	}
	return binPath
}

// slowArgs is a pretraining run whose steps take long enough (96×96, width 64) to signal one
// mid-epoch: 2 epochs of 8 steps on 200 Fashion-MNIST images, no time-based checkpoints.
func slowArgs(dataDir, runDir string, extra ...string) []string {
	return append([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "96", "--width", "64", "--queue-size", "100", "--epochs", "2", "--steps-per-epoch", "8",
		"--shuffle-buffer", "100", "--seed", "3", "--checkpoint-secs", "0", "--quiet"}, extra...)
}

// startCLI starts the built CLI with args and returns the command and its stdout.
func startCLI(t *testing.T, args []string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(cliBinary(t), args...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// stepsLogged returns the global steps of metrics.jsonl's step lines, in file order.
func stepsLogged(t *testing.T, runDir string) []int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, rundir.MetricsFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	var steps []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r rundir.StepRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil && r.Type == "step" {
			steps = append(steps, r.GlobalStep)
		}
	}
	return steps
}

// waitForStep waits (at most two minutes) until runDir's metrics.jsonl logs global step n.
func waitForStep(t *testing.T, runDir string, n int64) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if s := stepsLogged(t, runDir); len(s) > 0 && slices.Max(s) >= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s: step %d not logged within two minutes", runDir, n)
}

// finalWeights restores the run's latest checkpoint into a model and returns every variable.
func finalWeights(t *testing.T, runDir string) (int64, map[string]tfrun.Array) {
	t.Helper()
	r, m, w := restoredModel(t, runDir)
	m.Close()
	return r.Step, w
}

// restoredModel opens runDir and returns it, a model with its latest checkpoint restored (closed
// with the test at the latest) and that model's variables.
func restoredModel(t *testing.T, runDir string) (*rundir.Run, *tfgraph.Model, map[string]tfrun.Array) {
	t.Helper()
	r, err := rundir.Open(runDir, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfgraph.NewModel(r.Model, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.Restore(r.Checkpoint); err != nil {
		t.Fatal(err)
	}
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	return r, m, w
}

func sameVariables(t *testing.T, what string, a, b map[string]tfrun.Array) {
	t.Helper()
	for name, wa := range a {
		if !slices.Equal(wa.Float, b[name].Float) || !slices.Equal(wa.Int, b[name].Int) {
			t.Errorf("%s: variable %s differs from the uninterrupted run's", what, name)
		}
	}
}

// tensorBoardSteps returns the steps of every scalar tag of runDir as TensorBoard's data
// provider (which the server uses) reads them.
func tensorBoardSteps(t *testing.T, runDir string) map[string][]int64 {
	t.Helper()
	raw := testpy.Run(t, "../../tboard/testdata/read_events.py", runDir)
	var all map[string]struct {
		DataProvider struct {
			Scalars map[string][]struct {
				Step int64 `json:"step"`
			} `json:"scalars"`
		} `json:"data_provider"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatal(err)
	}
	out := map[string][]int64{}
	for tag, points := range all[runDir].DataProvider.Scalars {
		for _, p := range points {
			out[tag] = append(out[tag], p.Step)
		}
	}
	return out
}

// eachStepOnce checks that metrics.jsonl logs global steps 1..last once each, in order, and that
// TensorBoard (its data provider, which the server uses) holds each step of every train/ tag once.
func eachStepOnce(t *testing.T, runDir string, last int64) {
	t.Helper()
	want := make([]int64, last)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if got := stepsLogged(t, runDir); !slices.Equal(got, want) {
		t.Errorf("metrics.jsonl logs steps %v, want 1..%d once each", got, last)
	}
	scalars := tensorBoardSteps(t, runDir)
	for _, tag := range []string{"train/c_loss", "train/p_acc", "train/images_per_second"} {
		if steps := scalars[tag]; !slices.Equal(steps, want) {
			t.Errorf("TensorBoard %s has steps %v, want 1..%d once each", tag, steps, last)
		}
	}
}

// TestSignalCheckpointsAndResumesExactly: SIGINT and SIGTERM mid-epoch make pretrain finish the
// step in flight, checkpoint the completed steps, say how to resume and exit 130 / 143; resuming
// ends bit-identical to an uninterrupted run, and the logs hold each step once.
func TestSignalCheckpointsAndResumesExactly(t *testing.T) {
	dataDir := smallFashion(t, 200)
	full := filepath.Join(t.TempDir(), "full")
	if err := run(slowArgs(dataDir, full), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	_, want := finalWeights(t, full)
	line := regexp.MustCompile(`(?m)^interrupted at step (\d+): checkpoint ckpt-(\d+); continue with --resume$`)
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(c.sig.String(), func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			cmd, out := startCLI(t, slowArgs(dataDir, runDir))
			waitForStep(t, runDir, 3)
			cmd.Process.Signal(c.sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != c.code {
				t.Fatalf("exit %v, want status %d\n%s", err, c.code, out)
			}
			m := line.FindStringSubmatch(out.String())
			if m == nil || m[1] != m[2] {
				t.Fatalf("no line saying where it stopped:\n%s", out)
			}
			n, _ := strconv.ParseInt(m[1], 10, 64)
			if n < 3 || n >= 16 {
				t.Fatalf("interrupted at step %d, want mid-run", n)
			}
			if latest, err := tfgraph.LatestCheckpoint(filepath.Join(runDir, "checkpoints")); err != nil || filepath.Base(latest) != "ckpt-"+m[1] {
				t.Fatalf("latest checkpoint %s, %v; want ckpt-%s", latest, err, m[1])
			}
			if logged := stepsLogged(t, runDir); slices.Max(logged) != n {
				t.Fatalf("logged steps %v, checkpoint at %d: the step in flight was not finished and checkpointed", logged, n)
			}
			if err := run([]string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
				t.Fatal(err)
			}
			step, got := finalWeights(t, runDir)
			if step != 16 {
				t.Fatalf("resumed run ends at step %d", step)
			}
			sameVariables(t, "resumed after "+c.sig.String(), got, want)
			eachStepOnce(t, runDir, 16)
		})
	}
}

// TestKillAndCorruptCheckpoint: after kill -9 between checkpoints, the resumed run's logs hold
// each step once (the orphaned lines moved aside, TensorBoard told by a START event); a
// truncated latest checkpoint makes the resume fall back to the one before, saying so.
func TestKillAndCorruptCheckpoint(t *testing.T) {
	dataDir := smallFashion(t, 200)
	runDir := filepath.Join(t.TempDir(), "run")
	args := slowArgs(dataDir, runDir, "--checkpoint-every", "4", "--keep-checkpoints", "0")
	cmd, out := startCLI(t, args)
	waitForStep(t, runDir, 5)
	cmd.Process.Kill()
	cmd.Wait()
	logged := stepsLogged(t, runDir)
	latest, err := tfgraph.LatestCheckpoint(filepath.Join(runDir, "checkpoints"))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	ck, _ := strconv.ParseInt(strings.TrimPrefix(filepath.Base(latest), "ckpt-"), 10, 64)
	if slices.Max(logged) <= ck {
		t.Fatalf("killed with steps %v logged and checkpoint %d: nothing orphaned to test", logged, ck)
	}
	if err := run([]string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	eachStepOnce(t, runDir, 16)
	orphaned, err := os.ReadFile(filepath.Join(runDir, rundir.OrphanedMetrics))
	if err != nil || bytes.Count(orphaned, []byte(`"type":"step"`)) != int(slices.Max(logged)-ck) {
		t.Fatalf("%s: %v\n%s", rundir.OrphanedMetrics, err, orphaned)
	}

	// The latest checkpoint (ckpt-16) cut in half: two more epochs resume from ckpt-12.
	index := filepath.Join(runDir, "checkpoints", "ckpt-16.index")
	b, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(index, b[:len(b)/2], 0o644)
	var o bytes.Buffer
	if err := run([]string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--epochs", "3", "--quiet"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.String(), "resuming from ckpt-12, the newest readable checkpoint: ckpt-16 is unreadable (") ||
		!strings.Contains(o.String(), "from step 12") {
		t.Fatalf("fallback not reported:\n%s", o.String())
	}
	if step, _ := finalWeights(t, runDir); step != 24 {
		t.Fatalf("the run ends at step %d, want 24", step)
	}
	eachStepOnce(t, runDir, 24)

	// The latest checkpoint's index gone too (ckpt-24 after the run above): still ckpt-20.
	os.Remove(filepath.Join(runDir, "checkpoints", "ckpt-24.index"))
	o.Reset()
	if err := run([]string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--epochs", "3", "--quiet"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.String(), "resuming from ckpt-20, the newest readable checkpoint: ckpt-24 is unreadable (") {
		t.Fatalf("fallback past a missing index not reported:\n%s", o.String())
	}

	// Every checkpoint unreadable: an error naming each.
	for _, p := range []string{"ckpt-4", "ckpt-8", "ckpt-12", "ckpt-16", "ckpt-20", "ckpt-24"} {
		os.Remove(filepath.Join(runDir, "checkpoints", p+".data-00000-of-00001"))
	}
	err = run([]string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--epochs", "4", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no readable checkpoint") || !strings.Contains(err.Error(), "ckpt-24 is unreadable") ||
		!strings.Contains(err.Error(), "ckpt-4 is unreadable") {
		t.Fatalf("no readable checkpoint: %v", err)
	}
}

// TestRunDirHasOneWriter: a second pretrain on a run dir being trained fails at once naming the
// holder; the first finishes unharmed; read-only modes work on it meanwhile.
func TestRunDirHasOneWriter(t *testing.T) {
	dataDir := smallFashion(t, 200)
	runDir := filepath.Join(t.TempDir(), "run")
	cmd, out := startCLI(t, slowArgs(dataDir, runDir, "--checkpoint-every", "2"))
	waitForStep(t, runDir, 3)
	t0 := time.Now()
	err := run(append(slowArgs(dataDir, runDir), "--resume"), &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, rundir.ErrLocked) || !strings.Contains(err.Error(), "in use by pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Fatalf("second writer: %v", err)
	}
	if d := time.Since(t0); d > 10*time.Second {
		t.Errorf("the refusal took %s", d)
	}
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", filepath.Join(t.TempDir(), "m")}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Errorf("export of a run being trained: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the first writer: %v\n%s", err, out)
	}
	if step, _ := finalWeights(t, runDir); step != 16 {
		t.Fatalf("the first writer ended at step %d", step)
	}
}

// TestEmbedInterrupted: SIGINT during --mode embed exits 130 and leaves no output file.
func TestEmbedInterrupted(t *testing.T) {
	dataDir := smallFashion(t, 6000)
	runDir := filepath.Join(t.TempDir(), "run")
	if err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "96", "--width", "64", "--queue-size", "100", "--epochs", "1", "--steps-per-epoch", "1", "--unlabelled-batch", "32", "--labelled-batch", "16", "--quiet"},
		&bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "e.npz")
	cmd, o := startCLI(t, []string{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir,
		"--split", "train", "--batch-size", "16", "--out", out, "--quiet"})
	time.Sleep(1500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(o.String(), "interrupted (interrupt): nothing written") {
		t.Fatalf("embed interrupted: %v\n%s", err, o)
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Fatalf("an interrupted embed left %v", entries)
	}
}

// TestSecondSignalExitsAtOnce: a second SIGINT while pretrain finishes its step ends the process
// at once with status 130.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	dataDir := smallFashion(t, 800) // steps of 100 + 100 images: the second signal lands inside one
	runDir := filepath.Join(t.TempDir(), "run")
	cmd, out := startCLI(t, slowArgs(dataDir, runDir, "--queue-size", "300"))
	waitForStep(t, runDir, 2)
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(100 * time.Millisecond) // two signals close together may arrive as one; a step takes about a second
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(out.String(), "second interrupt: exiting now") {
		t.Fatalf("two signals: %v\n%s", err, out)
	}
}
