package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfrun"

	"github.com/nnclr/nnclr/loader"
	rundir "github.com/nnclr/nnclr/run"
)

const fashionDir = "/usr/share/datasets/fashion-mnist"

// smallFashion writes the first n images of each real Fashion-MNIST split in the tfds layout.
func smallFashion(t *testing.T, n int) string {
	t.Helper()
	dataDir := t.TempDir()
	if err := loader.ImportFashionMNIST(fashionDir, dataDir, n, loader.WriterOptions{}); err != nil {
		t.Fatalf("import Fashion-MNIST from %s (make setup installs dataset-fashion-mnist): %v", fashionDir, err)
	}
	return dataDir
}

func readJSONL(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestPretrainSmallRunAndResume(t *testing.T) {
	dataDir := smallFashion(t, 160)
	runDir := filepath.Join(t.TempDir(), "run")
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "4",
		"--shuffle-buffer", "64", "--seed", "3", "--quiet"}
	var out bytes.Buffer
	if err := run(args, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	recs := readJSONL(t, filepath.Join(runDir, "metrics.jsonl"))
	if len(recs) != 5 || recs[0]["type"] != "step" || recs[4]["type"] != "validation" || recs[3]["global_step"] != 4.0 {
		t.Fatalf("metrics.jsonl: %v", recs)
	}
	for _, k := range []string{"c_loss", "c_acc", "r_acc", "p_loss", "p_acc", "images_per_second"} {
		if _, ok := recs[0][k]; !ok {
			t.Errorf("step record lacks %s", k)
		}
	}
	if !strings.Contains(out.String(), "checkpoint: "+filepath.Join(runDir, "checkpoints", "ckpt-4")) {
		t.Errorf("summary lacks the checkpoint:\n%s", out.String())
	}
	// Same run dir without --resume is refused; with --resume and 2 epochs it continues.
	err := run(args, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "pass --resume") || exitCode(err) != 2 {
		t.Fatalf("rerun without --resume: %v", err)
	}
	err = run(append(append([]string{}, args...), "--resume", "--seed", "4"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--seed 4: differs from the run's 3") {
		t.Fatalf("resume with another seed: %v", err)
	}
	err = run(append(append([]string{}, args...), "--resume", "--width", "16"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--width 16: differs") {
		t.Fatalf("resume with another width: %v", err)
	}
	err = run(append(append([]string{}, args...), "--resume", "--init-from", "model"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--init-from model: a resumed run continues from its checkpoint") || exitCode(err) != 2 {
		t.Fatalf("resume with --init-from: %v", err)
	}
	// Flags not given keep the run's values (run.json): only the new epoch count is given.
	more := []string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--epochs", "2", "--quiet"}
	out.Reset()
	if err := run(more, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "model 32x32x1 conv4 width 8, queue 96; from step 4") {
		t.Errorf("resume without the run's flags:\n%s", out.String())
	}
	recs = readJSONL(t, filepath.Join(runDir, "metrics.jsonl"))
	if len(recs) != 10 || recs[8]["global_step"] != 8.0 {
		t.Fatalf("after resume, metrics.jsonl has %d records: %v", len(recs), recs)
	}
	checkTensorBoard(t, runDir, recs)
}

// checkTensorBoard reads the run dir's event files with TensorBoard's own data provider and
// compares every train/ and val/ scalar with metrics.jsonl, and finds the flags text.
func checkTensorBoard(t *testing.T, runDir string, recs []map[string]any) {
	t.Helper()
	raw := testpy.Run(t, "../../tboard/testdata/read_events.py", runDir)
	var all map[string]struct {
		DataProvider struct {
			Scalars map[string][]struct {
				Step  int64  `json:"step"`
				Value string `json:"value"`
			} `json:"scalars"`
			Text map[string][]struct {
				Step    int64    `json:"step"`
				Strings []string `json:"strings"`
			} `json:"text"`
		} `json:"data_provider"`
	}
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("read_events output: %v\n%s", err, raw)
	}
	dp := all[runDir].DataProvider
	want := map[string]map[int64]float64{}
	for _, r := range recs {
		step := int64(r["global_step"].(float64))
		pre, keys := "train/", []string{"c_loss", "c_acc", "r_acc", "p_loss", "p_acc"}
		if r["type"] == "validation" {
			pre, keys = "val/", []string{"p_loss", "p_acc"}
		}
		for _, k := range keys {
			jk := k
			if pre == "val/" {
				jk = "val_" + k
			}
			if want[pre+k] == nil {
				want[pre+k] = map[int64]float64{}
			}
			want[pre+k][step] = r[jk].(float64)
		}
	}
	for tag, steps := range want {
		got := dp.Scalars[tag]
		if len(got) != len(steps) {
			t.Errorf("TensorBoard has %d points of %s, metrics.jsonl %d", len(got), tag, len(steps))
			continue
		}
		for _, p := range got {
			v, err := strconv.ParseFloat(p.Value, 64)
			if err != nil {
				t.Fatal(err)
			}
			if w, ok := steps[p.Step]; !ok || float32(w) != float32(v) {
				t.Errorf("%s step %d: TensorBoard %v, metrics.jsonl %v", tag, p.Step, v, w)
			}
		}
	}
	if txt := dp.Text["config"]; len(txt) == 0 || !strings.Contains(strings.Join(txt[0].Strings, ""), "| seed | 3 |") {
		t.Errorf("flags text: %+v", dp.Text)
	}
}

func TestPretrainBadInput(t *testing.T) {
	dataDir := smallFashion(t, 80)
	base := []string{"--mode", "pretrain", "--data-dir", dataDir, "--image-size", "32", "--width", "8", "--epochs", "1", "--quiet"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown dataset", []string{"--dataset", "cifar10", "--run-dir", t.TempDir()}, "known datasets: [stl10 fashion_mnist]"},
		{"queue smaller than batch", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--queue-size", "10", "--steps-per-epoch", "2"}, "--queue-size 10: smaller than the contrastive batch 80"},
		{"batches empty", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--steps-per-epoch", "1000"}, "empty batch at 1000 steps per epoch"},
		{"batch does not divide", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--steps-per-epoch", "2", "--labelled-batch", "50"},
			"split train: 2 steps of 50 examples need 100, the split has 80"},
		{"no run dir", []string{"--dataset", "fashion_mnist"}, "needs --run-dir"},
		{"resume without checkpoint", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--resume"}, "no checkpoint"},
		{"grayscale on 1 channel", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--grayscale-prob", "0.2"},
			"--grayscale-prob 0.2: needs 3-channel images, but the model takes 1 (dataset fashion_mnist has 1): set channels to 3"},
		{"hue jitter on 1 channel", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--jitter-prob", "0.8", "--jitter", "0.4,0.4,0,0.1"},
			"--jitter [0.4 0.4 0 0.1]: needs 3-channel images"},
		{"jitter probability", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--jitter-prob", "1.5"}, "--jitter-prob 1.5: want a probability in [0, 1]"},
		{"jitter of 3 values", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--jitter", "0.4,0.4,0.2"}, "--jitter [0.4 0.4 0.2]: want 4 strengths"},
		{"hue strength", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--jitter", "0.4,0.4,0.2,0.6"}, "want a hue strength in [0, 0.5]"},
		{"blur sigma range", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--blur-prob", "1", "--blur-sigma", "2,1"}, "--blur-sigma [2 1]: above blur_sigma_hi 1: empty blur sigma range"},
		{"blur probability", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--blur-prob", "-0.1"}, "--blur-prob -0.1: want a probability in [0, 1]"},
		{"solarize probabilities", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--solarize-prob", "0,1.2"}, "--solarize-prob [0 1.2]: want a probability in [0, 1]"},
		{"three blur probabilities", []string{"--dataset", "fashion_mnist", "--run-dir", t.TempDir(), "--blur-prob", "1,0.1,0.5"}, "--blur-prob [1 0.1 0.5]: want one probability for both views"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(append(append([]string{}, base...), tc.args...), &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestPretrainBatchOverrides(t *testing.T) {
	dataDir := smallFashion(t, 80)
	var out bytes.Buffer
	err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", t.TempDir(),
		"--image-size", "32", "--width", "8", "--queue-size", "64", "--epochs", "1", "--steps-per-epoch", "2",
		"--unlabelled-batch", "24", "--labelled-batch", "8", "--quiet"}, &out, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "batches 24 unlabelled + 8 labelled, test 32") {
		t.Fatalf("overrides not used:\n%s", out.String())
	}
}

// TestPretrainPaperAugmentations: the paper's optional augmentations, turned on by flags on a
// 3-channel model, change what the first step sees (same seed, data and weights: another
// contrastive loss), are recorded in run.json, and a resume with other settings is refused.
func TestPretrainPaperAugmentations(t *testing.T) {
	dataDir := smallFashion(t, 80)
	base := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--image-size", "32",
		"--channels", "3", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2",
		"--shuffle-buffer", "32", "--seed", "5", "--quiet"}
	var out bytes.Buffer
	firstLoss := func(runDir string, extra ...string) float64 {
		t.Helper()
		out.Reset()
		if err := run(append(append(append([]string{}, base...), "--run-dir", runDir), extra...), &out, &bytes.Buffer{}); err != nil {
			t.Fatalf("pretrain %v: %v", extra, err)
		}
		return readJSONL(t, filepath.Join(runDir, "metrics.jsonl"))[0]["c_loss"].(float64)
	}
	plainA := firstLoss(filepath.Join(t.TempDir(), "a"))
	plainB := firstLoss(filepath.Join(t.TempDir(), "b"))
	if plainA != plainB {
		t.Fatalf("two runs with the same seed: first c_loss %v and %v", plainA, plainB)
	}
	if strings.Contains(out.String(), "also get the paper's") {
		t.Errorf("a run without the options says it has some:\n%s", out.String())
	}
	paperDir := filepath.Join(t.TempDir(), "paper")
	opts := []string{"--jitter-prob", "1", "--jitter", "0.4,0.4,0.2,0.1", "--grayscale-prob", "0.5", "--blur-prob", "1,0.1",
		"--blur-sigma", "0.5,2", "--solarize-prob", "0,0.2"}
	paper := firstLoss(paperDir, opts...)
	if paper == plainA {
		t.Fatalf("first c_loss %v with the paper's augmentations, the same as without", paper)
	}
	t.Logf("first c_loss: %v plain, %v with jitter, grayscale, blur and solarization", plainA, paper)
	const say = "contrastive views also get the paper's colour jitter (p 1, strengths [0.4 0.4 0.2 0.1]), grayscale (p 0.5), blur (p [1 0.1], sigma [0.5 2]), solarization (p [0 0.2])"
	if !strings.Contains(out.String(), say) {
		t.Errorf("pretrain output does not say %q:\n%s", say, out.String())
	}
	flags, err := rundir.ReadConfig(paperDir)
	if err != nil {
		t.Fatal(err)
	}
	if flags.JitterProb != 1 || flags.GrayscaleProb != 0.5 || fmt.Sprint(flags.BlurProb) != "[1 0.1]" || flags.BlurSigma[0] != 0.5 ||
		flags.Jitter[3] != 0.1 || fmt.Sprint(flags.SolarizeProb) != "[0 0.2]" {
		t.Errorf("run.json: %+v", flags)
	}
	resume := append(append(append([]string{}, base...), "--run-dir", paperDir, "--resume", "--epochs", "2"), opts...)
	resume[slices.Index(resume, "--grayscale-prob")+1] = "0.2"
	err = run(resume, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--grayscale-prob 0.2: differs from the run's 0.5") {
		t.Fatalf("resume with another --grayscale-prob: %v", err)
	}
}

// TestPrecisionEndToEnd: --precision bf16 pretrains, is recorded and kept on resume (another
// precision is refused unless --allow-precision-change), exports a float32 SavedModel, and embeds;
// fp16 without a GPU is refused naming what was found.
func TestPrecisionEndToEnd(t *testing.T) {
	dataDir := smallFashion(t, 80)
	runDir := filepath.Join(t.TempDir(), "run")
	base := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2", "--quiet"}
	err := run(append(append([]string{}, base...), "--precision", "fp16", "--device", "cpu"), &bytes.Buffer{}, &bytes.Buffer{})
	if !errors.Is(err, tfrun.ErrPrecision) || !strings.Contains(err.Error(), "fp16 is TensorFlow's GPU rewrite and this session sees no GPU") {
		t.Fatalf("fp16 on a CPU: %v", err)
	}
	if !tfrun.HostCPUFeatures().BF16() {
		err := run(append(append([]string{}, base...), "--precision", "bf16"), &bytes.Buffer{}, &bytes.Buffer{})
		if !errors.Is(err, tfrun.ErrPrecision) || !strings.Contains(err.Error(), "neither avx512_bf16 nor amx_bf16") {
			t.Fatalf("bf16 on a CPU without it: %v", err)
		}
		return
	}
	if err := run(append(append([]string{}, base...), "--precision", "bf16"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if cfg, err := rundir.ReadConfig(runDir); err != nil || cfg.Precision != "bf16" {
		t.Fatalf("run.json precision %q, %v", cfg.Precision, err)
	}
	resume := []string{"--mode", "pretrain", "--run-dir", runDir, "--resume", "--epochs", "2", "--quiet"}
	err = run(append(append([]string{}, resume...), "--precision", "fp32"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "--precision fp32: differs from the run's bf16") {
		t.Fatalf("resume in fp32: %v", err)
	}
	if err := run(resume, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("resume in the run's bf16: %v", err)
	}
	if err := run(append(append([]string{}, resume...), "--epochs", "3", "--precision", "fp32", "--allow-precision-change"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("resume in fp32, allowed: %v", err)
	}
	model := filepath.Join(t.TempDir(), "m")
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", model}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	infos, err := savedmodel.Read(model)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range infos[0].Signatures[0].Outputs {
		if v.DType.String() != "DT_FLOAT" {
			t.Errorf("exported output %s is %s, want float32", v.Key, v.DType)
		}
	}
	var o bytes.Buffer
	if err := run([]string{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir, "--precision", "bf16",
		"--out", filepath.Join(t.TempDir(), "e.npz"), "--quiet"}, &o, &bytes.Buffer{}); err != nil || !strings.Contains(o.String(), "into 8 dimensions") {
		t.Fatalf("embed in bf16: %v\n%s", err, o.String())
	}
}

// TestAutoResume: --auto-resume starts a run in an empty run dir and continues it when the dir
// holds a checkpoint, as a restarted job needs.
func TestAutoResume(t *testing.T) {
	dataDir := smallFashion(t, 80)
	runDir := filepath.Join(t.TempDir(), "run")
	args := func(epochs string) []string {
		return []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir, "--image-size", "32",
			"--width", "8", "--queue-size", "96", "--epochs", epochs, "--steps-per-epoch", "2", "--auto-resume", "--quiet"}
	}
	var out bytes.Buffer
	if err := run(args("1"), &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "from step 0") {
		t.Fatalf("first start: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := run(args("2"), &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "from step 2") {
		t.Fatalf("restart: %v\n%s", err, out.String())
	}
}

// TestPresetPaper: --preset paper pretrains with the paper's heads and augmentations (grey
// Fashion-MNIST replicated into 3 channels), records the resolved values in run.json, resumes
// with a flag given over the preset's run, and exports; resuming with --preset example is refused.
func TestPresetPaper(t *testing.T) {
	dataDir := smallFashion(t, 80)
	runDir := filepath.Join(t.TempDir(), "run")
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--channels", "3", "--width", "8", "--queue-size", "96", "--steps-per-epoch", "2", "--seed", "5", "--quiet",
		"--preset", "paper"}
	var out bytes.Buffer
	if err := run(append(args, "--epochs", "1"), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain --preset paper: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "prediction head hidden 4096") || !strings.Contains(out.String(), "colour jitter") {
		t.Errorf("pretrain output does not name the paper's options:\n%s", out.String())
	}
	cfg, err := rundir.ReadConfig(runDir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Preset != "paper" || !cfg.HeadBN || cfg.PredHidden != 4096 || cfg.ProjHidden != 2048 || cfg.ProjDim != 256 || cfg.JitterProb != 0.8 {
		t.Fatalf("run.json after --preset paper: %+v", cfg)
	}
	if err := run([]string{"--mode", "pretrain", "--run-dir", runDir, "--data-dir", dataDir, "--resume", "--epochs", "2", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	err = run([]string{"--mode", "pretrain", "--run-dir", runDir, "--data-dir", dataDir, "--resume", "--epochs", "3", "--preset", "example", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "differs from the run's") {
		t.Fatalf("resume with --preset example: %v", err)
	}
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", filepath.Join(t.TempDir(), "m")}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("export: %v", err)
	}
}
