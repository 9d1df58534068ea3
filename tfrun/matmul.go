package tfrun

import (
	"slices"
	"time"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// MatMulPeak measures the float32 matrix-multiplication rate of the runtime: the median
// GFLOP/s of reps products of two n×n matrices in a session with configuration c.
func MatMulPeak(c SessionConfig, n, reps int) (float64, error) {
	s := op.NewScope()
	a := op.Placeholder(s.SubScope("a"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(n), int64(n))))
	prod := op.MatMul(s.SubScope("mm"), a, a)
	sum := op.Sum(s.SubScope("sum"), prod, op.Const(s.SubScope("axes"), []int32{0, 1}))
	g, err := s.Finalize()
	if err != nil {
		return 0, err
	}
	sess, err := NewSession(g, c)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	x, err := NewFloatTensor([]int64{int64(n), int64(n)}, func(d []float32) error {
		for i := range d {
			d[i] = float32(i%7) * 0.1
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	defer Close(x)
	var times []float64
	for i := 0; i < reps+1; i++ {
		t0 := time.Now()
		out, err := sess.Run(map[tf.Output]*tf.Tensor{a: x}, []tf.Output{sum}, nil)
		if err != nil {
			return 0, err
		}
		Close(out...)
		if i > 0 { // the first run warms up
			times = append(times, time.Since(t0).Seconds())
		}
	}
	slices.Sort(times)
	return 2 * float64(n) * float64(n) * float64(n) / times[len(times)/2] / 1e9, nil
}
