package tfgraph

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/tfc"
	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestOwnReluGradMatchesTF: nnclr's ReLU gradient kernel (tfrun.ReluGradBiasOp) gives what
// TensorFlow gives, in float32 and in bfloat16 (both fed the same values cast to bfloat16):
//
//   - its backprops equal ReluGrad's bit for bit: features around 0 (±0, the smallest
//     subnormals, ±Inf, NaN) and random values, gradients of both signs, subnormal and ±Inf; for
//     a gradient that is not finite where the mask zeroes it, both give a NaN;
//   - its bias gradient equals TensorFlow's sum of ReluGrad's result over every dimension but
//     the last, computed in float64 (Cast, Sum), within 1e-6 of the channel's sum of absolute
//     values (NaN or ±Inf where that sum is). A few rows carry values of 10⁴ (the first, the
//     last, the middle one, where two threads split the work, and random ones), so that a row
//     summed twice or not at all is 10⁴ off; and computed twice from the same float32 values,
//     it gives the same bits.
//
// Shapes cover the vector loops' tails (channels 1, 3, 16, 17, 129), a rank 1 tensor (one
// channel) and the two-thread split (a million elements and more). Each op gets gradients of its
// own, computed (a product by 1), so that TensorFlow can hand their buffer over as the output, as
// in the training graph; a float32 pair also runs on constants, whose buffers it cannot hand over.
// It runs twice: with the CPU's AVX-512 loops (where it has them), and with the portable loops
// that CPUs without AVX-512 run (tfc.ScalarOnly).
func TestOwnReluGradMatchesTF(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		t.Run(map[bool]string{false: "vector", true: "scalar"}[scalar], func(t *testing.T) {
			tfc.ScalarOnly(scalar)
			defer tfc.ScalarOnly(false)
			checkOwnReluGrad(t)
		})
	}
}

func checkOwnReluGrad(t *testing.T) {
	name, err := tfrun.ReluGradBiasOp()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(9, 9))
	finite := []float32{0, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, -math.SmallestNonzeroFloat32, 1e-39, -1e-39, 1, -1}
	nonFinite := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38}
	for _, c := range []struct {
		shape     []int64
		nonFinite bool // Inf and NaN among the values (the sums are then mostly NaN)
	}{
		{[]int64{1}, true}, {[]int64{31}, false}, {[]int64{33, 3}, true}, {[]int64{40, 17}, false},
		{[]int64{5, 7, 16}, true}, {[]int64{2, 3, 3, 129}, false}, {[]int64{1 << 20}, false},
		{[]int64{64, 15, 15, 128}, false}, {[]int64{4099, 257}, true},
	} {
		n, last := 1, int(c.shape[len(c.shape)-1])
		for _, d := range c.shape {
			n *= int(d)
		}
		special := finite
		if c.nonFinite {
			special = append(append([]float32(nil), finite...), nonFinite...)
		}
		g, a := make([]float32, n), make([]float32, n)
		for i := range n {
			g[i], a[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			if i%7 == 0 {
				a[i] = special[r.IntN(len(special))]
			}
			if i%11 == 0 {
				g[i] = special[r.IntN(len(special))]
			}
		}
		rows := n / last
		for _, row := range []int{0, rows - 1, rows / 2, r.IntN(rows), r.IntN(rows)} {
			k := row*last + r.IntN(last)
			g[k], a[k] = 1e4, 1
		}
		s := op.NewScope()
		gc, ac := op.Const(s.SubScope("g"), g), op.Const(s.SubScope("a"), a)
		shape := op.Const(s.SubScope("shape"), c.shape)
		gc, ac = op.Reshape(s.SubScope("gr"), gc, shape), op.Reshape(s.SubScope("ar"), ac, shape)
		own := func(s *op.Scope, g, a tf.Output) (tf.Output, tf.Output) {
			o := s.AddOperation(tf.OpSpec{Type: name, Input: []tf.Input{g, a}})
			return o.Output(0), o.Output(1)
		}
		axes := make([]int32, len(c.shape)-1)
		for i := range axes {
			axes[i] = int32(i)
		}
		// tfBias is TensorFlow's float64 sum of backprops over every axis but the last.
		tfBias := func(s *op.Scope, backprops tf.Output) tf.Output {
			wide := op.Cast(s.SubScope("double"), backprops, tf.Double)
			return op.Cast(s.SubScope("float"), op.Sum(s.SubScope("sum"), wide, op.Const(s.SubScope("axes"), axes)), tf.Float)
		}
		ab := op.Cast(s.SubScope("ab"), ac, tf.Bfloat16)
		// fresh returns gradients of type dt that only the op reading them uses.
		one32 := op.Const(s.SubScope("one"), float32(1))
		fresh := func(name string, dt tf.DataType) tf.Output {
			gs := s.SubScope(name)
			return op.Cast(gs, op.Mul(gs, gc, one32), dt)
		}
		tf32 := op.ReluGrad(s.SubScope("tf32"), fresh("g1", tf.Float), ac)
		own32, bias32 := own(s.SubScope("own32"), fresh("g2", tf.Float), ac)
		tf16 := op.Cast(s.SubScope("tf16"), op.ReluGrad(s.SubScope("tfb"), fresh("g3", tf.Bfloat16), ab), tf.Float)
		ownb, bias16 := own(s.SubScope("ownb"), fresh("g4", tf.Bfloat16), ab)
		tfc := op.ReluGrad(s.SubScope("tfc"), gc, ac)
		ownc, biasc := own(s.SubScope("ownc"), gc, ac)
		v := runFloats(t, s, []tf.Output{
			tf32, own32, tf16, op.Cast(s.SubScope("own16"), ownb, tf.Float), tfc, ownc,
			tfBias(s.SubScope("ref32"), tf32), bias32, tfBias(s.SubScope("ref16"), tf16), bias16, biasc,
		})
		for _, p := range []struct {
			what           string
			tf, mine       []float32
			refBias, mBias []float32
		}{{"float32", v[0], v[1], v[6], v[7]}, {"bfloat16", v[2], v[3], v[8], v[9]}, {"float32 constants", v[4], v[5], v[6], v[10]}} {
			if len(p.mine) != n || len(p.mBias) != last {
				t.Fatalf("%s, shape %v: %d backprops and %d bias values, want %d and %d", p.what, c.shape, len(p.mine), len(p.mBias), n, last)
			}
			abs := make([]float64, last)
			for i := range n {
				x, y := p.tf[i], p.mine[i]
				same := math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
				if !same {
					t.Fatalf("%s, shape %v, element %d (gradient %v, feature %v): ReluGrad %v (%#x), nnclr's %v (%#x)",
						p.what, c.shape, i, g[i], a[i], x, math.Float32bits(x), y, math.Float32bits(y))
				}
				abs[i%last] += math.Abs(float64(x))
			}
			for k := range last {
				ref, mine := float64(p.refBias[k]), float64(p.mBias[k])
				ok := math.Abs(ref-mine) <= 1e-6*abs[k]
				if math.IsNaN(abs[k]) || math.IsInf(abs[k], 0) {
					ok = math.IsNaN(ref) && math.IsNaN(mine) || ref == mine
				}
				if !ok {
					t.Fatalf("%s, shape %v, bias gradient %d: TensorFlow's float64 sum %v, nnclr's %v (sum of absolute values %v)", p.what, c.shape, k, ref, mine, abs[k])
				}
			}
		}
		// The same float32 inputs, once in the gradients' own buffer and once from constants,
		// give the same bits: the sums' order depends on the shape only.
		for k := range last {
			if x, y := v[7][k], v[10][k]; math.Float32bits(x) != math.Float32bits(y) && !(x != x && y != y) {
				t.Fatalf("shape %v, bias gradient %d: %v in place, %v from constants", c.shape, k, x, y)
			}
		}
	}
}

// TestOwnReluGradRefusesBadShapes: gradients whose shape differs from the features' (with the
// same number of elements) and scalar features are errors that name the op, not garbage.
func TestOwnReluGradRefusesBadShapes(t *testing.T) {
	name, err := tfrun.ReluGradBiasOp()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		g, a any
		want string
	}{
		{[][]float32{{1, 2, 3}, {4, 5, 6}}, [][]float32{{1, 2}, {3, 4}, {5, 6}}, "differ in shape"},
		{float32(1), float32(2), "rank"},
	} {
		s := op.NewScope()
		// The shapes reach the kernel unknown to the graph (placeholders), as a graph built
		// elsewhere could send them.
		gp := op.Placeholder(s.SubScope("g"), tf.Float)
		ap := op.Placeholder(s.SubScope("a"), tf.Float)
		o := s.AddOperation(tf.OpSpec{Type: name, Input: []tf.Input{gp, ap}})
		graph, err := s.Finalize()
		if err != nil {
			t.Fatal(err)
		}
		sess, err := tfrun.NewSession(graph, tfrun.SessionConfig{})
		if err != nil {
			t.Fatal(err)
		}
		gt, err := tf.NewTensor(c.g)
		if err != nil {
			t.Fatal(err)
		}
		at, err := tf.NewTensor(c.a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = sess.Run(map[tf.Output]*tf.Tensor{gp: gt, ap: at}, []tf.Output{o.Output(0), o.Output(1)}, nil)
		sess.Close()
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("gradients %v, features %v: %v; want an error naming %s and saying %q", c.g, c.a, err, name, c.want)
		}
	}
}
