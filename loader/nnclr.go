package loader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/setting"
)

// Options configures the NNCLR batch pipeline (Pipeline). Start from DefaultOptions.
type Options struct {
	// Seed is the root of every random draw (file order and shuffle buffer, per split and
	// epoch). Same seed, same batches, whatever Workers is.
	Seed uint64
	// StepsPerEpoch divides each training split into batches: the unlabelled batch is
	// len(unlabelled)/StepsPerEpoch and the labelled batch len(labelled)/StepsPerEpoch, both
	// with drop-remainder; the test batch is their sum.
	StepsPerEpoch int
	// ShuffleBuffer is tf.data's shuffle buffer size for both training splits.
	ShuffleBuffer int
	// ShuffleFiles shuffles the shard order of the training splits each epoch.
	ShuffleFiles bool
	// InterleaveCycle and InterleaveBlock are tfds's interleave_cycle_length and
	// interleave_block_length.
	InterleaveCycle, InterleaveBlock int
	// Workers decode images in parallel; Prefetch batches per stream are prepared ahead.
	Workers, Prefetch int
	// Cache keeps decoded images in memory after their first read (see ImageCache for the
	// memory it takes); Preload fills it before the first epoch. The unlabelled and labelled
	// streams share one cache when they read the same split.
	Cache bool
	// The split names.
	UnlabelledSplit, LabelledSplit, TestSplit string
	// Output is the shape of the images returned (zero: the dataset's shape); images are
	// converted with Resize, e.g. Fashion-MNIST's 28×28×1 to 96×96×3.
	Output Shape
	// UnlabelledBatch and LabelledBatch override the derived batch sizes (0: split size /
	// StepsPerEpoch). An epoch of StepsPerEpoch batches must fit in the split.
	UnlabelledBatch, LabelledBatch int
}

// DefaultOptions returns the Keras NNCLR example's settings: 50 steps per epoch, a shuffle
// buffer of 5,000, shuffled files, tfds's interleave (16, 16), splits unlabelled / train / test,
// seed 0, GOMAXPROCS workers, prefetch 2, no cache.
func DefaultOptions() Options {
	return Options{
		StepsPerEpoch:   50,
		ShuffleBuffer:   5000,
		ShuffleFiles:    true,
		InterleaveCycle: 16,
		InterleaveBlock: 16,
		Workers:         runtime.GOMAXPROCS(0),
		Prefetch:        2,
		UnlabelledSplit: "unlabelled",
		LabelledSplit:   "train",
		TestSplit:       "test",
	}
}

// Pipeline is the data pipeline of the Keras NNCLR example: per training step a batch of the
// shuffled unlabelled split zipped with a batch of the shuffled labelled split, and the test
// split in order. On a dataset without labels (Dataset.HasLabels) it has the unlabelled split
// alone: LabelledBatch and TestBatch are 0, each TrainStep's Labelled is nil, and Test and
// Labelled are errors (ErrNoLabels). It holds the splits' files open: Close it when done. Its methods may be
// called from several goroutines; each iterator it returns is for one goroutine.
type Pipeline struct {
	opts                          Options
	unl, lab, test                *SplitReader
	unlCache, labCache, testCache *ImageCache
	// UnlabelledBatch, LabelledBatch and TestBatch are the batch sizes (2,000, 100 and 2,100
	// for STL-10 with 50 steps; UnlabelledBatch, 0 and 0 on a dataset without labels).
	UnlabelledBatch, LabelledBatch, TestBatch int
	name                                      string // the dataset's
}

// ErrNoLabels reports a use of labels (a labelled or test split, a labelled batch) on a dataset
// without labels.
var ErrNoLabels = errors.New("the dataset has no labels (only unlabelled images, label -1)")

// NewPipeline opens the three splits of ds named in opts (the unlabelled split alone on a
// dataset without labels, where a LabelledBatch is refused).
func NewPipeline(ds *Dataset, opts Options) (*Pipeline, error) {
	if opts.StepsPerEpoch <= 0 {
		return nil, fmt.Errorf("loader: steps per epoch %d", opts.StepsPerEpoch)
	}
	if !ds.Features.Image.Shape.Fixed() && !opts.Output.Fixed() {
		return nil, fmt.Errorf("loader: dataset %s: %w: its images differ in size (features declare %v): set Output (the image size) to resize them to", ds.Info.Name, ErrShape, ds.Features.Image.Shape)
	}
	if !ds.HasLabels() && opts.LabelledBatch != 0 {
		return nil, setting.Errorf("labelled_batch", opts.LabelledBatch, "want 0: dataset %s (%s) has no labelled split, only %s (unlabelled images, label -1): the contrastive batch is unlabelled_batch images of split %s",
			ds.Info.Name, ds.Dir, strings.Join(ds.SplitNames(), ", "), opts.UnlabelledSplit)
	}
	p := &Pipeline{opts: opts, name: ds.Info.Name}
	var err error
	open := func(name string) *SplitReader {
		if err != nil {
			return nil
		}
		var s *Split
		if s, err = ds.Split(name); err != nil {
			return nil
		}
		var r *SplitReader
		r, err = s.Open()
		return r
	}
	p.unl = open(opts.UnlabelledSplit)
	if ds.HasLabels() {
		p.lab, p.test = open(opts.LabelledSplit), open(opts.TestSplit)
	}
	if err != nil {
		p.Close()
		return nil, err
	}
	if err := p.batchSizes(); err != nil {
		p.Close()
		return nil, err
	}
	if opts.Cache {
		p.unlCache = NewImageCache(p.unl.Len(), cacheShape(p.unl.Shape(), opts.Output))
		if p.lab != nil {
			p.labCache = p.unlCache
			if opts.LabelledSplit != opts.UnlabelledSplit {
				p.labCache = NewImageCache(p.lab.Len(), cacheShape(p.lab.Shape(), opts.Output))
			}
			p.testCache = NewImageCache(p.test.Len(), cacheShape(p.test.Shape(), opts.Output))
			if opts.TestSplit == opts.UnlabelledSplit {
				p.testCache = p.unlCache
			} else if opts.TestSplit == opts.LabelledSplit {
				p.testCache = p.labCache
			}
		}
	}
	return p, nil
}

// Preload fills the caches (Options.Cache; without it Preload does nothing) with every image
// of the pipeline's splits, each split read once in file order by Workers goroutines, so that
// no epoch decodes. It returns the number of images and the bytes they take; a bad record is
// a *RecordError as in an epoch, and ctx stops it between batches.
func (p *Pipeline) Preload(ctx context.Context) (images int, bytes int64, err error) {
	var done []*ImageCache
	for _, s := range []struct {
		r *SplitReader
		c *ImageCache
	}{{p.unl, p.unlCache}, {p.lab, p.labCache}, {p.test, p.testCache}} {
		if s.c == nil || slices.Contains(done, s.c) {
			continue
		}
		done = append(done, s.c)
		it, err := NewBatchIterator(s.r, BatchConfig{BatchSize: 256, Workers: p.opts.Workers, Prefetch: p.opts.Prefetch, Output: s.c.shape, Cache: s.c})
		if err != nil {
			return images, bytes, err
		}
		for err == nil {
			var b *Batch
			if b, err = it.Next(); err == nil {
				images, bytes = images+b.Len(), bytes+int64(len(b.Images))
				err = ctx.Err()
			}
		}
		it.Close()
		if err != io.EOF {
			return images, bytes, err
		}
	}
	return images, bytes, nil
}

// batchSizes sets the batch sizes of the splits opened: split size / steps, or the options'.
func (p *Pipeline) batchSizes() error {
	opts := p.opts
	type split struct {
		name     string
		override int
		batch    *int
		n        int
	}
	splits := []split{{opts.UnlabelledSplit, opts.UnlabelledBatch, &p.UnlabelledBatch, p.unl.Len()}}
	if p.lab != nil {
		splits = append(splits, split{opts.LabelledSplit, opts.LabelledBatch, &p.LabelledBatch, p.lab.Len()})
	}
	for _, o := range splits {
		*o.batch = o.n / opts.StepsPerEpoch
		if o.override < 0 {
			return fmt.Errorf("loader: split %s: batch size %d: want > 0", o.name, o.override)
		}
		if o.override > 0 {
			if o.override*opts.StepsPerEpoch > o.n {
				return fmt.Errorf("loader: split %s: %d steps of %d examples need %d, the split has %d: the batch size does not divide the split into %d steps",
					o.name, opts.StepsPerEpoch, o.override, o.override*opts.StepsPerEpoch, o.n, opts.StepsPerEpoch)
			}
			*o.batch = o.override
		}
	}
	if p.lab == nil {
		if p.UnlabelledBatch == 0 {
			return fmt.Errorf("loader: %d unlabelled examples (split %s) give an empty batch at %d steps per epoch", p.unl.Len(), opts.UnlabelledSplit, opts.StepsPerEpoch)
		}
		return nil
	}
	p.TestBatch = p.UnlabelledBatch + p.LabelledBatch
	if p.UnlabelledBatch == 0 || p.LabelledBatch == 0 {
		return fmt.Errorf("loader: %d unlabelled and %d labelled examples give an empty batch at %d steps per epoch", p.unl.Len(), p.lab.Len(), opts.StepsPerEpoch)
	}
	return nil
}

// HasLabels reports whether the pipeline has the labelled and test splits (its dataset has
// labels).
func (p *Pipeline) HasLabels() bool { return p.lab != nil }

// noLabels is the error of a use of labels on a pipeline without them.
func (p *Pipeline) noLabels(what string) error {
	return fmt.Errorf("loader: dataset %s: %s: %w", p.name, what, ErrNoLabels)
}

func (p *Pipeline) config(batch int, shuffle, drop bool, epoch int, cache *ImageCache) BatchConfig {
	o := p.opts
	cfg := BatchConfig{
		BatchSize: batch, DropRemainder: drop,
		InterleaveCycle: o.InterleaveCycle, InterleaveBlock: o.InterleaveBlock,
		Seed: o.Seed, Epoch: epoch,
		Workers: o.Workers, Prefetch: o.Prefetch,
		Output: o.Output, Cache: cache,
	}
	if shuffle {
		cfg.ShuffleFiles, cfg.ShuffleBuffer = o.ShuffleFiles, o.ShuffleBuffer
	}
	return cfg
}

// TrainStep is one training step's data: an unlabelled and a labelled batch (nil on a dataset
// without labels).
type TrainStep struct {
	Unlabelled, Labelled *Batch
}

// TrainIterator yields the training steps of one epoch. Next is for one goroutine; Close it
// when done.
type TrainIterator struct {
	unl, lab *BatchIterator // lab nil without labels
}

// Train starts epoch epoch (0, 1, ...) of the training stream: each split's shards and
// examples shuffled with draws derived from (Seed, split, epoch), batched with drop-remainder,
// zipped step by step (the epoch ends with the shorter stream).
func (p *Pipeline) Train(epoch int) (*TrainIterator, error) { return p.TrainSlice(epoch, 0, 1) }

// TrainSlice is Train for worker slice of slices (0 <= slice < slices) of a data-parallel run:
// every step holds only that worker's slice of the global step's unlabelled and labelled
// batches (BatchConfig.Slices), and only those images are read and decoded. The global order is
// Train's: the slices of all workers, concatenated in slice order, are Train's steps. Both batch
// sizes must be multiples of slices.
func (p *Pipeline) TrainSlice(epoch, slice, slices int) (*TrainIterator, error) {
	ucfg := p.config(p.UnlabelledBatch, true, true, epoch, p.unlCache)
	ucfg.Slice, ucfg.Slices = slice, slices
	u, err := NewBatchIterator(p.unl, ucfg)
	if err != nil {
		return nil, err
	}
	if p.lab == nil {
		return &TrainIterator{unl: u}, nil
	}
	lcfg := p.config(p.LabelledBatch, true, true, epoch, p.labCache)
	lcfg.Slice, lcfg.Slices = slice, slices
	l, err := NewBatchIterator(p.lab, lcfg)
	if err != nil {
		u.Close()
		return nil, err
	}
	return &TrainIterator{unl: u, lab: l}, nil
}

// Steps returns the number of steps of the epoch.
func (t *TrainIterator) Steps() int {
	if t.lab == nil {
		return t.unl.NumBatches()
	}
	return min(t.unl.NumBatches(), t.lab.NumBatches())
}

// Next returns the next step, or io.EOF after the last.
func (t *TrainIterator) Next() (TrainStep, error) {
	u, err := t.unl.Next()
	if err != nil || t.lab == nil {
		return TrainStep{Unlabelled: u}, err
	}
	l, err := t.lab.Next()
	if err != nil {
		return TrainStep{}, err
	}
	return TrainStep{Unlabelled: u, Labelled: l}, nil
}

// Close stops both streams. It is safe to call more than once.
func (t *TrainIterator) Close() error {
	if t.lab == nil {
		return t.unl.Close()
	}
	return errors.Join(t.unl.Close(), t.lab.Close())
}

// Labelled returns epoch epoch of the labelled split alone, shuffled and batched as in Train
// (the Keras example's labeled_train_dataset, used for the linear probe).
func (p *Pipeline) Labelled(epoch int) (*BatchIterator, error) {
	if p.lab == nil {
		return nil, p.noLabels("the labelled split")
	}
	return NewBatchIterator(p.lab, p.config(p.LabelledBatch, true, true, epoch, p.labCache))
}

// Test returns the test split in tfds's read order, batched at TestBatch without dropping the
// last, smaller batch.
func (p *Pipeline) Test() (*BatchIterator, error) {
	if p.test == nil {
		return nil, p.noLabels("the test split")
	}
	return NewBatchIterator(p.test, p.config(p.TestBatch, false, false, 0, p.testCache))
}

// TestSubset is Test restricted to the examples indices (file-order indices in the test split,
// each in range; nil: all of them): those examples in Test's order, batched at TestBatch
// without dropping the last, smaller batch.
func (p *Pipeline) TestSubset(indices []int) (*BatchIterator, error) {
	if p.test == nil {
		return nil, p.noLabels("the test split")
	}
	cfg := p.config(p.TestBatch, false, false, 0, p.testCache)
	cfg.Subset = indices
	return NewBatchIterator(p.test, cfg)
}

// TestLen returns the number of examples of the test split (0 without labels).
func (p *Pipeline) TestLen() int {
	if p.test == nil {
		return 0
	}
	return p.test.Len()
}

// Close closes the splits' files. Close the iterators first. It is safe to call more than once.
func (p *Pipeline) Close() error {
	var errs []error
	for _, r := range []*SplitReader{p.unl, p.lab, p.test} {
		if r != nil {
			errs = append(errs, r.Close())
		}
	}
	return errors.Join(errs...)
}
