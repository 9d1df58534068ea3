package train

import (
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/nnclr/nnclr/augment"
)

// MemData is an in-memory Data source: images held as uint8 NHWC arrays, shuffled per epoch by a
// permutation drawn from (Seed, epoch) and batched with drop-remainder. It serves tests and small
// datasets; the loader package provides the tfds-backed source.
type MemData struct {
	H, W, C         int
	Unlabelled      []uint8 // NU images
	Labelled        []uint8 // NL images
	Labels          []int64 // NL labels
	TestImages      []uint8
	TestLabels      []int64
	UnlabelledBatch int
	LabelledBatch   int
	TestBatch       int
	Seed            uint64
}

func (d *MemData) per() int { return d.H * d.W * d.C }

func perm(seed uint64, stream uint64, epoch, n int) []int {
	r := rand.New(rand.NewPCG(seed, stream<<32|uint64(epoch)))
	return r.Perm(n)
}

type memIter struct {
	d      *MemData
	pu, pl []int
	step   int
	bufU   []uint8
	bufL   []uint8
}

// TrainEpoch returns the zipped, shuffled, drop-remainder batches of epoch.
func (d *MemData) TrainEpoch(epoch int) (Iterator[Batch], error) {
	if d.UnlabelledBatch <= 0 || d.LabelledBatch <= 0 {
		return nil, fmt.Errorf("train: memdata: batch sizes %d and %d: want > 0", d.UnlabelledBatch, d.LabelledBatch)
	}
	return &memIter{d: d, pu: perm(d.Seed, 1, epoch, len(d.Unlabelled)/d.per()), pl: perm(d.Seed, 2, epoch, len(d.Labels))}, nil
}

func (it *memIter) Next() (Batch, error) {
	d := it.d
	bu, bl := d.UnlabelledBatch, d.LabelledBatch
	if (it.step+1)*bu > len(it.pu) || (it.step+1)*bl > len(it.pl) {
		return Batch{}, io.EOF
	}
	per := d.per()
	it.bufU = gather(it.bufU[:0], d.Unlabelled, it.pu[it.step*bu:(it.step+1)*bu], per)
	it.bufL = gather(it.bufL[:0], d.Labelled, it.pl[it.step*bl:(it.step+1)*bl], per)
	labels := make([]int64, bl)
	for i, j := range it.pl[it.step*bl : (it.step+1)*bl] {
		labels[i] = d.Labels[j]
	}
	it.step++
	return Batch{
		Unlabelled: augment.Images{Pix: it.bufU, N: bu, H: d.H, W: d.W, C: d.C},
		Labelled:   augment.Images{Pix: it.bufL, N: bl, H: d.H, W: d.W, C: d.C},
		Labels:     labels,
	}, nil
}

func gather(dst, src []uint8, idx []int, per int) []uint8 {
	for _, j := range idx {
		dst = append(dst, src[j*per:(j+1)*per]...)
	}
	return dst
}

func (it *memIter) Close() error { return nil }

type memTest struct {
	d   *MemData
	pos int
}

// Test returns the test split in order, in batches of TestBatch (the last one may be smaller).
func (d *MemData) Test() (Iterator[TestBatch], error) {
	if d.TestBatch <= 0 {
		return nil, fmt.Errorf("train: memdata: test batch %d: want > 0", d.TestBatch)
	}
	return &memTest{d: d}, nil
}

func (it *memTest) Next() (TestBatch, error) {
	d := it.d
	n := len(d.TestLabels)
	if it.pos >= n {
		return TestBatch{}, io.EOF
	}
	end := min(it.pos+d.TestBatch, n)
	per := d.per()
	b := TestBatch{Images: augment.Images{Pix: d.TestImages[it.pos*per : end*per], N: end - it.pos, H: d.H, W: d.W, C: d.C},
		Labels: d.TestLabels[it.pos:end]}
	it.pos = end
	return b, nil
}

func (it *memTest) Close() error { return nil }
