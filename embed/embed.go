package embed

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// Embedder turns batches of uint8 images into embeddings.
type Embedder interface {
	// InputShape is the image size the embedder takes.
	InputShape() loader.Shape
	// Embed returns the embeddings of b's images (row-major [b.Len(), dim]) and dim. b's images
	// must have InputShape.
	Embed(b *loader.Batch) ([]float32, int, error)
	// Close releases what the embedder owns; it is safe to call more than once.
	Close() error
}

// SavedModelOptions configures an embedder over a SavedModel signature. Setting names (for
// *setting.Error) are the snake_case of the field names.
type SavedModelOptions struct {
	Signature string // signature key ("serving_default")
	InputKey  string // the signature's image input (default: its only input)
	OutputKey string // the embedding output (default: "embedding", else its only output)
	// InputMax is the value of a white pixel for a float32 input: 1 or 255 (1).
	InputMax float64
	// ImageSize and Channels give the input size when the signature leaves height and width
	// (or channels) unknown; they must then be set, and are ignored otherwise.
	ImageSize, Channels int
	Session             tfrun.SessionConfig
}

// DefaultSavedModelOptions returns signature serving_default with white = 1.
func DefaultSavedModelOptions() SavedModelOptions {
	return SavedModelOptions{Signature: savedmodel.DefaultSignature, InputMax: 1}
}

// Validate checks the options that do not need the model.
func (o SavedModelOptions) Validate() error {
	switch {
	case o.Signature == "":
		return setting.Errorf("signature", nil, "want a signature key (serving_default)")
	case o.InputMax != 1 && o.InputMax != 255:
		return setting.Errorf("input_max", o.InputMax, "want 1 or 255")
	case o.ImageSize < 0:
		return setting.Errorf("image_size", o.ImageSize, "want >= 0")
	case o.Channels < 0:
		return setting.Errorf("channels", o.Channels, "want >= 0")
	}
	return nil
}

type savedModelEmbedder struct {
	m     *savedmodel.LoadedModel
	sig   savedmodel.ImageSignature
	shape loader.Shape
	scale float32
}

// OpenSavedModel loads the SavedModel in dir (tag serve) and returns an embedder over the
// options' signature. The embedder owns the loaded model.
func OpenSavedModel(dir string, o SavedModelOptions) (Embedder, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	m, err := savedmodel.Load(dir, nil, o.Session)
	if err != nil {
		return nil, err
	}
	sig, err := m.ImageSignature(o.Signature, o.InputKey, o.OutputKey)
	if err != nil {
		m.Close()
		return nil, err
	}
	e := &savedModelEmbedder{m: m, sig: sig, scale: float32(o.InputMax) / 255,
		shape: loader.Shape{Height: sig.Height, Width: sig.Width, Channels: sig.Channels}}
	declared := fmt.Sprintf("[?,%s,%s,%s]", dim(sig.Height), dim(sig.Width), dim(sig.Channels))
	if sig.Height == 0 || sig.Width == 0 {
		if o.ImageSize == 0 {
			m.Close()
			return nil, setting.Errorf("image_size", nil, "signature %s input %s takes images %s of any height and width: give the size to feed", sig.Key, sig.Input, declared)
		}
		e.shape.Height, e.shape.Width = o.ImageSize, o.ImageSize
	}
	if sig.Channels == 0 {
		if o.Channels == 0 {
			m.Close()
			return nil, setting.Errorf("channels", nil, "signature %s input %s takes images %s with any number of channels: give the channels to feed", sig.Key, sig.Input, declared)
		}
		e.shape.Channels = o.Channels
	}
	return e, nil
}

func dim(n int) string {
	if n == 0 {
		return "?"
	}
	return fmt.Sprint(n)
}

func (e *savedModelEmbedder) InputShape() loader.Shape { return e.shape }
func (e *savedModelEmbedder) Close() error             { return e.m.Close() }

func (e *savedModelEmbedder) Embed(b *loader.Batch) ([]float32, int, error) {
	return e.m.RunImages(e.sig, b.Images, b.Len(), b.Shape.Height, b.Shape.Width, b.Shape.Channels, e.scale)
}

type modelEmbedder struct {
	m    *tfgraph.Model
	eval *augment.Augmenter
	own  bool
}

// NewModelEmbedder returns an embedder over m's encoder on the evaluation path (÷255). When own
// is set, the embedder's Close closes m.
func NewModelEmbedder(m *tfgraph.Model, own bool) (Embedder, error) {
	c := m.Config()
	eval, err := augment.New(augment.EvalConfig(c.Height, c.Width), 0)
	if err != nil {
		return nil, err
	}
	return &modelEmbedder{m: m, eval: eval, own: own}, nil
}

func (e *modelEmbedder) InputShape() loader.Shape {
	c := e.m.Config()
	return loader.Shape{Height: c.Height, Width: c.Width, Channels: c.Channels}
}

func (e *modelEmbedder) Close() error {
	if e.own {
		return e.m.Close()
	}
	return nil
}

func (e *modelEmbedder) Embed(b *loader.Batch) ([]float32, int, error) {
	im := augment.Images{Pix: b.Images, N: b.Len(), H: b.Shape.Height, W: b.Shape.Width, C: b.Shape.Channels}
	x, err := tfrun.NewFloatTensor([]int64{int64(b.Len()), int64(b.Shape.Height), int64(b.Shape.Width), int64(b.Shape.Channels)},
		func(d []float32) error { return e.eval.Apply(d, im, 0, 0) })
	if err != nil {
		return nil, 0, err
	}
	defer tfrun.Close(x)
	f, _, _, err := e.m.Forward(x)
	return f, e.m.Config().FeatureWidth(), err
}

// Features embeds every image of split (in file order), batch images per run, and returns the
// embeddings with the split's labels (-1 for unlabelled examples). progress, when not nil, is
// told the images done and the split's size after each batch. It stops between batches with
// ctx's error when ctx is cancelled.
func Features(ctx context.Context, e Embedder, ds *loader.Dataset, split string, batch int, progress func(done, total int)) (evaluate.Split, error) {
	if batch <= 0 {
		return evaluate.Split{}, setting.Errorf("batch_size", batch, "want > 0")
	}
	sp, err := ds.Split(split)
	if err != nil {
		return evaluate.Split{}, err
	}
	r, err := sp.Open()
	if err != nil {
		return evaluate.Split{}, err
	}
	defer r.Close()
	it, err := loader.NewBatchIterator(r, loader.BatchConfig{BatchSize: batch, Output: e.InputShape()})
	if err != nil {
		return evaluate.Split{}, err
	}
	defer it.Close()
	var out evaluate.Split
	for {
		if err := ctx.Err(); err != nil {
			return evaluate.Split{}, err
		}
		b, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return evaluate.Split{}, err
		}
		v, d, err := e.Embed(b)
		if err != nil {
			return evaluate.Split{}, err
		}
		out.Dim = d
		out.Features = append(out.Features, v...)
		out.Labels = append(out.Labels, b.Labels...)
		if progress != nil {
			progress(len(out.Labels), r.Len())
		}
	}
	return out, nil
}

// LabelledFeatures is Features for a split every example of which must have a label (linear and
// kNN evaluation): an unlabelled example (label -1) is an error naming the split.
func LabelledFeatures(ctx context.Context, e Embedder, ds *loader.Dataset, split string, batch int, progress func(done, total int)) (evaluate.Split, error) {
	s, err := Features(ctx, e, ds, split, batch, progress)
	if err != nil {
		return s, err
	}
	for i, l := range s.Labels {
		if l < 0 {
			return evaluate.Split{}, fmt.Errorf("embed: split %s of %s has no labels (example %d has label %d): evaluation needs labelled splits", split, ds.Info.Name, i, l)
		}
	}
	return s, nil
}
