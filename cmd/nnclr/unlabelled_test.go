package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
)

// writeFlatFolder writes a flat folder of n images of different sizes (PNG and JPEG, no class
// folders) and a .DS_Store.
func writeFlatFolder(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "flat")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		h, w := 20+i%9, 24+(i*5)%13
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				v := uint8(30 + (x*7+y*(i%5+1)+i*11)%190)
				m.Set(x, y, color.RGBA{v, uint8((int(v) * (y + 2)) % 256), uint8(255 - int(v)/2), 255})
			}
		}
		name := filepath.Join(dir, imageName(i)+".png")
		if i%4 == 0 {
			name = filepath.Join(dir, imageName(i)+".jpg")
		}
		writeTestImage(t, name, m)
	}
	os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte{0}, 0o644)
	return dir
}

// flatArgs pretrains on the flat dataset: 2 epochs of 4 steps of 12 unlabelled images (48 / 4,
// the default batch), 64×64×3, slow enough to be signalled mid-run.
func flatArgs(dataDir, runDir string, extra ...string) []string {
	return append([]string{"--mode", "pretrain", "--dataset", "my_flat", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "64", "--channels", "3", "--width", "32", "--queue-size", "48", "--epochs", "2", "--steps-per-epoch", "4",
		"--shuffle-buffer", "48", "--seed", "6", "--checkpoint-secs", "0", "--quiet"}, extra...)
}

// TestFolderUnlabelledOnly: a flat folder of unlabelled images of different sizes goes through
// the tool: prepare gives the split unlabelled alone; pretrain trains the contrastive part only
// (the start line says so; no validation lines; metrics.jsonl and TensorBoard have no p_loss or
// p_acc, not even zeros) and refuses --knn-every and --labelled-batch naming them; SIGINT
// mid-run and --resume end bit-identical to the uninterrupted run, each step logged once;
// export writes a SavedModel whose signature has embedding alone, which Python's
// tf.saved_model.load runs on the split's images to embed's --run-dir embeddings within 1e-5, as
// embed --model does; evaluate is refused, naming the dataset.
func TestFolderUnlabelledOnly(t *testing.T) {
	dataDir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"--mode", "prepare", "--dataset", "my_flat", "--data-dir", dataDir, "--source", writeFlatFolder(t, 48), "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "unlabelled      48 examples") {
		t.Fatalf("prepare output:\n%s", out.String())
	}
	for _, c := range []struct{ flag, value, want string }{
		{"--knn-every", "1", "--knn-every 1: the kNN monitor needs labelled train and test splits, and dataset my_flat has none"},
		{"--labelled-batch", "2", "--labelled-batch 2: want 0: dataset my_flat"},
	} {
		err := run(flatArgs(dataDir, filepath.Join(t.TempDir(), "r"), c.flag, c.value), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("pretrain %s %s: %v, want %q", c.flag, c.value, err, c.want)
		}
	}

	full := filepath.Join(t.TempDir(), "full")
	out.Reset()
	if err := run(flatArgs(dataDir, full), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	for _, want := range []string{"batches 12 unlabelled; no labelled split, so contrastive training only: no online probe, no validation after each epoch", "done: step 8 c_loss "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pretrain output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "p_loss") || strings.Contains(out.String(), "val_") {
		t.Errorf("pretrain output shows probe or validation figures:\n%s", out.String())
	}
	checkNoProbeLogs(t, full, 8)
	_, want := finalWeights(t, full)
	if slices.ContainsFunc(slices.Collect(mapKeys(want)), func(n string) bool { return strings.HasPrefix(n, "probe/") || strings.HasPrefix(n, "adam_p/") }) {
		t.Errorf("the checkpoint holds probe variables: %v", slices.Sorted(mapKeys(want)))
	}

	interrupted := filepath.Join(t.TempDir(), "interrupted")
	cmd, cout := startCLI(t, flatArgs(dataDir, interrupted))
	waitForStep(t, interrupted, 2)
	cmd.Process.Signal(syscall.SIGINT)
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Fatalf("interrupted pretrain: %v, want exit 130\n%s", err, cout)
	}
	m := regexp.MustCompile(`(?m)^interrupted at step (\d+): checkpoint ckpt-(\d+); continue with --resume$`).FindStringSubmatch(cout.String())
	if m == nil || m[1] != m[2] || m[1] == "8" {
		t.Fatalf("no line saying where it stopped mid-run:\n%s", cout)
	}
	// The resume starts at once: its event file sorts after the interrupted attempt's even in
	// the same second (tboard.NewWriter, TestNewFileSortsLast).
	if err := run([]string{"--mode", "pretrain", "--run-dir", interrupted, "--resume", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	step, got := finalWeights(t, interrupted)
	if step != 8 {
		t.Fatalf("resumed run ends at step %d", step)
	}
	sameVariables(t, "resumed after SIGINT at step "+m[1], got, want)
	checkNoProbeLogs(t, interrupted, 8)

	checkUnlabelledExport(t, dataDir, full)
	err := run([]string{"--mode", "evaluate", "--dataset", "my_flat", "--data-dir", dataDir, "--run-dir", full, "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "evaluate: dataset my_flat has no labelled split (only unlabelled: unlabelled images, label -1)") {
		t.Errorf("evaluate on a dataset without labels: %v", err)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// checkNoProbeLogs checks a run without labels' logs: metrics.jsonl has steps 1..last once
// each, no p_loss/p_acc key and no validation line; TensorBoard has train/c_loss at each step
// once and no train/p_* or val/* tag.
func checkNoProbeLogs(t *testing.T, runDir string, last int64) {
	t.Helper()
	f, err := os.Open(filepath.Join(runDir, rundir.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var steps []int64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("metrics.jsonl line %q: %v", sc.Text(), err)
		}
		_, pl := r["p_loss"]
		_, pa := r["p_acc"]
		if r["type"] != "step" || pl || pa {
			t.Errorf("metrics.jsonl line %s: want a step line without p_loss or p_acc", sc.Text())
		}
		if g, ok := r["global_step"].(float64); ok {
			steps = append(steps, int64(g))
		}
	}
	if len(steps) != int(last) || !slices.IsSorted(steps) || steps[0] != 1 || steps[len(steps)-1] != last {
		t.Errorf("metrics.jsonl logs steps %v, want 1..%d once each", steps, last)
	}
	scalars := tensorBoardSteps(t, runDir)
	var tags []string
	for tag := range scalars {
		tags = append(tags, tag)
		if strings.HasPrefix(tag, "train/p_") || strings.HasPrefix(tag, "val/") {
			t.Errorf("TensorBoard has %s for a run without labels", tag)
		}
	}
	sort.Strings(tags)
	tb := scalars["train/c_loss"]
	if len(tb) != int(last) || !slices.IsSorted(tb) || tb[0] != 1 || tb[len(tb)-1] != last {
		t.Errorf("TensorBoard train/c_loss has steps %v, want 1..%d once each (tags %v)", tb, last, tags)
	}
}

// checkUnlabelledExport exports runDir and checks the SavedModel: embedding alone, Python's
// outputs on the split's images (the loader's resize to 64×64×3, as embed reads them) equal
// embed --run-dir's within 1e-5, and embed --model gives the same.
func checkUnlabelledExport(t *testing.T, dataDir, runDir string) {
	t.Helper()
	model := filepath.Join(t.TempDir(), "model")
	var out bytes.Buffer
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", model}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("export: %v", err)
	}
	if !strings.Contains(out.String(), "outputs embedding [N,32] only (the run was trained without labels: no probe, no logits or probabilities)") {
		t.Errorf("export output: %s", out.String())
	}
	embedWith := func(src ...string) []float32 {
		npz := filepath.Join(t.TempDir(), "emb.npz")
		args := append([]string{"--mode", "embed", "--dataset", "my_flat", "--data-dir", dataDir, "--split", "unlabelled", "--image-size", "64", "--channels", "3", "--out", npz, "--quiet"}, src...)
		if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatalf("embed %v: %v", src, err)
		}
		a, err := npy.ReadNPZ(npz)
		if err != nil {
			t.Fatal(err)
		}
		if l := a["labels"].Data.([]int64); len(l) != 48 || slices.ContainsFunc(l, func(v int64) bool { return v != -1 }) {
			t.Errorf("embed %v: labels %v, want 48 × -1", src, l)
		}
		return a["embeddings"].Data.([]float32)
	}
	fromRun, fromModel := embedWith("--run-dir", runDir), embedWith("--model", model)
	if e := testutil.MaxRel(fromModel, fromRun); e > 1e-5 {
		t.Errorf("embed --model differs from embed --run-dir by %.3g relative", e)
	}
	pix := splitImages(t, dataDir, loader.Shape{Height: 64, Width: 64, Channels: 3})
	dir := t.TempDir()
	in, pyOut := filepath.Join(dir, "in.npz"), filepath.Join(dir, "out.npz")
	if err := npy.WriteNPZ(in, map[string]npy.Array{"images": {Shape: []int{48, 64, 64, 3}, Data: pix}}); err != nil {
		t.Fatal(err)
	}
	testpy.Run(t, smRef, "run", model, in, pyOut)
	py, err := npy.ReadNPZ(pyOut)
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(mapKeys(py)); !slices.Equal(keys, []string{"embedding"}) {
		t.Errorf("the SavedModel's signature outputs %v, want embedding alone", keys)
	}
	if e := testutil.MaxRel(py["embedding"].Data.([]float32), fromRun); e > 1e-5 {
		t.Errorf("Python's embedding differs from embed --run-dir by %.3g relative (want <= 1e-5)", e)
	}
}

// splitImages reads the split unlabelled of my_flat at shape, in file order, as embed does.
func splitImages(t *testing.T, dataDir string, shape loader.Shape) []uint8 {
	t.Helper()
	ds, err := loader.Open(dataDir, "my_flat")
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ds.Split("unlabelled")
	if err != nil {
		t.Fatal(err)
	}
	r, err := sp.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	it, err := loader.NewBatchIterator(r, loader.BatchConfig{BatchSize: 16, Output: shape})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var pix []uint8
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			return pix
		}
		if err != nil {
			t.Fatal(err)
		}
		pix = append(pix, b.Images...)
	}
}
