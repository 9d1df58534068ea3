package run

import (
	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/train"
)

// pipelineData adapts the loader's NNCLR pipeline to the training loop's Data. With slices > 1
// each step holds only worker slice's part of the global batch (loader.Pipeline.TrainSlice; the
// trainer's SlicedInput); the test batches are whole (the trainer takes its share of each).
type pipelineData struct {
	p             *loader.Pipeline
	slice, slices int
	testSubset    []int // the validation's examples of the test split (nil: all; ValidationSubset)
}

func images(b *loader.Batch) augment.Images {
	return augment.Images{Pix: b.Images, N: b.Len(), H: b.Shape.Height, W: b.Shape.Width, C: b.Shape.Channels}
}

type trainIter struct{ it *loader.TrainIterator }

func (t trainIter) Next() (train.Batch, error) {
	s, err := t.it.Next()
	if err != nil {
		return train.Batch{}, err
	}
	u := images(s.Unlabelled)
	if s.Labelled == nil { // a dataset without labels: no labelled images
		return train.Batch{Unlabelled: u, Labelled: augment.Images{H: u.H, W: u.W, C: u.C}}, nil
	}
	return train.Batch{Unlabelled: u, Labelled: images(s.Labelled), Labels: s.Labelled.Labels}, nil
}

func (t trainIter) Close() error { return t.it.Close() }

type testIter struct{ it *loader.BatchIterator }

func (t testIter) Next() (train.TestBatch, error) {
	b, err := t.it.Next()
	if err != nil {
		return train.TestBatch{}, err
	}
	return train.TestBatch{Images: images(b), Labels: b.Labels}, nil
}

func (t testIter) Close() error { return t.it.Close() }

func (d pipelineData) TrainEpoch(epoch int) (train.Iterator[train.Batch], error) {
	it, err := d.p.TrainSlice(epoch, d.slice, max(d.slices, 1))
	if err != nil {
		return nil, err
	}
	return trainIter{it}, nil
}

func (d pipelineData) Test() (train.Iterator[train.TestBatch], error) {
	it, err := testBatches(d.p, d.testSubset)
	if err != nil {
		return nil, err
	}
	return testIter{it}, nil
}
