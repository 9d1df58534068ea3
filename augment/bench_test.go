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
	const n, side = 2100, 96
	im := randomImages(1, n, side, side, 3)
	a, err := New(ContrastiveConfig(side, side), 1)
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
	raw := testpy.Run(b, "testdata/tf_augment_bench.py", fmt.Sprint(n), fmt.Sprint(side), fmt.Sprint(side), "3",
		fmt.Sprint(side), fmt.Sprint(side), "5", fmt.Sprint(threads))
	var tfres struct {
		ImagesPerSecond float64 `json:"images_per_second"`
	}
	if err := json.Unmarshal(raw, &tfres); err != nil {
		b.Fatalf("tf bench output %q: %v", raw, err)
	}
	b.ReportMetric(tfres.ImagesPerSecond, "tf-images/s")
	b.ReportMetric(goRate/tfres.ImagesPerSecond, "go/tf")
}
