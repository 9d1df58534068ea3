package tfgraph

import (
	"math"
	"math/rand/v2"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"

	"github.com/nnclr/nnclr/tfrun"
)

// TestEncoderBackwardMatchesRegistry: the encoder's hand-built backward pass (conv4.backward) gives
// the gradients that TensorFlow's C++ gradient registry (Graph.AddGradients) computes for the same
// encoder and loss, for every kernel and bias, on weights whose biases switch part of the ReLUs off.
func TestEncoderBackwardMatchesRegistry(t *testing.T) {
	cfg := smallConfig()
	s := op.NewScope()
	enc := conv4{cfg}
	const n = 4
	x := op.Placeholder(s.SubScope("x"), tf.Float, op.PlaceholderShape(tf.MakeShape(n, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels))))
	r := op.Placeholder(s.SubScope("r"), tf.Float, op.PlaceholderShape(tf.MakeShape(n, int64(cfg.ModelWidth))))
	specs := cfg.EncoderVars()
	w := make([]tf.Output, len(specs))
	for i, sp := range specs {
		w[i] = op.Placeholder(s.SubScope("w"), tf.Float, op.PlaceholderShape(tf.MakeShape(sp.Shape...)))
	}
	e := enc.forward(s.SubScope("enc"), x, w, nil, nil)
	// loss = Σ f·r, so dL/df = r.
	loss := op.Sum(s, op.Mul(s, e.features(), r), op.Const(s.SubScope("axes"), []int32{0, 1}))
	registry := op.Gradients(s.SubScope("grad"), []tf.Output{loss}, w)
	manual := enc.backward(s.SubScope("bwd"), e, r, w)
	g, err := s.Finalize()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := tfrun.NewSession(g, tfrun.DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()

	rng := rand.New(rand.NewPCG(5, 6))
	feeds := map[tf.Output]*tf.Tensor{
		x: randTensor(t, rng, n, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)),
	}
	normal := func(shape []int64, scale float64) *tf.Tensor {
		tt, err := tfrun.NewFloatTensor(shape, func(d []float32) error {
			for i := range d {
				d[i] = float32(rng.NormFloat64() * scale)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	feeds[r] = normal([]int64{n, int64(cfg.ModelWidth)}, 1)
	for i, sp := range specs {
		scale := 0.2
		if !isKernel(sp.Name) {
			scale = 0.05 // biases of both signs: some units are off
		}
		feeds[w[i]] = normal(sp.Shape, scale)
	}
	out, err := sess.Run(feeds, append(append([]tf.Output{e.features()}, registry...), manual...), nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := tfrun.Float32s(out[0])
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, v := range f {
		if v == 0 {
			off++
		}
	}
	if off == 0 || off == len(f) {
		t.Fatalf("%d of %d features are 0: the test needs ReLUs both on and off", off, len(f))
	}
	for i, sp := range specs {
		want, err := tfrun.Float32s(out[1+i])
		if err != nil {
			t.Fatal(err)
		}
		got, err := tfrun.Float32s(out[1+len(specs)+i])
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, registry %d", sp.Name, len(got), len(want))
		}
		var maxAbs, maxDiff float64
		for j := range want {
			maxAbs = math.Max(maxAbs, math.Abs(float64(want[j])))
			maxDiff = math.Max(maxDiff, math.Abs(float64(got[j]-want[j])))
		}
		if maxAbs == 0 {
			t.Errorf("%s: registry gradient is all zero", sp.Name)
			continue
		}
		if maxDiff > 1e-5*maxAbs {
			t.Errorf("%s: max |manual - registry| = %.3g (max |registry| %.3g)", sp.Name, maxDiff, maxAbs)
		}
	}
}
