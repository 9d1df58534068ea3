package loader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/rng"
)

// synthImage is the image of example i of a split: its pixels encode the split and the index,
// so a test can check that a batch slot holds the example its Indices entry names.
func synthImage(split string, i int, shape Shape) []byte {
	img := make([]byte, shape.Size())
	r := rand.New(rand.NewPCG(uint64(i), rng.Name(split)))
	for k := range img {
		img[k] = byte(r.Uint32())
	}
	return img
}

// writeSynth writes a dataset "synth" with the given split sizes and shard size.
func writeSynth(t testing.TB, dir string, shape Shape, sizes map[string]int, perShard int) *Dataset {
	t.Helper()
	w, err := NewWriter(dir, DatasetSpec{Name: "synth", Version: "1.0.0", Shape: shape, NumClasses: 10},
		WriterOptions{ExamplesPerShard: perShard, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range slices.Sorted(func(yield func(string) bool) {
		for k := range sizes {
			if !yield(k) {
				return
			}
		}
	}) {
		n := sizes[split]
		m := &MemorySource{Shp: shape, Labels: make([]int64, n)}
		for i := range n {
			m.Images = append(m.Images, synthImage(split, i, shape)...)
			m.Labels[i] = int64(i % 10)
			if split == "unlabelled" {
				m.Labels[i] = -1
			}
		}
		if err := w.WriteSplit(split, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(dir, "synth")
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestInterleaveOrder(t *testing.T) {
	seq := func(lo, hi int) []int {
		var s []int
		for i := lo; i < hi; i++ {
			s = append(s, i)
		}
		return s
	}
	tests := []struct {
		lens         []int
		order        []int
		cycle, block int
		want         []int
	}{
		{[]int{3, 2}, nil, 1, 16, []int{0, 1, 2, 3, 4}},
		{[]int{3, 2}, nil, 2, 1, []int{0, 3, 1, 4, 2}},
		{[]int{3, 2}, []int{1, 0}, 2, 1, []int{3, 0, 4, 1, 2}},
		{[]int{2, 2, 2}, nil, 2, 1, []int{0, 2, 1, 3, 4, 5}},
		{[]int{4, 4, 1}, nil, 2, 2, []int{0, 1, 4, 5, 2, 3, 6, 7, 8}},
		// tfds's default (16, 16) over shards of 17, 17 and 6 (the STL-10 cross-check's layout).
		{[]int{17, 17, 6}, nil, 16, 16, slices.Concat(seq(0, 16), seq(17, 33), seq(34, 40), []int{16, 33})},
		{[]int{0, 2}, nil, 2, 2, []int{0, 1}},
		{nil, nil, 16, 16, []int{}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.lens, tc.order, tc.cycle, tc.block), func(t *testing.T) {
			got := InterleaveOrder(tc.lens, tc.order, tc.cycle, tc.block)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShuffleBuffer(t *testing.T) {
	in := make([]int, 1000)
	for i := range in {
		in[i] = i
	}
	tests := []struct {
		buffer int
	}{{0}, {1}, {2}, {50}, {999}, {1000}, {5000}}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.buffer), func(t *testing.T) {
			out := ShuffleBuffer(in, tc.buffer, rng.New(1, 2))
			if !slices.Equal(slices.Sorted(slices.Values(out)), in) {
				t.Fatal("not a permutation")
			}
			if tc.buffer <= 1 {
				if !slices.Equal(out, in) {
					t.Fatal("buffer <= 1 changed the order")
				}
				return
			}
			if slices.Equal(out, in) {
				t.Fatal("order unchanged")
			}
			// tf.data semantics: output i can only be one of the first i+buffer inputs.
			for i, v := range out {
				if v >= i+tc.buffer {
					t.Fatalf("output %d is input %d, beyond the buffer of %d", i, v, tc.buffer)
				}
			}
			if !slices.Equal(out, ShuffleBuffer(in, tc.buffer, rng.New(1, 2))) {
				t.Fatal("same RNG, different order")
			}
			if slices.Equal(out, ShuffleBuffer(in, tc.buffer, rng.New(2, 2))) {
				t.Fatal("different seed, same order")
			}
		})
	}
	// A small buffer keeps elements near their place: the mean displacement is about the buffer.
	out := ShuffleBuffer(in, 10, rng.New(3))
	var disp float64
	for i, v := range out {
		disp += float64(max(i-v, v-i))
	}
	if disp /= float64(len(in)); disp > 30 {
		t.Errorf("mean displacement %.1f with buffer 10", disp)
	}
}

// collectEpoch returns the train steps and test batches of one epoch.
func collectEpoch(t *testing.T, p *Pipeline, epoch int) (train []TrainStep, test []*Batch) {
	t.Helper()
	it, err := p.Train(epoch)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	for {
		s, err := it.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		train = append(train, s)
	}
	if len(train) != it.Steps() {
		t.Errorf("%d steps, Steps() = %d", len(train), it.Steps())
	}
	ti, err := p.Test()
	if err != nil {
		t.Fatal(err)
	}
	defer ti.Close()
	for {
		b, err := ti.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		test = append(test, b)
	}
	return train, test
}

func TestPipelineEpoch(t *testing.T) {
	shape := Shape{4, 4, 3}
	sizes := map[string]int{"unlabelled": 203, "train": 57, "test": 110}
	ds := writeSynth(t, t.TempDir(), shape, sizes, 37)
	opts := DefaultOptions()
	opts.StepsPerEpoch = 5
	opts.ShuffleBuffer = 50
	opts.Seed = 42
	opts.Workers = 3
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.UnlabelledBatch != 40 || p.LabelledBatch != 11 || p.TestBatch != 51 {
		t.Fatalf("batch sizes %d %d %d, want 40 11 51", p.UnlabelledBatch, p.LabelledBatch, p.TestBatch)
	}
	train, test := collectEpoch(t, p, 0)
	if len(train) != 5 {
		t.Fatalf("%d steps, want 5", len(train))
	}
	seen := map[string]map[int]int{"unlabelled": {}, "train": {}, "test": {}}
	check := func(split string, b *Batch, n int) {
		t.Helper()
		if b.Len() != n || len(b.Images) != n*shape.Size() || b.Shape != shape || len(b.Indices) != n {
			t.Fatalf("%s batch: %d examples, %d bytes, shape %v", split, b.Len(), len(b.Images), b.Shape)
		}
		for i, idx := range b.Indices {
			seen[split][idx]++
			if !bytes.Equal(b.Image(i), synthImage(split, idx, shape)) {
				t.Fatalf("%s: slot %d does not hold example %d", split, i, idx)
			}
			want := int64(idx % 10)
			if split == "unlabelled" {
				want = -1
			}
			if b.Labels[i] != want {
				t.Fatalf("%s: label %d for example %d", split, b.Labels[i], idx)
			}
		}
	}
	for _, s := range train {
		check("unlabelled", s.Unlabelled, 40)
		check("train", s.Labelled, 11)
	}
	wantTest := []int{51, 51, 8}
	if len(test) != len(wantTest) {
		t.Fatalf("%d test batches, want %d", len(test), len(wantTest))
	}
	for i, b := range test {
		check("test", b, wantTest[i])
	}
	// Every example at most once; all but the drop-remainder tail seen; the test split in
	// tfds's read order, all of it.
	for split, n := range map[string]int{"unlabelled": 200, "train": 55, "test": 110} {
		if len(seen[split]) != n {
			t.Errorf("%s: %d distinct examples seen, want %d", split, len(seen[split]), n)
		}
		for idx, c := range seen[split] {
			if c != 1 || idx < 0 || idx >= sizes[split] {
				t.Errorf("%s: example %d seen %d times", split, idx, c)
			}
		}
	}
	var testOrder []int
	for _, b := range test {
		testOrder = append(testOrder, b.Indices...)
	}
	if !slices.Equal(testOrder, InterleaveOrder([]int{37, 37, 36}, nil, 16, 16)) {
		t.Errorf("test order %v is not tfds's read order", testOrder)
	}
	// Training data is shuffled: not in file order, and a new order the next epoch.
	train1, _ := collectEpoch(t, p, 1)
	if slices.Equal(train[0].Unlabelled.Indices, train1[0].Unlabelled.Indices) {
		t.Error("epochs 0 and 1 start with the same unlabelled batch")
	}
	if slices.IsSorted(train[0].Unlabelled.Indices) {
		t.Error("unlabelled batch in file order")
	}
}

// TestPipelineDeterminism: the same seed gives the same batches whatever the worker count,
// prefetch depth or caching; another seed gives others.
func TestPipelineDeterminism(t *testing.T) {
	ds := writeSynth(t, t.TempDir(), Shape{4, 4, 3}, map[string]int{"unlabelled": 150, "train": 40, "test": 30}, 23)
	run := func(seed uint64, workers, prefetch int, cache bool, epoch int) ([]TrainStep, []*Batch) {
		opts := DefaultOptions()
		opts.StepsPerEpoch, opts.ShuffleBuffer, opts.Seed = 4, 20, seed
		opts.Workers, opts.Prefetch, opts.Cache = workers, prefetch, cache
		p, err := NewPipeline(ds, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if cache { // fill the cache with a first epoch
			collectEpoch(t, p, epoch+1)
		}
		return collectEpoch(t, p, epoch)
	}
	equal := func(a, b *Batch) bool {
		return bytes.Equal(a.Images, b.Images) && slices.Equal(a.Labels, b.Labels) && slices.Equal(a.Indices, b.Indices)
	}
	same := func(a, b []TrainStep) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i].Unlabelled, b[i].Unlabelled) || !equal(a[i].Labelled, b[i].Labelled) {
				return false
			}
		}
		return true
	}
	for _, epoch := range []int{0, 3} {
		ref, refTest := run(7, 1, 1, false, epoch)
		for _, c := range []struct {
			workers, prefetch int
			cache             bool
		}{{2, 1, false}, {4, 3, false}, {4, 2, true}, {1, 1, true}} {
			got, gotTest := run(7, c.workers, c.prefetch, c.cache, epoch)
			if !same(ref, got) {
				t.Errorf("epoch %d: workers %d prefetch %d cache %v: batches differ from 1 worker's", epoch, c.workers, c.prefetch, c.cache)
			}
			for i := range refTest {
				if !equal(refTest[i], gotTest[i]) {
					t.Errorf("test batch %d differs", i)
				}
			}
		}
		if other, _ := run(8, 2, 2, false, epoch); same(ref, other) {
			t.Errorf("seeds 7 and 8 give the same batches")
		}
	}
}

func TestPipelineOutputShape(t *testing.T) {
	src := Shape{5, 5, 1}
	ds := writeSynth(t, t.TempDir(), src, map[string]int{"unlabelled": 20, "train": 10, "test": 6}, 100)
	for _, out := range []Shape{{12, 9, 3}, {5, 5, 3}, {3, 3, 1}} {
		t.Run(out.String(), func(t *testing.T) {
			opts := DefaultOptions()
			opts.StepsPerEpoch, opts.Output, opts.Workers = 2, out, 2
			p, err := NewPipeline(ds, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			train, test := collectEpoch(t, p, 0)
			for _, b := range []*Batch{train[0].Unlabelled, train[1].Labelled, test[0]} {
				if b.Shape != out || len(b.Images) != b.Len()*out.Size() {
					t.Fatalf("batch shape %v with %d bytes", b.Shape, len(b.Images))
				}
			}
			b := train[0].Unlabelled
			split := "unlabelled"
			want := make([]byte, out.Size())
			for i, idx := range b.Indices {
				if err := Resize(synthImage(split, idx, src), src, want, out); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b.Image(i), want) {
					t.Fatalf("slot %d: not Resize of example %d", i, idx)
				}
			}
		})
	}
	opts := DefaultOptions()
	opts.StepsPerEpoch, opts.Output = 2, Shape{0, 4, 3}
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Test(); !errors.Is(err, ErrShape) {
		t.Fatalf("output height 0: %v, want ErrShape", err)
	}
	if err := Resize(make([]byte, 48), Shape{4, 4, 3}, make([]byte, 32), Shape{4, 4, 2}); !errors.Is(err, ErrShape) {
		t.Fatalf("3 -> 2 channels: %v, want ErrShape", err)
	}
}

func TestPipelineErrors(t *testing.T) {
	ds, err := Open("testdata/tfds", "badpng")
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.StepsPerEpoch = 1
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	it, err := p.Train(0)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	_, err = it.Next()
	var re *RecordError
	if !errors.As(err, &re) || !errors.Is(err, ErrBadImage) || re.Index != 1 || re.Path != shardPath("badpng", "train") {
		t.Fatalf("got %v, want a bad image error at record 1 of the train shard", err)
	}
	if _, err2 := it.Next(); err2 == nil {
		t.Fatal("Next after an error returned no error")
	}

	tiny, err := Open("testdata/tfds", "tiny")
	if err != nil {
		t.Fatal(err)
	}
	opts.StepsPerEpoch = 6 // train has 5 examples
	if _, err := NewPipeline(tiny, opts); err == nil {
		t.Fatal("empty labelled batch accepted")
	}
	opts.StepsPerEpoch, opts.TestSplit = 1, "validation"
	if _, err := NewPipeline(tiny, opts); !errors.Is(err, ErrUnknownSplit) {
		t.Fatalf("got %v, want ErrUnknownSplit", err)
	}
}

// TestIteratorCloseEarly closes iterators mid-epoch; the workers must stop (no deadlock).
func TestIteratorCloseEarly(t *testing.T) {
	ds := writeSynth(t, t.TempDir(), Shape{4, 4, 3}, map[string]int{"unlabelled": 100, "train": 50, "test": 10}, 40)
	s, _ := ds.Split("unlabelled")
	r, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, consumed := range []int{0, 1, 5} {
		it, err := NewBatchIterator(r, BatchConfig{BatchSize: 7, Workers: 3, Prefetch: 1})
		if err != nil {
			t.Fatal(err)
		}
		for range consumed {
			if _, err := it.Next(); err != nil {
				t.Fatal(err)
			}
		}
		it.Close()
		it.Close()
		if _, err := it.Next(); err == nil || err == io.EOF {
			t.Fatalf("Next after Close: %v", err)
		}
	}
}

// TestPipelineSTL10Sizes runs one epoch over splits of STL-10's sizes (100,000 unlabelled,
// 5,000 train, 8,000 test; 1x1x3 images to stay fast) with the default options: 50 steps of
// 2,000 + 100 examples, test batches of 2,100 with a last one of 1,700, each example once.
func TestPipelineSTL10Sizes(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 113,000 examples; runs without -short")
	}
	ds := writeSynth(t, t.TempDir(), Shape{1, 1, 3}, map[string]int{"unlabelled": 100000, "train": 5000, "test": 8000}, 10000)
	opts := DefaultOptions()
	opts.Seed = 3
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.UnlabelledBatch != 2000 || p.LabelledBatch != 100 || p.TestBatch != 2100 {
		t.Fatalf("batch sizes %d %d %d, want 2000 100 2100", p.UnlabelledBatch, p.LabelledBatch, p.TestBatch)
	}
	train, test := collectEpoch(t, p, 0)
	if len(train) != 50 {
		t.Fatalf("%d steps, want 50", len(train))
	}
	seenU, seenL := make([]int, 100000), make([]int, 5000)
	for _, s := range train {
		if s.Unlabelled.Len() != 2000 || s.Labelled.Len() != 100 {
			t.Fatalf("step of %d + %d", s.Unlabelled.Len(), s.Labelled.Len())
		}
		for _, i := range s.Unlabelled.Indices {
			seenU[i]++
		}
		for _, i := range s.Labelled.Indices {
			seenL[i]++
		}
	}
	for _, seen := range [][]int{seenU, seenL} {
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("example %d seen %d times", i, c)
			}
		}
	}
	var sizes []int
	for _, b := range test {
		sizes = append(sizes, b.Len())
	}
	if !slices.Equal(sizes, []int{2100, 2100, 2100, 1700}) {
		t.Fatalf("test batches %v", sizes)
	}
}

// TestTrainSlice: the slices of 1, 2 and 4 workers, concatenated in slice order, are Train's
// steps (indices, images and labels); a batch that does not split over the slices is refused.
func TestTrainSlice(t *testing.T) {
	shape := Shape{4, 4, 3}
	ds := writeSynth(t, t.TempDir(), shape, map[string]int{"unlabelled": 203, "train": 57, "test": 110}, 37)
	opts := DefaultOptions()
	opts.StepsPerEpoch, opts.ShuffleBuffer, opts.Seed, opts.Workers = 5, 50, 42, 3
	opts.UnlabelledBatch, opts.LabelledBatch = 40, 8
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	steps := func(slice, slices int) []TrainStep {
		it, err := p.TrainSlice(1, slice, slices)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var out []TrainStep
		for {
			s, err := it.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
	}
	whole := steps(0, 1)
	for _, n := range []int{2, 4} {
		parts := make([][]TrainStep, n)
		for w := range n {
			parts[w] = steps(w, n)
		}
		for s := range whole {
			for _, split := range []struct {
				name string
				of   func(TrainStep) *Batch
			}{{"unlabelled", func(s TrainStep) *Batch { return s.Unlabelled }}, {"labelled", func(s TrainStep) *Batch { return s.Labelled }}} {
				var idx []int
				var pix []byte
				var labels []int64
				for w := range n {
					b := split.of(parts[w][s])
					if b.Len() != split.of(whole[s]).Len()/n {
						t.Fatalf("%d slices, step %d, %s slice %d: %d images", n, s, split.name, w, b.Len())
					}
					idx, pix, labels = append(idx, b.Indices...), append(pix, b.Images...), append(labels, b.Labels...)
				}
				w := split.of(whole[s])
				if !slices.Equal(idx, w.Indices) || !bytes.Equal(pix, w.Images) || !slices.Equal(labels, w.Labels) {
					t.Errorf("%d slices, step %d, %s: the slices' examples %v, the whole batch's %v", n, s, split.name, idx, w.Indices)
				}
			}
		}
	}
	if _, err := p.TrainSlice(0, 0, 3); err == nil || !strings.Contains(err.Error(), "slice 0 of 3 of batches of 40") {
		t.Errorf("40 images over 3 slices: %v", err)
	}
}

// TestPreload: after Preload, epochs (at another output size, so cached images are resized)
// give the batches a pipeline without a cache gives, with every shard file truncated to nothing
// (nothing is read again); each split is loaded once, the labelled stream sharing the
// unlabelled one's cache when both read the same split; a bad record fails Preload with its
// *RecordError; a cancelled context stops it.
func TestPreload(t *testing.T) {
	out := Shape{6, 6, 3}
	for _, shared := range []bool{false, true} {
		dir := t.TempDir()
		ds := writeSynth(t, dir, Shape{4, 4, 3}, map[string]int{"unlabelled": 150, "train": 40, "test": 30}, 23)
		opts := DefaultOptions()
		opts.StepsPerEpoch, opts.ShuffleBuffer, opts.Seed, opts.Output = 4, 20, 7, out
		if shared {
			opts.UnlabelledSplit = "train"
		}
		plain, err := NewPipeline(ds, opts)
		if err != nil {
			t.Fatal(err)
		}
		want, wantTest := collectEpoch(t, plain, 2)
		plain.Close()
		opts.Cache = true
		p, err := NewPipeline(ds, opts)
		if err != nil {
			t.Fatal(err)
		}
		images, size, err := p.Preload(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wantImages := 150 + 40 + 30
		if shared {
			wantImages = 40 + 30
		}
		if images != wantImages || size != int64(wantImages*4*4*3) {
			t.Fatalf("shared %v: preloaded %d images, %d bytes; want %d and %d", shared, images, size, wantImages, wantImages*4*4*3)
		}
		shards, _ := filepath.Glob(filepath.Join(ds.Dir, "*.tfrecord*"))
		if len(shards) == 0 {
			t.Fatalf("no shards in %s", ds.Dir)
		}
		for _, s := range shards {
			if err := os.Truncate(s, 0); err != nil {
				t.Fatal(err)
			}
		}
		got, gotTest := collectEpoch(t, p, 2)
		p.Close()
		if len(got) != len(want) || len(gotTest) != len(wantTest) {
			t.Fatalf("shared %v: %d steps and %d test batches, want %d and %d", shared, len(got), len(gotTest), len(want), len(wantTest))
		}
		for i := range want {
			for _, pair := range [][2]*Batch{{want[i].Unlabelled, got[i].Unlabelled}, {want[i].Labelled, got[i].Labelled}} {
				if !bytes.Equal(pair[0].Images, pair[1].Images) || !slices.Equal(pair[0].Labels, pair[1].Labels) {
					t.Fatalf("shared %v: step %d differs from the uncached pipeline's", shared, i)
				}
			}
		}
		for i := range wantTest {
			if !bytes.Equal(wantTest[i].Images, gotTest[i].Images) || !slices.Equal(wantTest[i].Labels, gotTest[i].Labels) {
				t.Fatalf("shared %v: test batch %d differs", shared, i)
			}
		}
	}

	bad, err := Open("testdata/tfds", "badpng")
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.StepsPerEpoch, opts.Cache = 1, true
	p, err := NewPipeline(bad, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	_, _, err = p.Preload(context.Background())
	var re *RecordError
	if !errors.As(err, &re) || !errors.Is(err, ErrBadImage) || re.Index != 1 || re.Path != shardPath("badpng", "train") {
		t.Fatalf("preloading badpng: %v, want a bad image error at record 1 of the train shard", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ds := writeSynth(t, t.TempDir(), Shape{4, 4, 3}, map[string]int{"unlabelled": 600, "train": 40, "test": 30}, 100)
	opts.StepsPerEpoch = 4
	if p, err = NewPipeline(ds, opts); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if n, _, err := p.Preload(ctx); !errors.Is(err, context.Canceled) || n >= 600 {
		t.Fatalf("cancelled preload: %d images, %v; want context.Canceled before the end", n, err)
	}
}
