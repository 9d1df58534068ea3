package run_test

import (
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/run"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

// writeShapes writes a small generated dataset "shapes" in the tfds layout under dataDir:
// 32×32 RGB images of four classes (a bright square of the class's colour on noise), with
// train (labelled), unlabelled and test splits.
func writeShapes(dataDir string) error {
	r := rand.New(rand.NewPCG(1, 2))
	shape := loader.Shape{Height: 32, Width: 32, Channels: 3}
	split := func(n int, labelled bool) *loader.MemorySource {
		m := &loader.MemorySource{Images: make([]byte, n*shape.Size()), Labels: make([]int64, n), Shp: shape}
		for i := range n {
			class := r.IntN(4)
			img := m.Images[i*shape.Size() : (i+1)*shape.Size()]
			y0, x0 := r.IntN(16), r.IntN(16)
			for p := range img {
				y, x, c := p/96, p/3%32, p%3
				img[p] = uint8(r.IntN(64))
				if y >= y0 && y < y0+16 && x >= x0 && x < x0+16 && (c == class || class == 3) {
					img[p] = 255
				}
			}
			m.Labels[i] = -1
			if labelled {
				m.Labels[i] = int64(class)
			}
		}
		return m
	}
	w, err := loader.NewWriter(dataDir, loader.DatasetSpec{Name: "shapes", Version: "1.0.0", Shape: shape, NumClasses: 4}, loader.WriterOptions{})
	if err != nil {
		return err
	}
	for name, src := range map[string]*loader.MemorySource{"train": split(40, true), "unlabelled": split(80, false), "test": split(20, true)} {
		if err := w.WriteSplit(name, src); err != nil {
			return err
		}
	}
	return w.Close()
}

// smallConfig is the example's run: a width-8 encoder on 32×32 images, 2 steps per epoch.
func smallConfig(dataDir string) run.Config {
	cfg := run.DefaultConfig()
	cfg.Dataset, cfg.DataDir = "shapes", dataDir
	cfg.ImageSize, cfg.Width, cfg.QueueSize = 32, 8, 64
	cfg.Epochs, cfg.StepsPerEpoch, cfg.ShuffleBuffer = 1, 2, 64
	cfg.Seed = 7
	return cfg
}

// A new run: pretrain one epoch of two steps on a generated dataset. The run directory then
// holds run.json, metrics.jsonl, TensorBoard event files and the checkpoint.
func Example() {
	dir, err := os.MkdirTemp("", "nnclr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dataDir, runDir := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if err := writeShapes(dataDir); err != nil {
		log.Fatal(err)
	}

	t, err := run.Create(runDir, smallConfig(dataDir), run.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	fmt.Printf("batches of %d unlabelled + %d labelled images\n", t.Pipeline.UnlabelledBatch, t.Pipeline.LabelledBatch)
	err = t.Train(context.Background(), train.Hooks{
		OnStep:       func(s train.StepInfo) { fmt.Printf("step %d\n", s.GlobalStep) },
		OnValidation: func(v train.Validation) { fmt.Printf("validated on %d test images\n", v.Examples) },
		OnCheckpoint: func(path string, step int64) { fmt.Printf("checkpoint %s\n", filepath.Base(path)) },
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// batches of 40 unlabelled + 20 labelled images
	// step 1
	// step 2
	// validated on 20 test images
	// checkpoint ckpt-2
}

// Resume continues a run from its latest checkpoint, here for a second epoch: start from the
// recorded config and change what may change.
func ExampleResume() {
	dir, err := os.MkdirTemp("", "nnclr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dataDir, runDir := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if err := pretrain(dataDir, runDir); err != nil {
		log.Fatal(err)
	}

	cfg, err := run.ReadConfig(runDir)
	if err != nil {
		log.Fatal(err)
	}
	cfg.Epochs = 2
	t, err := run.Resume(runDir, cfg, run.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer t.Close()
	fmt.Println("resumed from", filepath.Base(t.Resumed))
	if err := t.Train(context.Background(), train.Hooks{OnStep: func(s train.StepInfo) {
		fmt.Printf("epoch %d step %d (global step %d)\n", s.Epoch+1, s.Step, s.GlobalStep)
	}}); err != nil {
		log.Fatal(err)
	}

	// A changed fixed setting is refused, naming it.
	cfg.Seed = 8
	_, err = run.Resume(runDir, cfg, run.Options{})
	fmt.Println(err != nil)
	// Output:
	// resumed from ckpt-2
	// epoch 2 step 1 (global step 3)
	// epoch 2 step 2 (global step 4)
	// true
}

// pretrain writes the dataset and trains the example's run.
func pretrain(dataDir, runDir string) error {
	if err := writeShapes(dataDir); err != nil {
		return err
	}
	t, err := run.Create(runDir, smallConfig(dataDir), run.Options{})
	if err != nil {
		return err
	}
	defer t.Close()
	return t.Train(context.Background(), train.Hooks{})
}

// Export writes a run's encoder and probe as a SavedModel that Python, TF Serving and
// savedmodel.Load read: uint8 images in, embeddings, logits and probabilities out.
func ExampleRun_Export() {
	dir, err := os.MkdirTemp("", "nnclr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dataDir, runDir := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if err := pretrain(dataDir, runDir); err != nil {
		log.Fatal(err)
	}

	r, err := run.Open(runDir, "") // the latest checkpoint
	if err != nil {
		log.Fatal(err)
	}
	out := filepath.Join(dir, "model")
	if err := r.Export(out, savedmodel.ExportOptions{}); err != nil {
		log.Fatal(err)
	}
	m, err := savedmodel.Load(out, nil, tfrun.DefaultSessionConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	sig, err := m.ImageSignature(savedmodel.DefaultSignature, "", "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("step %d exported: input %s uint8 %v [N,%d,%d,%d], output %s\n", r.Step, sig.Input, sig.Uint8, sig.Height, sig.Width, sig.Channels, sig.Output)
	// Output:
	// step 2 exported: input images uint8 true [N,32,32,3], output embedding
}

// Embedder embeds a dataset split with a run's encoder (the evaluation path, ÷255); the
// embeddings go to evaluate.Evaluate or anywhere else.
func ExampleRun_Embedder() {
	dir, err := os.MkdirTemp("", "nnclr-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dataDir, runDir := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	if err := pretrain(dataDir, runDir); err != nil {
		log.Fatal(err)
	}

	r, err := run.Open(runDir, "")
	if err != nil {
		log.Fatal(err)
	}
	e, err := r.Embedder(tfrun.DefaultSessionConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	ds, err := loader.Load(context.Background(), dataDir, "shapes", loader.LoadOptions{})
	if err != nil {
		log.Fatal(err)
	}
	test, err := embed.Features(context.Background(), e, ds, "test", 8, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d test images, %d-dimensional embeddings, first label %d\n", test.Len(), test.Dim, test.Labels[0])
	// Output:
	// 20 test images, 8-dimensional embeddings, first label 1
}
