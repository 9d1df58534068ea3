package tfgraph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TestFusedBackwardMatchesRegistry: one process's batch-norm backward (fusedBackward, the
// FusedBatchNormGradV3 kernel fed with batchNorm's own moments) gives what TensorFlow's gradient
// registry gives through batchNorm's ops (tf.nn.moments and tf.nn.batch_normalization, as Keras
// differentiates them): the gradients at the input, gamma and beta of Σ output·dy, within 1e-5
// relative, for NHWC inputs down to 3 values per channel (where a variance with Bessel's
// correction, or any other count, would be off by a third) and for a dense layer's [batch,
// features].
func TestFusedBackwardMatchesRegistry(t *testing.T) {
	const tolerance = 1e-5
	r := rand.New(rand.NewPCG(7, 7))
	for _, shape := range [][]int64{{3, 1, 1, 4}, {4, 2, 2, 5}, {8, 5, 5, 16}, {6, 5}, {64, 32}} {
		t.Run(fmt.Sprint(shape), func(t *testing.T) {
			got, want := bnBackwardBoth(t, r, shape)
			for i, name := range []string{"input", "gamma", "beta"} {
				if e := relErr(got[i], want[i]); e > tolerance || e != e {
					t.Errorf("gradient at %s: fused kernel differs from the registry by %.3g relative (tolerance %g)", name, e, tolerance)
				} else {
					t.Logf("gradient at %s: %.3g relative", name, e)
				}
			}
		})
	}
}

// bnBackwardBoth returns the gradients (input, gamma, beta) of Σ batchNorm(h)·dy for random h,
// gamma, beta and dy of h's shape, by fusedBackward and by the registry.
func bnBackwardBoth(t *testing.T, r *rand.Rand, shape []int64) (fused, registry [3][]float32) {
	s := op.NewScope()
	c := shape[len(shape)-1]
	randConst := func(name string, scale, offset float32, dims ...int64) tf.Output {
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = offset + scale*(r.Float32()-0.5)
		}
		flat := op.Const(s.SubScope(name), v)
		return op.Reshape(s.SubScope(name+"_shape"), flat, op.Const(s.SubScope(name+"_dims"), dims))
	}
	h := randConst("h", 4, 0.3, shape...)
	dy := randConst("dy", 2, 0.1, shape...)
	gamma, beta := randConst("gamma", 1, 1, c), randConst("beta", 1, 0, c)
	axes := []int32{0, 1, 2}
	if len(shape) == 2 {
		axes = []int32{0}
	}
	out, moments := batchNorm(s.SubScope("bn"), h, gamma, beta, nil, resnetBNEpsilon, axes...)
	prod := op.Mul(s.SubScope("Mul"), out, dy)
	loss := op.Sum(s.SubScope("loss"), prod, allAxes(s, prod))
	reg := op.Gradients(s.SubScope("grad"), []tf.Output{loss}, []tf.Output{h, gamma, beta})
	b := syncedBN{cut: h, gamma: gamma, beta: beta, mean: moments[0], variance: moments[1], eps: resnetBNEpsilon, dense: len(shape) == 2}
	dh, dg, db := fusedBackward(s.SubScope("fused"), b, dy)
	v := runFloats(t, s, []tf.Output{dh, dg, db, reg[0], reg[1], reg[2]})
	copy(fused[:], v[:3])
	copy(registry[:], v[3:])
	return fused, registry
}
