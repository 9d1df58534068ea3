package loader

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/nnclr/nnclr/internal/rng"
)

// Batch is a batch of decoded images: N images of Shape as one contiguous NHWC uint8 buffer, and
// their labels (-1 for unlabelled examples).
//
// Ownership: the iterator that returns a Batch never reads or writes it again; the caller owns
// Images, Labels and Indices and may keep, modify or hand them to another goroutine.
type Batch struct {
	Images []byte
	Labels []int64
	Shape  Shape
	// Indices are the examples' file-order indices in their split (see Split).
	Indices []int
}

// Len returns the number of examples in the batch.
func (b *Batch) Len() int { return len(b.Labels) }

// Image returns image i of the batch (a sub-slice of Images).
func (b *Batch) Image(i int) []byte {
	n := b.Shape.Size()
	return b.Images[i*n : (i+1)*n]
}

// BatchConfig configures a stream of batches over one split. NewBatchIterator fills zero
// Workers, Prefetch, InterleaveCycle and InterleaveBlock with GOMAXPROCS, 2, 16 and 16.
type BatchConfig struct {
	BatchSize     int
	DropRemainder bool
	// ShuffleFiles shuffles the shard order (tfds's shuffle_files); ShuffleBuffer > 1 then
	// shuffles the examples through a buffer of that many elements (tf.data's shuffle). Both
	// draw a new order every epoch.
	ShuffleFiles  bool
	ShuffleBuffer int
	// InterleaveCycle and InterleaveBlock are tfds's ReadConfig interleave_cycle_length and
	// interleave_block_length: how shards are interleaved when read.
	InterleaveCycle, InterleaveBlock int
	// Seed is the root of all randomness; with Epoch and the split name it fixes the order.
	Seed  uint64
	Epoch int
	// Workers decode in parallel; Prefetch batches are prepared ahead of the consumer. Neither
	// changes the output.
	Workers, Prefetch int
	// Output is the shape of the returned images (zero: the split's shape); see Resize.
	Output Shape
	// Cache, when not nil, keeps decoded images across epochs (see NewImageCache).
	Cache *ImageCache
	// Slices > 1 keeps of every batch only its Slice-th of Slices equal parts (batch positions
	// [Slice·B/Slices, (Slice+1)·B/Slices)), and reads and decodes only those: the order, and
	// so which examples make each batch, stay those of the whole stream (a worker of a
	// data-parallel run decodes its slice of the global batch). It needs DropRemainder and a
	// BatchSize that is a multiple of Slices.
	Slice, Slices int

	// Subset, when not nil, keeps of the epoch's order only these file-order indices of the
	// split (each in range), in that order: batches are made of the subset alone.
	Subset []int
}

// BatchIterator yields the batches of one epoch of a split, in an order fixed by the
// configuration alone. Next is not safe for concurrent use; Close may be called from any
// goroutine. Close it when done (it stops the workers).
type BatchIterator struct {
	r        *SplitReader
	cfg      BatchConfig
	order    []int
	nb       int
	out      chan *pendingBatch
	done     chan struct{}
	workers  sync.WaitGroup
	closeMu  sync.Once
	err      error
	returned int
}

type pendingBatch struct {
	b     *Batch
	left  atomic.Int32  // examples still to decode
	ready chan struct{} // closed when left reaches 0
	errs  []error
}

type decodeJob struct {
	p   *pendingBatch
	pos int
}

// EpochOrder returns the file-order indices of split r in the order one epoch of cfg reads
// them (before batching).
func EpochOrder(r *SplitReader, cfg BatchConfig) []int {
	cfg = cfg.withDefaults()
	lens := make([]int, len(r.split.Shards))
	for i, sh := range r.split.Shards {
		lens[i] = sh.NumExamples
	}
	name := rng.Name(r.split.Name)
	var shardOrder []int
	if cfg.ShuffleFiles {
		shardOrder = rng.New(cfg.Seed, name, uint64(cfg.Epoch), 1).Perm(len(lens))
	}
	order := InterleaveOrder(lens, shardOrder, cfg.InterleaveCycle, cfg.InterleaveBlock)
	if cfg.ShuffleBuffer > 1 {
		order = ShuffleBuffer(order, cfg.ShuffleBuffer, rng.New(cfg.Seed, name, uint64(cfg.Epoch), 2))
	}
	return order
}

func (cfg BatchConfig) withDefaults() BatchConfig {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 2
	}
	if cfg.InterleaveCycle <= 0 {
		cfg.InterleaveCycle = 16
	}
	if cfg.InterleaveBlock <= 0 {
		cfg.InterleaveBlock = 16
	}
	return cfg
}

// NewBatchIterator starts the workers for one epoch of batches of r. r must stay open until the
// iterator is closed.
func NewBatchIterator(r *SplitReader, cfg BatchConfig) (*BatchIterator, error) {
	cfg = cfg.withDefaults()
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("loader: split %q: batch size %d", r.split.Name, cfg.BatchSize)
	}
	if cfg.Output == (Shape{}) {
		cfg.Output = r.Shape()
	}
	if cfg.Slices > 1 && (!cfg.DropRemainder || cfg.BatchSize%cfg.Slices != 0 || cfg.Slice < 0 || cfg.Slice >= cfg.Slices) {
		return nil, fmt.Errorf("loader: split %q: slice %d of %d of batches of %d (drop remainder %v): want a batch size that splits into the slices, with drop remainder", r.split.Name, cfg.Slice, cfg.Slices, cfg.BatchSize, cfg.DropRemainder)
	}
	native := r.Shape()
	if !native.Fixed() {
		if !cfg.Output.Fixed() {
			return nil, fmt.Errorf("loader: split %q: %w: its images differ in size (features declare %v): give an output shape (the image size) to resize them to", r.split.Name, ErrShape, native)
		}
		native.Height, native.Width = 1, 1 // only the channel mapping is checked
	}
	if err := checkResize(native, cfg.Output); err != nil {
		return nil, fmt.Errorf("loader: split %q: %w", r.split.Name, err)
	}
	if cfg.Cache != nil && (cfg.Cache.shape != cacheShape(r.Shape(), cfg.Output) || len(cfg.Cache.items) != r.Len()) {
		return nil, fmt.Errorf("loader: split %q: cache is for %d images of %v", r.split.Name, len(cfg.Cache.items), cfg.Cache.shape)
	}
	order, err := subsetOrder(EpochOrder(r, cfg), cfg.Subset)
	if err != nil {
		return nil, fmt.Errorf("loader: split %q: %w", r.split.Name, err)
	}
	it := &BatchIterator{r: r, cfg: cfg, order: order, done: make(chan struct{})}
	it.nb = len(it.order) / cfg.BatchSize
	if !cfg.DropRemainder && len(it.order)%cfg.BatchSize != 0 {
		it.nb++
	}
	it.out = make(chan *pendingBatch, cfg.Prefetch)
	jobs := make(chan decodeJob, cfg.Workers*2)
	go it.dispatch(jobs)
	for range cfg.Workers {
		it.workers.Add(1)
		go it.work(jobs)
	}
	return it, nil
}

// subsetOrder returns the indices of order that are in subset (all of order for a nil subset),
// in order's order.
func subsetOrder(order, subset []int) ([]int, error) {
	if subset == nil {
		return order, nil
	}
	keep := make([]bool, len(order))
	for _, i := range subset {
		if i < 0 || i >= len(order) {
			return nil, fmt.Errorf("subset example %d out of range [0, %d)", i, len(order))
		}
		keep[i] = true
	}
	out := make([]int, 0, len(subset))
	for _, i := range order {
		if keep[i] {
			out = append(out, i)
		}
	}
	return out, nil
}

// NumBatches returns the number of batches of the epoch.
func (it *BatchIterator) NumBatches() int { return it.nb }

func (it *BatchIterator) dispatch(jobs chan<- decodeJob) {
	defer close(jobs)
	defer close(it.out)
	bs, size := it.cfg.BatchSize, it.cfg.Output.Size()
	for k := range it.nb {
		idx := it.order[k*bs : min(len(it.order), (k+1)*bs)]
		if sl := it.cfg.Slices; sl > 1 {
			per := bs / sl
			idx = idx[it.cfg.Slice*per : (it.cfg.Slice+1)*per]
		}
		n := len(idx)
		p := &pendingBatch{
			b: &Batch{
				Images:  make([]byte, n*size),
				Labels:  make([]int64, n),
				Shape:   it.cfg.Output,
				Indices: append([]int(nil), idx...),
			},
			errs:  make([]error, n),
			ready: make(chan struct{}),
		}
		p.left.Store(int32(n))
		select {
		case it.out <- p:
		case <-it.done:
			return
		}
		for pos := range n {
			select {
			case jobs <- decodeJob{p, pos}:
			case <-it.done:
				return
			}
		}
	}
}

func (it *BatchIterator) work(jobs <-chan decodeJob) {
	defer it.workers.Done()
	native := it.r.Shape()
	variable := !native.Fixed()
	resize := variable || native != it.cfg.Output
	var scratch, buf []byte
	if !variable && (resize || it.cfg.Cache != nil) {
		scratch = make([]byte, native.Size())
	}
	for j := range jobs {
		b := j.p.b
		i := b.Indices[j.pos]
		dst := b.Image(j.pos)
		err := func() error {
			if it.cfg.Cache != nil {
				if img, l, ok := it.cfg.Cache.get(i); ok {
					b.Labels[j.pos] = l
					if it.cfg.Cache.shape != it.cfg.Output {
						return Resize(img, it.cfg.Cache.shape, dst, it.cfg.Output)
					}
					copy(dst, img)
					return nil
				}
			}
			if variable {
				// Decode at the image's own size, resize to the output shape; a cache keeps
				// the resized image (the same for every epoch).
				pix, shp, label, nb, err := it.r.ReadImage(i, scratch, buf)
				buf = nb
				if err != nil {
					return err
				}
				scratch = pix
				b.Labels[j.pos] = label
				if err := Resize(pix, shp, dst, it.cfg.Output); err != nil {
					return fmt.Errorf("loader: split %q example %d: %w", it.r.split.Name, i, err)
				}
				if it.cfg.Cache != nil {
					it.cfg.Cache.put(i, dst, label)
				}
				return nil
			}
			into := dst
			if scratch != nil {
				into = scratch
			}
			label, nb, err := it.r.Read(i, into, buf)
			buf = nb
			if err != nil {
				return err
			}
			if it.cfg.Cache != nil {
				it.cfg.Cache.put(i, into, label)
			}
			b.Labels[j.pos] = label
			if resize {
				return Resize(into, native, dst, it.cfg.Output)
			}
			if &into[0] != &dst[0] {
				copy(dst, into)
			}
			return nil
		}()
		j.p.errs[j.pos] = err
		if j.p.left.Add(-1) == 0 {
			close(j.p.ready)
		}
	}
}

// cacheShape is the shape an ImageCache of a split of the given shape holds: the split's own,
// or for a split whose images differ in size, the output shape they are resized to.
func cacheShape(split, output Shape) Shape {
	if split.Fixed() {
		return split
	}
	return output
}

// Next returns the next batch, or io.EOF after the last one. A decoding error (a *RecordError
// naming the shard, record and offset) ends the iteration: Next keeps returning it. With
// several bad examples in a batch, the error is the one of the first in batch order.
func (it *BatchIterator) Next() (*Batch, error) {
	if it.err != nil {
		return nil, it.err
	}
	closed := errors.New("loader: batch iterator closed")
	var p *pendingBatch
	select {
	case q, ok := <-it.out:
		if !ok {
			select {
			case <-it.done:
				it.err = closed
			default:
				it.err = io.EOF
			}
			return nil, it.err
		}
		p = q
	case <-it.done:
		it.err = closed
		return nil, it.err
	}
	select {
	case <-p.ready:
	case <-it.done:
		it.err = closed
		return nil, it.err
	}
	for _, err := range p.errs {
		if err != nil {
			it.err = err
			it.Close()
			return nil, err
		}
	}
	it.returned++
	return p.b, nil
}

// Close stops the workers and waits for them. It is safe to call more than once.
func (it *BatchIterator) Close() error {
	it.closeMu.Do(func() {
		close(it.done)
		// Unblock the dispatcher if it waits to hand over a batch, then let workers drain.
		go func() {
			for range it.out {
			}
		}()
		it.workers.Wait()
	})
	return nil
}

// ImageCache keeps the decoded images (in the split's own shape; for a split whose images differ
// in size, resized to the output shape) and labels of one split in memory, filled on first
// read, so later epochs skip reading and decoding. It needs Len × Shape.Size() bytes once full
// (2.8 GB for STL-10's unlabelled split). It is safe for concurrent use.
type ImageCache struct {
	shape  Shape
	items  [][]byte
	labels []int64
	state  []atomic.Uint32 // 0 empty, 1 being filled, 2 ready
}

// NewImageCache returns an empty cache for n images of the given shape (the split's, or the
// output shape for a split whose images differ in size).
func NewImageCache(n int, shape Shape) *ImageCache {
	return &ImageCache{shape: shape, items: make([][]byte, n), labels: make([]int64, n), state: make([]atomic.Uint32, n)}
}

func (c *ImageCache) get(i int) ([]byte, int64, bool) {
	if c.state[i].Load() != 2 {
		return nil, 0, false
	}
	return c.items[i], c.labels[i], true
}

func (c *ImageCache) put(i int, img []byte, label int64) {
	if !c.state[i].CompareAndSwap(0, 1) {
		return
	}
	c.items[i] = append([]byte(nil), img...)
	c.labels[i] = label
	c.state[i].Store(2)
}
