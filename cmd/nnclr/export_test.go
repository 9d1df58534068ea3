package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

const smRef = "../../savedmodel/testdata/sm_ref.py"

// smallRun pretrains a tiny model on real Fashion-MNIST and returns the data and run dirs.
func smallRun(t *testing.T) (dataDir, runDir string) {
	t.Helper()
	dataDir = smallFashion(t, 80)
	runDir = filepath.Join(t.TempDir(), "run")
	args := []string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2", "--seed", "5", "--quiet"}
	if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v", err)
	}
	return dataDir, runDir
}

// TestExportRoundTrip exports a Go-trained run and checks that Python's tf.saved_model.load,
// saved_model_cli (show and run) and graft's own loader give the Go model's outputs.
func TestExportRoundTrip(t *testing.T) {
	_, runDir := smallRun(t)
	out := filepath.Join(t.TempDir(), "model")
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", out}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	// Go's own forward pass on the same images (evaluation path ÷255) from the checkpoint.
	r := rand.New(rand.NewPCG(9, 9))
	const n = 6
	pix := make([]uint8, n*32*32)
	for i := range pix {
		pix[i] = uint8(r.IntN(256))
	}
	latest, err := tfgraph.LatestCheckpoint(filepath.Join(runDir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width, mc.QueueSize = 32, 32, 96
	if mc, err = tfgraph.ModelFromCheckpoint(mc, latest); err != nil {
		t.Fatal(err)
	}
	m, err := tfgraph.NewModel(mc, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Restore(latest); err != nil {
		t.Fatal(err)
	}
	eval, _ := augment.New(augment.EvalConfig(32, 32), 0)
	x, err := tfrun.NewFloatTensor([]int64{n, 32, 32, 1}, func(d []float32) error {
		return eval.Apply(d, augment.Images{Pix: pix, N: n, H: 32, W: 32, C: 1}, 0, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	feat, _, logits, err := m.Forward(x)
	if err != nil {
		t.Fatal(err)
	}

	// Python tf.saved_model.load.
	dir := t.TempDir()
	in := filepath.Join(dir, "in.npz")
	if err := npy.WriteNPZ(in, map[string]npy.Array{"images": {Shape: []int{n, 32, 32, 1}, Data: pix}}); err != nil {
		t.Fatal(err)
	}
	pyOut := filepath.Join(dir, "out.npz")
	testpy.Run(t, smRef, "run", out, in, pyOut)
	py, err := npy.ReadNPZ(pyOut)
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRel(py["embedding"].Data.([]float32), feat); e > 1e-5 {
		t.Errorf("python embedding differs from Go: %.3g", e)
	}
	if e := testutil.MaxRel(py["logits"].Data.([]float32), logits); e > 1e-5 {
		t.Errorf("python logits differ from Go: %.3g", e)
	}

	// saved_model_cli show and run.
	cli := filepath.Join(filepath.Dir(testpy.Interpreter(t)), "saved_model_cli")
	show, err := exec.Command(cli, "show", "--dir", out, "--all").CombinedOutput()
	if err != nil || !strings.Contains(string(show), "signature_def['serving_default']") || !strings.Contains(string(show), "outputs['embedding']") {
		t.Fatalf("saved_model_cli show: %v\n%s", err, show)
	}
	npyIn := filepath.Join(dir, "x.npy")
	f, err := os.Create(npyIn)
	if err != nil {
		t.Fatal(err)
	}
	npy.Encode(f, npy.Array{Shape: []int{n, 32, 32, 1}, Data: pix})
	f.Close()
	cliOut := filepath.Join(dir, "cli")
	if o, err := exec.Command(cli, "run", "--dir", out, "--tag_set", "serve", "--signature_def", "serving_default",
		"--inputs", "images="+npyIn, "--outdir", cliOut).CombinedOutput(); err != nil {
		t.Fatalf("saved_model_cli run: %v\n%s", err, o)
	}
	ef, err := os.Open(filepath.Join(cliOut, "embedding.npy"))
	if err != nil {
		t.Fatal(err)
	}
	ea, err := npy.Decode(ef)
	ef.Close()
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRel(ea.Data.([]float32), feat); e > 1e-5 {
		t.Errorf("saved_model_cli run embedding differs from Go: %.3g", e)
	}

	// The Go loader (savedmodel.Load) on the exported uint8 signature.
	lm, err := savedmodel.Load(out, nil, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer lm.Close()
	sig, err := lm.ImageSignature(savedmodel.DefaultSignature, "", "")
	if err != nil || !sig.Uint8 {
		t.Fatalf("image signature %+v, %v", sig, err)
	}
	gf, _, err := lm.RunImages(sig, pix, n, 32, 32, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if e := testutil.MaxRel(gf, feat); e > 1e-5 {
		t.Errorf("Go-loaded embedding differs: %.3g", e)
	}
}
