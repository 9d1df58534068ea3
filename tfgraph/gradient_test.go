package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/nnclr/nnclr/tfrun"
)

// TestGradientMatchesFiniteDifferences proves headers, link, runtime and the C++ gradient registry
// together: a Conv2D → BiasAdd → Relu → Reshape → MatMul chain with a scalar loss gets its
// gradients from Graph.AddGradients, and each partial derivative is compared with a central finite
// difference computed by running the same graph at perturbed inputs (float64 throughout).
func TestGradientMatchesFiniteDifferences(t *testing.T) {
	s := op.NewScope()
	x := op.Placeholder(s.SubScope("x"), tf.Double, op.PlaceholderShape(tf.MakeShape(1, 5, 5, 2)))
	k := op.Placeholder(s.SubScope("k"), tf.Double, op.PlaceholderShape(tf.MakeShape(3, 3, 2, 3)))
	b := op.Placeholder(s.SubScope("b"), tf.Double, op.PlaceholderShape(tf.MakeShape(3)))
	w := op.Placeholder(s.SubScope("w"), tf.Double, op.PlaceholderShape(tf.MakeShape(27, 4)))
	conv := op.Conv2D(s, x, k, []int64{1, 1, 1, 1}, "VALID")
	h := op.Relu(s, op.BiasAdd(s, conv, b))
	flat := op.Reshape(s, h, op.Const(s.SubScope("shape"), []int32{1, 27}))
	y := op.MatMul(s, flat, w)
	loss := op.Sum(s, op.Square(s, y), op.Const(s.SubScope("axes"), []int32{0, 1}))
	inputs := []tf.Output{x, k, b, w}
	grads := op.Gradients(s, []tf.Output{loss}, inputs)
	g, err := s.Finalize()
	if err != nil {
		t.Fatalf("build graph: %v", err)
	}
	sess, err := tfrun.NewSession(g, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer sess.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	shapes := [][]int64{{1, 5, 5, 2}, {3, 3, 2, 3}, {3}, {27, 4}}
	vals := [][]float64{fill(50), fill(54), fill(3), fill(108)}

	run := func(fetches []tf.Output) []*tf.Tensor {
		t.Helper()
		feeds := map[tf.Output]*tf.Tensor{}
		for i, in := range inputs {
			tt, err := tf.NewTensor(vals[i])
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.Reshape(shapes[i]); err != nil {
				t.Fatal(err)
			}
			feeds[in] = tt
		}
		out, err := sess.Run(feeds, fetches, nil)
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return out
	}
	lossAt := func() float64 { return run([]tf.Output{loss})[0].Value().(float64) }

	analytic := run(grads)
	const eps = 1e-6
	checked := 0
	for i := range inputs {
		got := flatten(analytic[i].Value())
		if len(got) != len(vals[i]) {
			t.Fatalf("gradient %d has %d elements, want %d", i, len(got), len(vals[i]))
		}
		for j := range vals[i] {
			orig := vals[i][j]
			vals[i][j] = orig + eps
			up := lossAt()
			vals[i][j] = orig - eps
			down := lossAt()
			vals[i][j] = orig
			fd := (up - down) / (2 * eps)
			if diff := math.Abs(fd - got[j]); diff > 1e-5*math.Max(1, math.Abs(fd)) {
				t.Errorf("input %d element %d: AddGradients %.9g, finite difference %.9g", i, j, got[j], fd)
			}
			checked++
		}
	}
	if checked != 50+54+3+108 {
		t.Fatalf("checked %d partial derivatives", checked)
	}
	// The gradient must not be trivially zero: the loss depends on every weight.
	if n := norm(flatten(analytic[3].Value())); n == 0 {
		t.Fatalf("gradient with respect to the dense kernel is zero")
	}
}

func flatten(v any) []float64 {
	switch a := v.(type) {
	case float64:
		return []float64{a}
	case []float64:
		return a
	case [][]float64:
		var out []float64
		for _, r := range a {
			out = append(out, r...)
		}
		return out
	case [][][]float64:
		var out []float64
		for _, r := range a {
			out = append(out, flatten(r)...)
		}
		return out
	case [][][][]float64:
		var out []float64
		for _, r := range a {
			out = append(out, flatten(r)...)
		}
		return out
	}
	return nil
}

func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}
