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
