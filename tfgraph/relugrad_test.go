package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestOwnReluGradMatchesReluGrad: nnclr's ReLU gradient kernel (tfrun.ReluGradOp) gives what
// TensorFlow's ReluGrad gives, in float32 and in bfloat16 (both fed the same values cast to
// bfloat16), bit for bit: features around 0 (±0, the smallest subnormals, ±Inf, NaN) and random
// values, gradients of both signs, subnormal and ±Inf; for a gradient that is not finite where
// the mask zeroes it, both give a NaN. Sizes cover the vector loop's tail and the two-thread
// split (a million elements and more). Each op gets gradients of its own, computed (a product
// by 1), so that TensorFlow can hand their buffer over as the output, as in the training graph;
// a float32 pair also runs on constants, whose buffers it cannot hand over.
func TestOwnReluGradMatchesReluGrad(t *testing.T) {
	name, err := tfrun.ReluGradOp()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	special := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32,
		1e-39, -1e-39, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1, -1, 3e38, -3e38}
	for _, n := range []int{1, 31, 33, 1000, 1 << 20, 1<<20 + 37} {
		g, a := make([]float32, n), make([]float32, n)
		for i := range n {
			g[i], a[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			if i%7 == 0 {
				a[i] = special[r.IntN(len(special))]
			}
			if i%11 == 0 {
				g[i] = special[4+r.IntN(len(special)-4)] // ±1e-39, ±Inf, NaN, ±1, ±3e38
			}
		}
		s := op.NewScope()
		gc, ac := op.Const(s.SubScope("g"), g), op.Const(s.SubScope("a"), a)
		own := func(s *op.Scope, g, a tf.Output) tf.Output {
			return s.AddOperation(tf.OpSpec{Type: name, Input: []tf.Input{g, a}}).Output(0)
		}
		ab := op.Cast(s.SubScope("ab"), ac, tf.Bfloat16)
		// fresh returns gradients of type dt that only the op reading them uses.
		one32 := op.Const(s.SubScope("one"), float32(1))
		fresh := func(name string, dt tf.DataType) tf.Output {
			gs := s.SubScope(name)
			return op.Cast(gs, op.Mul(gs, gc, one32), dt)
		}
		fetch := []tf.Output{
			op.ReluGrad(s.SubScope("tf32"), fresh("g1", tf.Float), ac), own(s.SubScope("own32"), fresh("g2", tf.Float), ac),
			op.Cast(s.SubScope("tf16"), op.ReluGrad(s.SubScope("tfb"), fresh("g3", tf.Bfloat16), ab), tf.Float),
			op.Cast(s.SubScope("own16"), own(s.SubScope("ownb"), fresh("g4", tf.Bfloat16), ab), tf.Float),
			op.ReluGrad(s.SubScope("tfc"), gc, ac), own(s.SubScope("ownc"), gc, ac),
		}
		v := runFloats(t, s, fetch)
		for _, p := range []struct {
			what     string
			tf, mine []float32
		}{{"float32", v[0], v[1]}, {"bfloat16", v[2], v[3]}, {"float32 constants", v[4], v[5]}} {
			if len(p.mine) != n {
				t.Fatalf("%s, %d elements: %d values", p.what, n, len(p.mine))
			}
			for i := range n {
				x, y := p.tf[i], p.mine[i]
				same := math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
				if !same {
					t.Fatalf("%s, %d elements, element %d (gradient %v, feature %v): ReluGrad %v (%#x), nnclr's %v (%#x)",
						p.what, n, i, g[i], a[i], x, math.Float32bits(x), y, math.Float32bits(y))
				}
			}
		}
	}
}
