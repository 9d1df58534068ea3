package augment

import (
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// BenchmarkContrastive96 times the contrastive augmenter on 2,100 images of 96×96×3 (one view
// of one training step of the Keras example on STL-10), and, in the same run, TensorFlow's
// in-graph version of the same work on the same core count. It reports Go images/s, TF images/s
// and their ratio.
func BenchmarkContrastive96(b *testing.B) {
	benchVsTF(b, ContrastiveConfig(96, 96))
}

// BenchmarkPaperOptions96 is BenchmarkContrastive96 with every optional augmentation on at
// p = 1: SimCLR's strength-1 colour jitter (0.8, 0.8, 0.8, 0.2) in a random order, grayscale and
// the Gaussian blur with σ ~ U(0.1, 2.0); TensorFlow's version adds the same ops per image in
// tf.map_fn (testdata/tf_augment_bench.py paper).
func BenchmarkPaperOptions96(b *testing.B) {
	benchVsTF(b, paperConfig(96, 96, 1), "paper")
}

// benchVsTF times cfg on 2,100 random images of 96×96×3, then runs testdata/tf_augment_bench.py
// with the same sizes and thread count and the extra arguments, and reports both rates and
// their ratio.
func benchVsTF(b *testing.B, cfg Config, tfArgs ...string) {
	const n, side = 2100, 96
	im := randomImages(1, n, side, side, 3)
	a, err := New(cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, a.OutputLen(n, 3))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if err := a.Apply(out, im, 0, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	goRate := float64(n*b.N) / elapsed.Seconds()
	b.ReportMetric(goRate, "images/s")
	if b.N < 3 {
		return // the calibration rounds; compare once, on the measured round
	}
	threads := runtime.GOMAXPROCS(0)
	args := append([]string{fmt.Sprint(n), fmt.Sprint(side), fmt.Sprint(side), "3",
		fmt.Sprint(cfg.Height), fmt.Sprint(cfg.Width), "5", fmt.Sprint(threads)}, tfArgs...)
	raw := testpy.Run(b, "testdata/tf_augment_bench.py", args...)
	var tfres struct {
		ImagesPerSecond float64 `json:"images_per_second"`
	}
	if err := json.Unmarshal(raw, &tfres); err != nil {
		b.Fatalf("tf bench output %q: %v", raw, err)
	}
	b.ReportMetric(tfres.ImagesPerSecond, "tf-images/s")
	b.ReportMetric(goRate/tfres.ImagesPerSecond, "go/tf")
}
