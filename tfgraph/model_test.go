package tfgraph

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/nnclr/nnclr/tfrun"
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
	x, err := tfrun.NewFloatTensor(shape, func(d []float32) error {
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

// runFloats finalises s's graph (one without placeholders), runs it once in a session of 2
// intra- and inter-op threads and returns each of fetch's values as float32s.
func runFloats(t *testing.T, s *op.Scope, fetch []tf.Output) [][]float32 {
	t.Helper()
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tfrun.NewSession(g, tfrun.SessionConfig{IntraOpThreads: 2, InterOpThreads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	outs, err := sess.Run(nil, fetch, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tfrun.Close(outs...)
	vals := make([][]float32, len(outs))
	for i, o := range outs {
		if vals[i], err = tfrun.Float32s(o); err != nil {
			t.Fatal(err)
		}
	}
	return vals
}

func TestTrainStepRuns(t *testing.T) {
	cfg := smallConfig()
	m, err := NewModel(cfg, tfrun.DefaultSessionConfig())
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

// TestTrainStepRefusesBadBatches: a views tensor that does not hold two views of the same number
// of images, a batch larger than the queue and a missing tensor are errors naming the problem,
// and a refused batch leaves the model untouched.
func TestTrainStepRefusesBadBatches(t *testing.T) {
	m := newInitModel(t, smallConfig(), 1) // queue 32
	r := rand.New(rand.NewPCG(1, 1))
	px, py := randTensor(t, r, 4, 32, 32, 3), labelTensor(t, r, 4, 4)
	for _, c := range []struct {
		name  string
		batch Batch
		want  string
	}{
		{"odd views", Batch{Views: randTensor(t, r, 15, 32, 32, 3), ProbeX: px, ProbeY: py}, "views tensor of shape [15 32 32 3], want [2n, height, width, channels]"},
		{"views of rank 3", Batch{Views: randTensor(t, r, 16, 32, 32), ProbeX: px, ProbeY: py}, "views tensor of shape [16 32 32]"},
		{"larger than the queue", Batch{Views: randTensor(t, r, 66, 32, 32, 3), ProbeX: px, ProbeY: py}, "contrastive batch of 33 images exceeds the queue size 32"},
		{"no probe labels", Batch{Views: randTensor(t, r, 16, 32, 32, 3), ProbeX: px}, "batch has a nil tensor"},
	} {
		_, err := m.TrainStep(c.batch)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", c.name, err, c.want)
		}
	}
	w, err := m.Weights("global_step")
	if err != nil {
		t.Fatal(err)
	}
	if w["global_step"].Int[0] != 0 {
		t.Errorf("global_step = %d after refused batches", w["global_step"].Int[0])
	}
}
