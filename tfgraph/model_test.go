package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
)

func smallConfig() ModelConfig {
	c := DefaultModelConfig()
	c.Height, c.Width, c.Channels = 32, 32, 3
	c.ModelWidth = 16
	c.QueueSize = 32
	c.NumClasses = 4
	return c
}

func randTensor(t testing.TB, r *rand.Rand, shape ...int64) *tf.Tensor {
	t.Helper()
	x, err := NewFloatTensor(shape, func(d []float32) error {
		for i := range d {
			d[i] = r.Float32()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func labelTensor(t testing.TB, r *rand.Rand, n, k int) *tf.Tensor {
	t.Helper()
	y := make([]int64, n)
	for i := range y {
		y[i] = int64(r.IntN(k))
	}
	tt, err := tf.NewTensor(y)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func TestTrainStepRuns(t *testing.T) {
	cfg := smallConfig()
	m, err := NewModel(cfg, DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Init(1); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 3; i++ {
		met, err := m.TrainStep(Batch{
			Views:  randTensor(t, r, 16, 32, 32, 3),
			ProbeX: randTensor(t, r, 4, 32, 32, 3), ProbeY: labelTensor(t, r, 4, 4),
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("step %d: %+v", i, met)
		if math.IsNaN(met.CLoss) || met.CLoss <= 0 {
			t.Fatalf("c_loss %v", met.CLoss)
		}
	}
	w, err := m.Weights("global_step", "adam_c/iterations", "adam_p/iterations")
	if err != nil {
		t.Fatal(err)
	}
	for n, a := range w {
		if a.Int[0] != 3 {
			t.Errorf("%s = %d after 3 steps", n, a.Int[0])
		}
	}
}
