package loader

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
)

// TestTestSubset: TestSubset yields the subset's examples (their images and labels) in Test's
// order, batched at TestBatch with a last smaller batch; nil is all of Test; an index out of
// range is refused naming it.
func TestTestSubset(t *testing.T) {
	shape := Shape{4, 4, 3}
	ds := writeSynth(t, t.TempDir(), shape, map[string]int{"unlabelled": 60, "train": 30, "test": 110}, 37)
	opts := DefaultOptions()
	opts.StepsPerEpoch, opts.Workers = 5, 3
	p, err := NewPipeline(ds, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	read := func(open func() (*BatchIterator, error)) (idx []int, sizes []int, images [][]byte, labels []int64) {
		it, err := open()
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		for {
			b, err := it.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			idx, sizes, labels = append(idx, b.Indices...), append(sizes, b.Len()), append(labels, b.Labels...)
			for j := range b.Len() {
				images = append(images, b.Image(j))
			}
		}
	}
	allIdx, _, allImg, allLab := read(p.Test)
	if nilIdx, _, _, _ := read(func() (*BatchIterator, error) { return p.TestSubset(nil) }); !slices.Equal(nilIdx, allIdx) {
		t.Errorf("TestSubset(nil) read %v, Test %v", nilIdx, allIdx)
	}
	subset := []int{3, 40, 41, 77, 90, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 0, 5, 60, 61, 62, 63, 64, 65}
	idx, sizes, img, lab := read(func() (*BatchIterator, error) { return p.TestSubset(subset) })
	var want []int
	for _, i := range allIdx {
		if slices.Contains(subset, i) {
			want = append(want, i)
		}
	}
	if !slices.Equal(idx, want) || !slices.Equal(sizes, []int{p.TestBatch, len(subset) - p.TestBatch}) {
		t.Fatalf("subset read %v in batches %v, want %v in batches of %d", idx, sizes, want, p.TestBatch)
	}
	for k, i := range idx {
		at := slices.Index(allIdx, i)
		if !bytes.Equal(img[k], allImg[at]) || lab[k] != allLab[at] {
			t.Errorf("example %d: not Test's image and label", i)
		}
	}
	if _, err := p.TestSubset([]int{4, 110}); err == nil || !strings.Contains(err.Error(), "subset example 110 out of range [0, 110)") {
		t.Errorf("index out of range: %v", err)
	}
}
