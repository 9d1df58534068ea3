package tfgraph

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

// resnetConfig is a ResNet model small enough for a test: 32×32 RGB inputs, 5 classes, a queue
// of 32 rows, heads of 64 → 16.
func resnetConfig(backbone, stem string) ModelConfig {
	c := DefaultModelConfig()
	c.Height, c.Width, c.Channels = 32, 32, 3
	c.Backbone, c.Stem = backbone, stem
	c.QueueSize, c.NumClasses, c.ProjHidden, c.ProjDim = 32, 5, 64, 16
	c.Epsilon = resnetCheckEpsilon
	return c
}

// perturbEncoderBN gives the encoder's BNs random gamma, beta and moving statistics.
func perturbEncoderBN(t *testing.T, m *Model) {
	t.Helper()
	r := rand.New(rand.NewPCG(11, 12))
	vals := map[string]tfrun.Array{}
	for _, sp := range append(m.cfg.EncoderVars(), m.cfg.EncoderStatVars()...) {
		lo, hi := 0.0, 0.0
		switch {
		case strings.HasSuffix(sp.Name, "/gamma"), strings.HasSuffix(sp.Name, "/moving_variance"):
			lo, hi = 0.5, 1.5
		case strings.HasSuffix(sp.Name, "/beta"), strings.HasSuffix(sp.Name, "/moving_mean"):
			lo, hi = -0.2, 0.2
		default:
			continue
		}
		a := tfrun.Array{Shape: sp.Shape, Float: make([]float32, sp.size())}
		for i := range a.Float {
			a.Float[i] = float32(lo + (hi-lo)*r.Float64())
		}
		vals[sp.Name] = a
	}
	if err := m.SetWeights(vals); err != nil {
		t.Fatal(err)
	}
}

// resnetCheckEpsilon is Adam's ε in the ResNet cross-checks. At Keras's 1e-7, Adam's first
// steps are ±lr for any gradient element well above ε, and lr·g/(|g|+ε) for those near it: a
// ResNet has many elements of 1e-8..1e-6 (features near a ReLU's kink, channels a BN makes
// nearly invariant) whose rounding differences between two correct implementations then become
// weight differences of up to ~1e-3 relative after one step (measured: 1.1e-3 in
// conv5_block1_2_conv/kernel of ResNet-18, 2.9e-4 in head/dense0/kernel). At 1e-3 such
// elements move by lr·g/ε, as small as their noise, and everything is held to stepTolerance.
const resnetCheckEpsilon = 1e-3

// resnetFwdTolerance bounds the forward pass of a ResNet against Keras (relative): both run
// the same ops, but the order of the convolutions' and reductions' sums may differ.
const resnetFwdTolerance = 1e-5

// resnetKerasCheck is the ResNet cross-checks' setting: 3 + 2 images per step, random BN
// parameters and statistics, distinct images.
func resnetKerasCheck(forwardOnly bool) kerasCheck {
	return kerasCheck{bu: 3, bl: 2, fwdTol: resnetFwdTolerance, perturbBN: true, distinct: true, forwardOnly: forwardOnly}
}

// TestResNetForwardMatchesKeras checks the forward pass (features, projections, logits; every
// BN on random moving statistics) of ResNet-18 with both stems and with the caffe and imagenet
// input normalisations, and of ResNet-50 (the real keras.applications.ResNet50, include_top=False,
// pooling="avg"), against the Keras reference on the same weights, within resnetFwdTolerance.
// make test runs one check of each backbone (about 35 s); the other variants, about 10 s each,
// run with NNCLR_LONG_CHECKS=1 (make test-long).
func TestResNetForwardMatchesKeras(t *testing.T) {
	for _, c := range []struct {
		backbone, stem, norm string
		long                 bool
	}{
		{BackboneResNet18, StemCIFAR, NormUnit, false},
		{BackboneResNet18, StemImageNet, NormUnit, true},
		{BackboneResNet18, StemImageNet, NormCaffe, true},
		{BackboneResNet18, StemCIFAR, NormImageNet, true},
		{BackboneResNet50, StemImageNet, NormCaffe, false},
	} {
		t.Run(c.backbone+"/"+c.stem+"/"+c.norm, func(t *testing.T) {
			if c.long && os.Getenv("NNCLR_LONG_CHECKS") != "1" {
				t.Skip("a long cross-check: make test-long (NNCLR_LONG_CHECKS=1) runs it")
			}
			cfg := resnetConfig(c.backbone, c.stem)
			cfg.InputNorm = c.norm
			checkAgainstKerasAt(t, cfg, resnetKerasCheck(true))
		})
	}
}

// TestResNetStepsMatchKeras is the step check: every weight, Adam slot, BN moving
// statistic, the queue and the metrics after one and three steps within stepTolerance (ResNet-50's
// convolution biases within bnFedBiasTolerance), each backbone at 8 + 4 images per step and Adam
// ε 0.1. It does NOT pass yet and runs only with NNCLR_RESNET_STEPS=1. Measured (2026-12-06, Keras
// 3.8 / TF 2.18 on this wheel), comparing Go, Keras float32 and the same Keras reference run in
// float64 (a copy of pyref/nnclr_keras.py with float64 weights and inputs, outside the repo):
//   - ResNet-18, both stems, 32×32 (and 16×16, 8×8 for the CIFAR stem, 64×64 for the ImageNet
//     stem), 3 + 2 and 8 + 4 images: after one step Go matches Keras within 2.4e-5 everywhere.
//   - After three steps they part (0.6% to 47% in some Adam slots) because a ReLU whose input is
//     within float32 rounding of zero (about 1e-6 here; a 32×32 batch of 12 has 1.1M ReLU inputs)
//     takes the other side in one implementation: one such flip changed a BN beta's gradient by
//     0.87% (measured at conv2_block2_out, 7.7e-7 in float64 vs −1.2e-7 in float32). Keras float32
//     itself departs from float64 in the same way and by as much (e.g. 11.6% in an Adam slot after
//     three steps, where Go stayed within 2.6e-5 of float64). Adam ε 1e-3 adds flips caused by
//     the weight differences after step 1 (lr·δg/ε, 2 flips at step 2); ε 0.1 removes those.
//     Only resnet18/imagenet at 32×32, 8 + 4, ε 0.1 passed (2.85e-5 after three steps), by luck.
//   - The nearest-neighbour indices were the same in Go, Keras and float64 at every step (smallest
//     top-1/top-2 gap 1.3e-3): the step-3 jump of c_loss is not a near-tie.
//   - ResNet-50 (the real keras.applications model) already parts at step 1 (up to 36% in
//     conv5_block2_3_conv's Adam m at 32×32, 10% at 64×64), Go and Keras float32 each as far from
//     float64 as from each other: its 1×1 (2×2) last stage normalises over 12 (48) values per channel.
//
// No difference of formula was found: the forward pass of ResNet-50 equals Keras's exactly, and
// Keras 3.8's BatchNormalization (tf.nn.moments with the variance of x − stop_gradient(mean), then
// tf.nn.batch_normalization; moving statistics m·0.99 + batch·0.01 after each call) is what
// batchNorm and movingUpdates build.
func TestResNetStepsMatchKeras(t *testing.T) {
	if os.Getenv("NNCLR_RESNET_STEPS") != "1" {
		t.Skip("known failing (see the doc comment); NNCLR_RESNET_STEPS=1 runs it")
	}
	for _, c := range []struct {
		backbone, stem string
		size           int
	}{
		{BackboneResNet18, StemCIFAR, 32}, {BackboneResNet18, StemImageNet, 32}, {BackboneResNet50, StemImageNet, 64},
	} {
		t.Run(c.backbone+"/"+c.stem, func(t *testing.T) {
			cfg := resnetConfig(c.backbone, c.stem)
			cfg.Height, cfg.Width, cfg.Epsilon = c.size, c.size, 0.1
			kc := resnetKerasCheck(false)
			kc.bu, kc.bl = 8, 4
			checkAgainstKerasAt(t, cfg, kc)
		})
	}
}
