package tfgraph

import (
	"math"
	"math/rand/v2"
	"strings"

	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
)

// Init sets every variable from seed: Keras's defaults (glorot-uniform kernels, zero biases),
// zero Adam slots and counters, and a queue of L2-normalized standard-normal rows. Each variable
// draws from its own PCG stream keyed by seed and the variable's position (in a model without a
// probe, the position it has in the model with one: the same seed, the same encoder, heads and
// queue).
func (m *Model) Init(seed uint64) error {
	vals := map[string]tfrun.Array{}
	for _, v := range m.g.vars {
		sp := v.spec
		a := tfrun.Array{Shape: sp.Shape}
		if v.dtype == tf.Int64 {
			a.Int = make([]int64, a.Size())
			vals[sp.Name] = a
			continue
		}
		a.Float = make([]float32, a.Size())
		r := rand.New(rand.NewPCG(seed, v.stream+1))
		switch {
		case sp.Name == "queue":
			w := int(sp.Shape[1])
			for row := 0; row < int(sp.Shape[0]); row++ {
				x := a.Float[row*w : (row+1)*w]
				ss := 0.0
				for j := range x {
					g := r.NormFloat64()
					x[j] = float32(g)
					ss += g * g
				}
				inv := 1 / math.Sqrt(math.Max(ss, 1e-12))
				for j := range x {
					x[j] = float32(float64(x[j]) * inv)
				}
			}
		case isKernel(sp.Name):
			glorotUniform(r, sp.Shape, a.Float)
		case strings.HasSuffix(sp.Name, "/gamma") || strings.HasSuffix(sp.Name, "/moving_variance"):
			for j := range a.Float {
				a.Float[j] = 1 // Keras's BatchNormalization: ones
			}
		}
		vals[sp.Name] = a
	}
	return m.SetWeights(vals)
}

func isKernel(name string) bool {
	return len(name) > 7 && name[len(name)-7:] == "/kernel" && name[:5] != "adam_"
}

// glorotUniform fills dst with Keras's default kernel initialisation for shape:
// U(−l, l) with l = √(6 / (fan_in + fan_out)).
func glorotUniform(r *rand.Rand, shape []int64, dst []float32) {
	fanIn, fanOut := fans(shape)
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	for j := range dst {
		dst[j] = float32(-limit + 2*limit*r.Float64())
	}
}

// fans returns Keras's fan-in and fan-out of a kernel: for a conv kernel [kh, kw, in, out] the
// receptive field times in and out; for a dense kernel [in, out] just those.
func fans(shape []int64) (in, out int64) {
	rf := int64(1)
	for _, d := range shape[:len(shape)-2] {
		rf *= d
	}
	return rf * shape[len(shape)-2], rf * shape[len(shape)-1]
}
