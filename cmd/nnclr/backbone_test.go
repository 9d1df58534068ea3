package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/kerasfixture"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/internal/testutil"
	rundir "github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// resnetArgs is a tiny ResNet pretraining on real Fashion-MNIST at 32×32 (grey images replicated
// to 3 channels): 8 + 4 images per step, a queue of 48 rows, 2 steps per epoch.
func resnetArgs(dataDir, runDir string, epochs int, extra ...string) []string {
	return append([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--channels", "3", "--queue-size", "48", "--unlabelled-batch", "8", "--labelled-batch", "4",
		"--epochs", strconv.Itoa(epochs), "--steps-per-epoch", "2", "--shuffle-buffer", "32", "--seed", "6", "--quiet"}, extra...)
}

// TestPretrainResNet18: --backbone resnet18 (the cifar stem, by the 32-pixel size, and the
// imagenet input normalisation) trains; the start line names backbone, stem and normalisation;
// run.json records them; a run of 2 epochs resumed to 3 equals a run of 3 epochs in every
// variable (weights, Adam slots, BN moving statistics, queue); the export gives in Python
// (tf.saved_model.load) the features and logits of the Go model on the same uint8 images
// (relative 1e-5); embed through the export equals embed through the run; evaluate runs on the
// run's dataset and data dir (run.json's: neither flag given).
func TestPretrainResNet18(t *testing.T) {
	dataDir := smallFashion(t, 48)
	base := t.TempDir()
	resumed, straight := filepath.Join(base, "resumed"), filepath.Join(base, "straight")
	norm := []string{"--backbone", "resnet18", "--input-norm", "imagenet"}
	var out bytes.Buffer
	if err := run(resnetArgs(dataDir, resumed, 2, norm...), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v\n%s", err, out.String())
	}
	if want := "model 32x32x3 resnet18 (cifar stem, 512 features), input norm imagenet, queue 48"; !strings.Contains(out.String(), want) {
		t.Errorf("start line lacks %q:\n%s", want, out.String())
	}
	cfg, err := rundir.ReadConfig(resumed)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Backbone != "resnet18" || cfg.Stem != "cifar" || cfg.InputNorm != "imagenet" {
		t.Errorf("run.json: backbone %q stem %q input_norm %q", cfg.Backbone, cfg.Stem, cfg.InputNorm)
	}
	// A resume keeps backbone, stem and normalisation: another is refused, naming the flag.
	for _, bad := range [][]string{{"--backbone", "resnet50"}, {"--stem", "imagenet"}, {"--input-norm", "unit"}} {
		err := run(append([]string{"--mode", "pretrain", "--run-dir", resumed, "--resume", "--epochs", "3", "--quiet"}, bad...), &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), bad[0]+" "+bad[1]+": differs from the run's") {
			t.Errorf("resume with %v: %v", bad, err)
		}
	}
	if err := run([]string{"--mode", "pretrain", "--run-dir", resumed, "--resume", "--epochs", "3", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if err := run(resnetArgs(dataDir, straight, 3, norm...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	stepR, wr := finalWeights(t, resumed)
	stepS, ws := finalWeights(t, straight)
	if stepR != 6 || stepS != 6 {
		t.Fatalf("final steps %d and %d, want 6", stepR, stepS)
	}
	if _, ok := wr["enc/conv5_block2_2_bn/moving_variance"]; !ok {
		t.Fatal("the checkpoint lacks the BN moving statistics")
	}
	sameVariables(t, "resnet18 resumed", wr, ws)

	checkExportInPython(t, resumed, 32, 3)
	model := filepath.Join(t.TempDir(), "m")
	if err := run([]string{"--mode", "export", "--run-dir", resumed, "--out", model}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	embed := func(args ...string) []float32 {
		p := filepath.Join(t.TempDir(), "e.npz")
		if err := run(append([]string{"--mode", "embed", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--split", "test",
			"--out", p, "--image-size", "32", "--channels", "3"}, args...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		a, err := npy.ReadNPZ(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a["embeddings"].Shape, []int{48, 512}) {
			t.Fatalf("embeddings %v", a["embeddings"].Shape)
		}
		return a["embeddings"].Data.([]float32)
	}
	if r := testutil.MaxRel(embed("--model", model), embed("--run-dir", resumed)); r > 1e-5 {
		t.Errorf("embeddings through the export and through the run differ: %.3g", r)
	}
	evalOut := filepath.Join(t.TempDir(), "eval.json")
	if err := run([]string{"--mode", "evaluate", "--run-dir", resumed, "--no-prepare", "--out", evalOut, "--linear-epochs", "2"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
}

// checkExportInPython exports the run and compares Python's outputs of the SavedModel
// (tf.saved_model.load, serving_default on uint8 images) with the Go model's Forward on the same
// images: features and logits within 1e-5 relative.
func checkExportInPython(t *testing.T, runDir string, size, channels int) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "model")
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 3))
	const n = 5
	pix := make([]uint8, n*size*size*channels)
	for i := range pix {
		pix[i] = uint8(r.IntN(256))
	}
	o, err := rundir.Open(runDir, "")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tfgraph.NewModel(o.Model, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Restore(o.Checkpoint); err != nil {
		t.Fatal(err)
	}
	x, err := tfrun.NewFloatTensor([]int64{n, int64(size), int64(size), int64(channels)}, func(d []float32) error {
		for i, p := range pix {
			d[i] = float32(p) / 255
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	feat, _, logits, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, pyOut := filepath.Join(dir, "in.npz"), filepath.Join(dir, "out.npz")
	if err := npy.WriteNPZ(in, map[string]npy.Array{"images": {Shape: []int{n, size, size, channels}, Data: pix}}); err != nil {
		t.Fatal(err)
	}
	testpy.Run(t, smRef, "run", out, in, pyOut)
	py, err := npy.ReadNPZ(pyOut)
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRel(py["embedding"].Data.([]float32), feat); e > 1e-5 {
		t.Errorf("Python's embedding of the export differs from Go's features: %.3g", e)
	}
	if e := testutil.MaxRel(py["logits"].Data.([]float32), logits); e > 1e-5 {
		t.Errorf("Python's logits of the export differ from Go's: %.3g", e)
	}
}

// kerasResNet50 writes a Keras ResNet-50 SavedModel (random weights and BN statistics) for
// SIZE×SIZE×3 images with testdata/keras_resnet50.py and returns its directory.
func kerasResNet50(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	testpy.Run(t, "testdata/keras_resnet50.py", dir, strconv.Itoa(size), "4")
	return dir
}

// TestInitFromKerasResNet50: --init-from a SavedModel of keras.applications.ResNet50 (exported
// with model.export) maps every variable of the resnet50 encoder, moving statistics included,
// so that right after set-up the Go model's weights equal Keras's exactly and its features of
// the same uint8 images (with the caffe normalisation --init-from defaults to) equal those of
// Keras's preprocess_input + model within 1e-5 relative; the CLI trains from it, says which
// normalisation it took and what starts from the seed; a resnet18 run refuses the SavedModel
// naming the first variable that does not match, and a conv4 fixture SavedModel is refused by
// a resnet50 run. The trained resnet50's export gives in Python the Go model's outputs.
func TestInitFromKerasResNet50(t *testing.T) {
	const size = 32
	kdir := kerasResNet50(t, size)
	export := filepath.Join(kdir, "export")
	dataDir := smallFashion(t, 24)

	// The library: set up a run and compare before any step.
	cfg := rundir.DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.ImageSize, cfg.Channels, cfg.QueueSize = "fashion_mnist", dataDir, size, 3, 24
	cfg.UnlabelledBatch, cfg.LabelledBatch, cfg.StepsPerEpoch = 8, 4, 1
	cfg.Backbone, cfg.Stem, cfg.InputNorm, cfg.InitFrom = "resnet50", "imagenet", "caffe", export
	var log bytes.Buffer
	tr, err := rundir.Create(filepath.Join(t.TempDir(), "lib"), cfg, rundir.Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	keras, err := npy.ReadNPZ(filepath.Join(kdir, "weights.npz"))
	if err != nil {
		t.Fatal(err)
	}
	mc := tr.Model.Config()
	specs := append(mc.EncoderVars(), mc.EncoderStatVars()...)
	got, err := tr.Model.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		want, ok := keras[strings.TrimPrefix(sp.Name, "enc/")]
		if !ok {
			t.Fatalf("Keras has no weight %s", sp.Name)
		}
		if !slices.Equal(got[sp.Name].Float, want.Data.([]float32)) {
			t.Errorf("%s differs from Keras's after --init-from", sp.Name)
		}
	}
	if len(specs) != len(keras) {
		t.Errorf("resnet50 has %d variables and statistics, Keras's ResNet50 %d", len(specs), len(keras))
	}
	imgs, err := npy.ReadNPZ(filepath.Join(kdir, "images.npz"))
	if err != nil {
		t.Fatal(err)
	}
	pix := imgs["images"].Data.([]uint8)
	x, err := tfrun.NewFloatTensor([]int64{4, size, size, 3}, func(d []float32) error {
		for i, p := range pix {
			d[i] = float32(p) / 255
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	feat, _, _, err := tr.Model.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	kf, err := npy.ReadNPZ(filepath.Join(kdir, "features.npz"))
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRel(feat, kf["features"].Data.([]float32)); e > 1e-5 {
		t.Errorf("features after --init-from differ from Keras's preprocess_input + ResNet50: %.3g", e)
	} else {
		t.Logf("features after --init-from: relative error %.3g to Keras's", e)
	}
	if !strings.Contains(log.String(), "enc/conv1_conv/kernel <- conv1_conv/kernel") || !strings.Contains(log.String(), "from the seed: head/dense0/kernel") {
		t.Errorf("init log:\n%s", log.String())
	}

	// The CLI: the caffe normalisation by default, one step.
	var out bytes.Buffer
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--image-size", "32", "--channels", "3",
		"--queue-size", "24", "--unlabelled-batch", "8", "--labelled-batch", "4", "--epochs", "1", "--steps-per-epoch", "1", "--quiet", "--init-from", export}
	cliRun := filepath.Join(t.TempDir(), "cli")
	if err := run(append(args, "--run-dir", cliRun, "--backbone", "resnet50", "--stem", "imagenet"), &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain --init-from: %v\n%s", err, out.String())
	}
	checkExportInPython(t, cliRun, size, 3) // the caffe normalisation built into the export
	for _, want := range []string{"input norm caffe", "input normalisation caffe (keras.applications.resnet.preprocess_input), the default with --init-from", "318 variables from the SavedModel"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("pretrain output lacks %q:\n%s", want, out.String())
		}
	}
	// Another architecture: refused, naming the first variable that does not match; nothing written.
	other := filepath.Join(t.TempDir(), "other")
	err = run(append(args, "--run-dir", other, "--backbone", "resnet18", "--stem", "imagenet"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "enc/conv2_block1_1_conv/kernel is [3 3 64 64], the SavedModel's conv2_block1_1_conv/kernel is [1 1 64 64]") {
		t.Errorf("resnet18 --init-from a ResNet-50: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "checkpoints")); err == nil {
		t.Errorf("a refused --init-from left checkpoints in %s", other)
	}
	fx := kerasfixture.Get(t)
	err = run(append(args, "--run-dir", filepath.Join(t.TempDir(), "conv4"), "--backbone", "resnet50", "--init-from", filepath.Join(fx.Dir, "tfsm")), &bytes.Buffer{}, &bytes.Buffer{})
	// (the cifar stem by the 32-pixel size: the error also points at --stem imagenet)
	if err == nil || !strings.Contains(err.Error(), "enc/conv1_conv/kernel has no variable conv1_conv/kernel") || !strings.Contains(err.Error(), "--stem imagenet") {
		t.Errorf("resnet50 --init-from the conv4 fixture: %v", err)
	}
}

// TestBackboneBadInput: each bad backbone setting is one error naming the flag and the reason,
// and the run directory is not created.
func TestBackboneBadInput(t *testing.T) {
	dataDir := smallFashion(t, 24)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown backbone", []string{"--backbone", "resnet34"}, "--backbone resnet34: want one of conv4, resnet18, resnet50"},
		{"unknown stem", []string{"--backbone", "resnet18", "--stem", "tiny"}, "--stem tiny: want one of imagenet, cifar"},
		{"stem on conv4", []string{"--stem", "cifar"}, "--stem cifar: only a ResNet backbone has a stem (backbone conv4)"},
		{"unknown input norm", []string{"--input-norm", "zscore"}, "--input-norm zscore: want one of unit, imagenet, caffe"},
		{"width with a ResNet", []string{"--backbone", "resnet18", "--width", "64"}, "--width 64: conv4's setting, and --backbone resnet18 has fixed widths"},
		{"too small for resnet50", []string{"--backbone", "resnet50", "--stem", "imagenet", "--image-size", "16"},
			"--image-size 16: input 16×16 too small for resnet50 with the imagenet stem (want at least 32×32)"},
		{"caffe on grey images", []string{"--backbone", "resnet18", "--input-norm", "caffe"}, "--input-norm caffe: normalises RGB images: want 3 channels, not 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runDir := filepath.Join(t.TempDir(), "run")
			args := append([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
				"--image-size", "32", "--epochs", "1", "--steps-per-epoch", "2", "--queue-size", "24", "--quiet"}, tc.args...)
			err := run(args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(runDir, "checkpoints")); err == nil {
				t.Errorf("a refused run left checkpoints in %s", runDir)
			}
		})
	}
}
