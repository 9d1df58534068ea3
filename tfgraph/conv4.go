package tfgraph

import (
	"fmt"

	"github.com/nnclr/nnclr/setting"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// conv4 is the Keras example's encoder: four 3×3 stride-2 valid convolutions of ModelWidth
// filters with ReLU, flattened, then Dense(ModelWidth) with ReLU.
type conv4 struct{ c ModelConfig }

// convOut is the output size of a 3×3, stride-2, valid-padding convolution on n pixels (0 when
// n < 3: the kernel does not fit).
func convOut(n int) int {
	if n < 3 {
		return 0
	}
	return (n-3)/2 + 1
}

// featureMap returns the spatial size of the last convolution's output (5×5 at 96×96).
func (e conv4) featureMap() (h, w int) {
	h, w = e.c.Height, e.c.Width
	for i := 0; i < 4; i++ {
		h, w = convOut(h), convOut(w)
	}
	return h, w
}

func (e conv4) featureWidth() int { return e.c.ModelWidth }

func (e conv4) statVars() []VarSpec { return nil }

func (e conv4) validate() error {
	if h, w := e.featureMap(); e.c.Height < 3 || e.c.Width < 3 || h < 1 || w < 1 {
		name, v := "height", e.c.Height
		if e.c.Height >= 31 {
			name, v = "width", e.c.Width
		}
		return setting.Errorf(name, v, "input %d×%d too small for four 3×3 stride-2 valid convolutions (want at least 31×31)", e.c.Height, e.c.Width)
	}
	return nil
}

func (e conv4) vars() []VarSpec {
	w := int64(e.c.ModelWidth)
	in := int64(e.c.Channels)
	var out []VarSpec
	for i := 0; i < 4; i++ {
		out = append(out,
			VarSpec{fmt.Sprintf("enc/conv%d/kernel", i), []int64{3, 3, in, w}},
			VarSpec{fmt.Sprintf("enc/conv%d/bias", i), []int64{w}})
		in = w
	}
	fh, fw := e.featureMap()
	return append(out,
		VarSpec{"enc/dense/kernel", []int64{int64(fh*fw) * w, w}},
		VarSpec{"enc/dense/bias", []int64{w}})
}

func (e conv4) flops() float64 {
	h, w, in := e.c.Height, e.c.Width, e.c.Channels
	wd := float64(e.c.ModelWidth)
	total := 0.0
	for i := 0; i < 4; i++ {
		h, w = convOut(h), convOut(w)
		total += 2 * float64(h*w) * 9 * float64(in) * wd
		in = e.c.ModelWidth
	}
	return total + 2*float64(h*w)*wd*wd
}

// conv4Acts holds one application of the encoder with what its backward pass needs.
type conv4Acts struct {
	in   [4]tf.Output // inputs of the four convolutions
	act  [4]tf.Output // their ReLU outputs
	flat tf.Output    // flattened feature map
	f    tf.Output    // features (after the dense layer's ReLU)
}

func (a conv4Acts) features() tf.Output  { return a.f }
func (a conv4Acts) moments() []tf.Output { return nil }

func (e conv4) forward(s *op.Scope, x tf.Output, w, _ []tf.Output, _ *syncBN) activations {
	var a conv4Acts
	h := x
	for i := 0; i < 4; i++ {
		ls := s.SubScope(fmt.Sprintf("conv%d", i))
		a.in[i] = h
		h = relu(ls, conv2D(ls, h, w[2*i], w[2*i+1], 2, "VALID"))
		a.act[i] = h
	}
	fh, fw := e.featureMap()
	ds := s.SubScope("dense")
	a.flat = op.Reshape(ds.SubScope("Reshape"), h, i32(ds.SubScope("shape"), -1, int32(fh*fw*e.c.ModelWidth)))
	a.f = relu(ds, dense(ds, a.flat, w[8], w[9]))
	return a
}

// backward is what the gradient registry builds, except that ReluGrad reads each ReLU's output
// (as TensorFlow's Python gradient does) instead of its input: the mask is the same, and the
// pre-activation then has no other consumer, so Grappler fuses Conv2D+BiasAdd+Relu. In a CPU
// session each ReLU's gradient and its bias's are nnclr's own kernel (reluGradBias).
func (e conv4) backward(s *op.Scope, acts activations, gf tf.Output, w []tf.Output) []tf.Output {
	a := acts.(conv4Acts)
	grads := make([]tf.Output, 10)
	ds := s.SubScope("dense")
	gz, gb := reluGradBias(ds, e.c, gf, a.f)
	grads[8] = op.MatMul(ds.SubScope("MatMul"), a.flat, gz, op.MatMulTransposeA(true))
	grads[9] = gb
	gflat := op.MatMul(ds.SubScope("MatMul"), gz, w[8], op.MatMulTransposeB(true))
	gh := op.Reshape(ds.SubScope("Reshape"), gflat, op.Shape(ds.SubScope("Shape"), a.act[3]))
	strides := []int64{1, 2, 2, 1}
	for i := 3; i >= 0; i-- {
		ls := s.SubScope(fmt.Sprintf("conv%d", i))
		g, gb := reluGradBias(ls, e.c, gh, a.act[i])
		grads[2*i+1] = gb
		grads[2*i] = op.Conv2DBackpropFilter(ls.SubScope("Conv2DBackpropFilter"), a.in[i], op.Shape(ls.SubScope("Shape"), w[2*i]), g, strides, "VALID")
		if i > 0 {
			gh = op.Conv2DBackpropInput(ls.SubScope("Conv2DBackpropInput"), op.Shape(ls.SubScope("Shape"), a.in[i]), w[2*i], g, strides, "VALID")
		}
	}
	return grads
}
