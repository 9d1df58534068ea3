package main

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/schollz/progressbar/v3"
	tf "github.com/wamuir/graft/tensorflow"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/internal/npy"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/tfgraph"
)

// embedder turns batches of uint8 images into embeddings.
type embedder interface {
	shape() loader.Shape
	embed(b *loader.Batch) ([]float32, int, error) // values and dimension
	Close() error
}

// savedModelEmbedder runs a SavedModel signature.
type savedModelEmbedder struct {
	m       *tfgraph.LoadedModel
	sig     string
	in, out string
	dtype   tf.DataType
	inShape loader.Shape
	scale   float32
}

func newSavedModelEmbedder(c Config, sc tfgraph.SessionConfig) (*savedModelEmbedder, error) {
	m, err := tfgraph.LoadSavedModel(c.Model, nil, sc)
	if err != nil {
		return nil, err
	}
	e := &savedModelEmbedder{m: m, sig: c.Signature}
	fail := func(err error) (*savedModelEmbedder, error) { m.Close(); return nil, err }
	sig, err := m.Signature(c.Signature)
	if err != nil {
		return fail(err)
	}
	keys := func(ti map[string]tf.TensorInfo) []string {
		var ks []string
		for k := range ti {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return ks
	}
	e.in = c.InputKey
	if e.in == "" {
		if len(sig.Inputs) != 1 {
			return fail(&usageError{fmt.Errorf("signature %s has inputs %v: choose one with --input-key", c.Signature, keys(sig.Inputs))})
		}
		e.in = keys(sig.Inputs)[0]
	}
	ti, ok := sig.Inputs[e.in]
	if !ok {
		return fail(&usageError{fmt.Errorf("signature %s has no input %q (it has %v)", c.Signature, e.in, keys(sig.Inputs))})
	}
	e.out = c.OutputKey
	if e.out == "" {
		if _, ok := sig.Outputs["embedding"]; ok {
			e.out = "embedding"
		} else if len(sig.Outputs) == 1 {
			e.out = keys(sig.Outputs)[0]
		} else {
			return fail(&usageError{fmt.Errorf("signature %s has outputs %v: choose one with --output-key", c.Signature, keys(sig.Outputs))})
		}
	}
	if _, ok := sig.Outputs[e.out]; !ok {
		return fail(&usageError{fmt.Errorf("signature %s has no output %q (it has %v)", c.Signature, e.out, keys(sig.Outputs))})
	}
	dims, err := ti.Shape.ToSlice()
	if err != nil || len(dims) != 4 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0 {
		return fail(fmt.Errorf("signature %s input %s has shape %v: want images [N, H, W, C] with known H, W, C", c.Signature, e.in, ti.Shape))
	}
	e.inShape = loader.Shape{Height: int(dims[1]), Width: int(dims[2]), Channels: int(dims[3])}
	switch ti.DType {
	case tf.Uint8:
	case tf.Float:
		e.scale = float32(c.InputMax) / 255
	default:
		return fail(fmt.Errorf("signature %s input %s has dtype %s: want uint8 or float32 images", c.Signature, e.in, tfgraph.DTypeName(ti.DType)))
	}
	e.dtype = ti.DType
	return e, nil
}

func (e *savedModelEmbedder) shape() loader.Shape { return e.inShape }
func (e *savedModelEmbedder) Close() error        { return e.m.Close() }

func (e *savedModelEmbedder) embed(b *loader.Batch) ([]float32, int, error) {
	shape := []int64{int64(b.Len()), int64(b.Shape.Height), int64(b.Shape.Width), int64(b.Shape.Channels)}
	var x *tf.Tensor
	var err error
	if e.dtype == tf.Uint8 {
		if x, err = tf.NewTensor(b.Images); err == nil {
			err = x.Reshape(shape)
		}
	} else {
		x, err = tfgraph.NewFloatTensor(shape, func(d []float32) error {
			for i, v := range b.Images {
				d[i] = float32(v) * e.scale
			}
			return nil
		})
	}
	if err != nil {
		return nil, 0, err
	}
	out, err := e.m.Run(e.sig, map[string]*tf.Tensor{e.in: x}, e.out)
	if err != nil {
		return nil, 0, err
	}
	t := out[e.out]
	if s := t.Shape(); len(s) != 2 || s[0] != int64(b.Len()) {
		return nil, 0, fmt.Errorf("signature %s output %s has shape %v for %d images: want [N, D] embeddings", e.sig, e.out, s, b.Len())
	}
	v, err := tfgraph.Float32s(t)
	return v, int(t.Shape()[1]), err
}

// runEmbedder embeds with a Go run's checkpoint (evaluation path: ÷255).
type runEmbedder struct {
	m    *tfgraph.Model
	eval *augment.Augmenter
}

func newRunEmbedder(c Config, sc tfgraph.SessionConfig) (*runEmbedder, error) {
	r, err := openRun(c)
	if err != nil {
		return nil, err
	}
	m, err := tfgraph.NewModel(r.model, sc)
	if err != nil {
		return nil, err
	}
	if err := m.Restore(r.checkpoint); err != nil {
		m.Close()
		return nil, err
	}
	eval, err := augment.New(augment.EvalConfig(r.model.Height, r.model.Width), 0)
	if err != nil {
		m.Close()
		return nil, err
	}
	return &runEmbedder{m: m, eval: eval}, nil
}

func (e *runEmbedder) shape() loader.Shape {
	c := e.m.Config()
	return loader.Shape{Height: c.Height, Width: c.Width, Channels: c.Channels}
}
func (e *runEmbedder) Close() error { return e.m.Close() }

func (e *runEmbedder) embed(b *loader.Batch) ([]float32, int, error) {
	x, err := tfgraph.NewFloatTensor([]int64{int64(b.Len()), int64(b.Shape.Height), int64(b.Shape.Width), int64(b.Shape.Channels)},
		func(d []float32) error { return e.eval.Apply(d, images(b), 0, 0) })
	if err != nil {
		return nil, 0, err
	}
	f, _, _, err := e.m.Forward(x)
	return f, e.m.Config().ModelWidth, err
}

func newEmbedder(c Config) (embedder, error) {
	sc, err := c.sessionConfig()
	if err != nil {
		return nil, err
	}
	switch {
	case c.Model != "" && c.RunDir != "":
		return nil, &usageError{errors.New("give --model (a SavedModel) or --run-dir (a Go run), not both")}
	case c.Model != "":
		return newSavedModelEmbedder(c, sc)
	case c.RunDir != "":
		return newRunEmbedder(c, sc)
	}
	return nil, &usageError{fmt.Errorf("--mode %s needs --model (a SavedModel) or --run-dir (a Go run)", c.Mode)}
}

// embedSplit embeds every image of split (file order) and returns embeddings [N, D] and labels.
// progress, when not nil, is told the images done and the split's size after each batch.
func embedSplit(e embedder, ds *loader.Dataset, split string, batch int, progress func(done, total int)) ([]float32, []int64, int, error) {
	sp, err := ds.Split(split)
	if err != nil {
		return nil, nil, 0, err
	}
	r, err := sp.Open()
	if err != nil {
		return nil, nil, 0, err
	}
	defer r.Close()
	it, err := loader.NewBatchIterator(r, loader.BatchConfig{BatchSize: batch, Output: e.shape()})
	if err != nil {
		return nil, nil, 0, err
	}
	defer it.Close()
	var emb []float32
	var labels []int64
	dim := 0
	for {
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, 0, err
		}
		v, d, err := e.embed(b)
		if err != nil {
			return nil, nil, 0, err
		}
		dim = d
		emb = append(emb, v...)
		labels = append(labels, b.Labels...)
		if progress != nil {
			progress(len(labels), r.Len())
		}
	}
	return emb, labels, dim, nil
}

// splitBar returns a progress callback drawing a bar on stderr when it is a terminal and --quiet
// is not set, and a function that finishes the bar; both are no-ops otherwise.
func splitBar(c Config, stderr io.Writer, what string) (func(done, total int), func()) {
	if c.Quiet || !isTerminal(stderr) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
			if bar == nil {
				bar = newBar(stderr, int64(total), what, 30, false)
			}
			bar.Set(done)
		}, func() {
			if bar != nil {
				bar.Finish()
			}
		}
}

func runEmbed(c Config, stdout, stderr io.Writer) error {
	if c.Out == "" {
		return &usageError{errors.New("--mode embed needs --out (the .npz file to write)")}
	}
	e, err := newEmbedder(c)
	if err != nil {
		return err
	}
	defer e.Close()
	ds, err := openDataset(c)
	if err != nil {
		return err
	}
	progress, done := splitBar(c, stderr, "embedding "+c.Split)
	emb, labels, dim, err := embedSplit(e, ds, c.Split, c.BatchSize, progress)
	done()
	if err != nil {
		return err
	}
	if err := npy.WriteNPZ(c.Out, map[string]npy.Array{
		"embeddings": {Shape: []int{len(labels), dim}, Data: emb},
		"labels":     {Shape: []int{len(labels)}, Data: labels},
	}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "embedded %d images of %s/%s into %d dimensions: %s\n", len(labels), c.Dataset, c.Split, dim, c.Out)
	return nil
}
