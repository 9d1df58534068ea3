package tfgraph

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// BenchmarkTrainStep96 times one session run of the train step at the Keras example's image size
// and width (250 contrastive and 50 probe images, fixed inputs, 2 intra- and inter-op threads):
// the graph's own cost without data loading or augmentation, beside the Keras reference's
// tf.function step on the same shapes and threads in the same run.
func BenchmarkTrainStep96(b *testing.B) {
	const bsz, bl, threads = 250, 50, 2
	m, err := NewModel(DefaultModelConfig(), SessionConfig{IntraOpThreads: threads, InterOpThreads: threads})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	if err := m.Init(1); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	batch := Batch{Views: randTensor(b, r, 2*bsz, 96, 96, 3),
		ProbeX: randTensor(b, r, bl, 96, 96, 3), ProbeY: labelTensor(b, r, bl, 10)}
	if _, err := m.TrainStep(batch); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	var secs []float64
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if _, err := m.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
	}
	b.StopTimer()
	slices.Sort(secs)
	goSec := secs[len(secs)/2]
	b.ReportMetric(goSec, "go-s/step")
	if b.N < 3 {
		return
	}
	out := testpy.Run(b, "testdata/keras_step_bench.py", "250", "50", "2", "5")
	var k struct {
		Seconds float64 `json:"seconds_per_step"`
	}
	if err := json.Unmarshal(out, &k); err != nil {
		b.Fatalf("keras step bench: %q: %v", out, err)
	}
	b.ReportMetric(k.Seconds, "keras-s/step")
	b.ReportMetric(k.Seconds/goSec, "go-speed/keras")
}
