package run

import (
	"fmt"
	"testing"
	"time"

	"github.com/nnclr/nnclr/augment"
	"github.com/nnclr/nnclr/loader"
)

// BenchmarkInputPerWorker measures the input side of one worker of a data-parallel run at the
// seed configuration (Fashion-MNIST resized to 96×96×3, a global batch of 504 unlabelled + 24
// labelled images, divisible by 1, 2 and 3 workers): per step, the wall time to read and decode
// worker 0's slice (loader.Pipeline.TrainSlice, GOMAXPROCS decoders) and to augment it (two
// contrastive views of the slice and the probe view of its labelled images, as the training
// loop does), at 1, 2 and 3 workers. Workers decode only their slice, so both fall as 1/N.
func BenchmarkInputPerWorker(b *testing.B) {
	const unl, lab, steps, size = 504, 24, 4, 96
	dataDir := fashion(b, unl*steps)
	ds, err := loader.Open(dataDir, "fashion_mnist")
	if err != nil {
		b.Fatal(err)
	}
	opts := loader.DefaultOptions()
	opts.StepsPerEpoch, opts.UnlabelledBatch, opts.LabelledBatch, opts.ShuffleBuffer = steps, unl, lab, 1000
	opts.UnlabelledSplit = "train" // Fashion-MNIST has no unlabelled split: its train split serves both
	opts.Output = loader.Shape{Height: size, Width: size, Channels: 3}
	p, err := loader.NewPipeline(ds, opts)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	con, err := augment.New(augment.ContrastiveConfig(size, size), 1)
	if err != nil {
		b.Fatal(err)
	}
	cls, err := augment.New(augment.ClassificationConfig(size, size), 1)
	if err != nil {
		b.Fatal(err)
	}
	for range b.N {
		for _, n := range []int{1, 2, 3} {
			// Decoding alone first (the consumer waits for every step: nothing overlaps it),
			// then the augmentation of the same steps.
			it, err := p.TrainSlice(0, 0, n)
			if err != nil {
				b.Fatal(err)
			}
			var got []loader.TrainStep
			t0 := time.Now()
			for range steps {
				st, err := it.Next()
				if err != nil {
					b.Fatal(err)
				}
				got = append(got, st)
			}
			decode := time.Since(t0)
			it.Close()
			t0 = time.Now()
			for s, st := range got {
				u, l := images(st.Unlabelled), images(st.Labelled)
				views := make([]float32, con.OutputLen(u.N+l.N, 3))
				split := con.OutputLen(u.N, 3)
				for stream := range uint64(2) {
					if err := con.ApplyFrom(views[:split], u, stream, uint64(s), 0); err != nil {
						b.Fatal(err)
					}
					if err := con.ApplyFrom(views[split:], l, stream, uint64(s), u.N); err != nil {
						b.Fatal(err)
					}
				}
				if err := cls.ApplyFrom(make([]float32, cls.OutputLen(l.N, 3)), l, 2, uint64(s), 0); err != nil {
					b.Fatal(err)
				}
			}
			aug := time.Since(t0)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / steps }
			fmt.Printf("input per worker, %d worker(s): %d+%d images decoded per step: decode %.1f ms + augment %.1f ms = %.1f ms per step\n",
				n, unl/n, lab/n, ms(decode), ms(aug), ms(decode+aug))
		}
	}
}
