package evaluate

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

func TestTrainLinearSeparable(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const n, d, k = 600, 5, 3
	x := make([]float32, n*d)
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(i % k)
		for j := 0; j < d; j++ {
			x[i*d+j] = float32(r.NormFloat64() * 0.3)
		}
		x[i*d+int(y[i])] += 2 // class c is large in feature c
	}
	cfg := DefaultLinearConfig()
	cfg.Epochs = 20
	cfg.BatchSize = 32
	cfg.LearningRate = 1e-2
	sc := tfrun.DefaultSessionConfig()
	lc, err := TrainLinear(x, y, d, k, cfg, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer lc.Close()
	logits, err := lc.Logits(x)
	if err != nil {
		t.Fatal(err)
	}
	if acc := TopK(logits, y, 1); acc < 0.97 {
		t.Fatalf("top-1 %.3f on separable data", acc)
	}
	if _, err := TrainLinear(x, y[:10], d, k, cfg, sc); err == nil || !strings.Contains(err.Error(), "feature values for 10 examples") {
		t.Fatalf("mismatched features: %v", err)
	}
	bad := append([]int64(nil), y...)
	bad[7] = 9
	if _, err := TrainLinear(x, bad, d, k, cfg, sc); err == nil || !strings.Contains(err.Error(), "label 9 of example 7") {
		t.Fatalf("bad label: %v", err)
	}
}

func TestTopK(t *testing.T) {
	logits := []float32{0.1, 0.5, 0.4, 0.9, 0.05, 0.05}
	if got := TopK(logits, []int64{2, 0}, 1); got != 0.5 {
		t.Fatalf("top-1 %v", got)
	}
	if got := TopK(logits, []int64{2, 2}, 2); got != 0.5 {
		t.Fatalf("top-2 %v (a tie at the boundary goes to the lower index)", got)
	}
}
