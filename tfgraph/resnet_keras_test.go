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
	return c
}

// perturbEncoderBN gives the encoder's BNs random gamma, beta and moving statistics.
func perturbEncoderBN(t *testing.T, m *Model) {
	t.Helper()
	setUniform(t, m, rand.New(rand.NewPCG(11, 12)), append(m.cfg.EncoderVars(), m.cfg.EncoderStatVars()...), func(name string) (float64, float64, bool) {
		switch {
		case strings.HasSuffix(name, "/gamma"), strings.HasSuffix(name, "/moving_variance"):
			return 0.5, 1.5, true
		case strings.HasSuffix(name, "/beta"), strings.HasSuffix(name, "/moving_mean"):
			return -0.2, 0.2, true
		}
		return 0, 0, false
	})
}

// setUniform sets m's variables of specs for which span says ok to values drawn from U(lo, hi)
// with r, one variable after the other in specs' order.
func setUniform(t *testing.T, m *Model, r *rand.Rand, specs []VarSpec, span func(name string) (lo, hi float64, ok bool)) {
	t.Helper()
	vals := map[string]tfrun.Array{}
	for _, sp := range specs {
		lo, hi, ok := span(sp.Name)
		if !ok {
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

// resnetStepConfig is resnetConfig at size×size pixels trained by SGD with momentum 0.9 at
// learning rate 1e-2 (the probe keeps Adam at 1e-3).
func resnetStepConfig(backbone, stem string, size int) ModelConfig {
	c := resnetConfig(backbone, stem)
	c.Height, c.Width = size, size
	c.Optimizer, c.LearningRate, c.Momentum, c.ProbeLearningRate = OptimizerSGD, 1e-2, 0.9, 1e-3
	return c
}

// TestResNetStepsMatchKeras checks one training step of ResNet-18 (CIFAR and ImageNet stems,
// 32×32, 8 + 4 images, random BN parameters and statistics) against the Keras reference: the
// five metrics, every weight, every SGD momentum slot, every BN moving statistic and the queue
// within stepTolerance relative. The contrastive step runs SGD (momentum 0.9, lr 1e-2) because
// its momentum slot after one step is −lr·g: the gradient itself is compared, where Adam's first
// step (±lr for any element well above ε) would hide it. make test runs it (about 20 s); it checks what users run, in float32.
// Measured: the momentum slots within 6.4e-6, the weights within 5.3e-6 (head/dense1/bias), the
// moving statistics within 1.5e-7, the queue within 2.3e-6; the step moved each weight tensor by
// a median 2e-3 (CIFAR stem) and 1.5e-2 (ImageNet stem) of its largest element, 8e-5 at least.
//
// The full step check (three steps, ResNet-50, Adam at ε 1e-7) passes in float64 on both
// sides (TestResNetStepsMatchKerasFloat64). In float32 it is one step, not three, and ResNet-50 is
// not checked, because the float32 step does not agree beyond what float32 determines
// (TestResNetStepsDiagnostic, NNCLR_RESNET_STEPS=1, measured 2026-12-06): a ReLU input within float32 rounding of zero takes the other side in one
// implementation (10 of 13.4M ReLU inputs in the ResNet-18 CIFAR step 2 between Keras float32
// and the same reference in float64, 78 of 18M in ResNet-50's step 1), and each flip moves the
// sums that make a weight's gradient by percents where a channel has few positions or the sum
// cancels (same weights, float32 vs float64: 3% in conv3_block1_1_bn/beta's gradient; 21% in
// ResNet-50's conv5_block3_1_conv/kernel). SGD turns a gradient difference δg into a weight
// difference lr·δg:
//   - ResNet-18 after three steps with plain SGD (momentum 0): at lr 1e-2 the weights after
//     step 2 differ by up to 4.6% (CIFAR stem, head/dense0/bias) and 1.8% (ImageNet stem)
//     between Keras float32 and float64, and step 3's nearest neighbours then differ (smallest
//     top-1/top-2 gaps 4.8e-5 and 8.8e-4): 7.4e-2 (CIFAR stem) and 0.22 (ImageNet stem) after
//     three steps; at lr 1e-3, 3.4e-4 and 3.9e-3 (conv kernels, the same neighbours); at lr 1e-4
//     both pass (worst 2.7e-5), but 37 (CIFAR) and 20 (ImageNet) of the 66 trained tensors then
//     move by less than stepTolerance, so the check says little.
//   - With momentum 0.9 at lr 1e-2 the momentum slots after three steps differ by up to 14.5%
//     (CIFAR stem) and 34% (ImageNet stem).
//   - ResNet-50 (keras.applications, 64×64) already parts after one step: from the same weights
//     Go's and Keras's gradients differ by 8% to 36% (conv4/conv5 tensors) whatever the size (32
//     to 128 px), batch (3 + 2, 8 + 4) or rate (1e-4 to 1e-2), and each is as far (21%) from the
//     float64 run.
//   - Adam (ε 0.1, the previous treatment) fails likewise: 4.2e-2 (ResNet-18 CIFAR stem, step 3)
//     and 1.0e-1 (ResNet-50, step 1); only the ImageNet stem passes, at 2.85e-5.
//
// The nearest-neighbour indices agree where no weight has parted (top-1/top-2 gaps of 3.4e-4
// and more at steps 1 and 2), and the forward passes agree (TestResNetForwardMatchesKeras).
func TestResNetStepsMatchKeras(t *testing.T) {
	for _, stem := range []string{StemCIFAR, StemImageNet} {
		t.Run(BackboneResNet18+"/"+stem, func(t *testing.T) {
			kc := resnetKerasCheck(false)
			kc.bu, kc.bl, kc.steps = 8, 4, 1
			checkAgainstKerasAt(t, resnetStepConfig(BackboneResNet18, stem, 32), kc)
		})
	}
}

// TestResNetStepsDiagnostic is the full step check in float32, which does NOT pass (see
// TestResNetStepsMatchKeras for the measured cause; TestResNetStepsMatchKerasFloat64 passes it
// in float64): one and three steps of each backbone
// (ResNet-18 both stems at 32×32, ResNet-50 at 64×64; 8 + 4 images) with plain SGD (lr 1e-2),
// SGD with momentum 0.9, and Adam at ε 0.1 (at Keras's 1e-7, Adam's first step is ±lr for any
// gradient element well above ε and lr·g/(|g|+ε) near it, so that the rounding of elements of
// 1e-8..1e-6 already parts the weights by 1.1e-3 after one step); every weight, slot, BN
// statistic, the queue and the metrics within stepTolerance (ResNet-50's convolution biases
// within bnFedBiasBound). Its "vs float64" cases (SGD with momentum 0.9, and Adam at ε 1e-7)
// compare Go in float32 with the reference in float64 and log how far the reference in float32
// is from it after three steps: how far each float32 implementation is from a float64 run. It
// runs only with NNCLR_RESNET_STEPS=1 (about 9 minutes) and prints the failures its cases measure.
// Measured (2026-12-06), worst tensor after three steps, nnclr float32 / Keras float32 against
// Keras float64: ResNet-18 CIFAR stem SGD 0.69 / 0.68, Adam 0.61 / 0.63; ImageNet stem SGD
// 1.03 / 0.92, Adam 1.58 / 1.02; ResNet-50 SGD 1.84 / 1.61, Adam 1.41 / 1.41 (nnclr after one
// step: 2.8e-2, 7.4e-2, 2.3e-5, 2.3e-2, 0.21, 0.21). Both float32 runs part from float64 alike.
func TestResNetStepsDiagnostic(t *testing.T) {
	if os.Getenv("NNCLR_RESNET_STEPS") != "1" {
		t.Skip("known failing (see TestResNetStepsMatchKeras); NNCLR_RESNET_STEPS=1 runs it")
	}
	for _, c := range []struct {
		backbone, stem string
		size           int
	}{
		{BackboneResNet18, StemCIFAR, 32}, {BackboneResNet18, StemImageNet, 32}, {BackboneResNet50, StemImageNet, 64},
	} {
		for _, o := range []struct {
			name          string
			optimizer     string
			momentum, eps float64
		}{{"sgd", OptimizerSGD, 0, 1e-7}, {"sgd momentum", OptimizerSGD, 0.9, 1e-7}, {"adam", OptimizerAdam, 0, 0.1}} {
			t.Run(c.backbone+"/"+c.stem+"/"+o.name, func(t *testing.T) {
				cfg := resnetStepConfig(c.backbone, c.stem, c.size)
				cfg.Optimizer, cfg.Momentum, cfg.Epsilon = o.optimizer, o.momentum, o.eps
				if o.optimizer == OptimizerAdam {
					cfg.LearningRate, cfg.ProbeLearningRate = 1e-3, 0
				}
				kc := resnetKerasCheck(false)
				kc.bu, kc.bl = 8, 4
				checkAgainstKerasAt(t, cfg, kc)
			})
		}
		for _, adam := range []bool{false, true} {
			name := c.backbone + "/" + c.stem + "/" + map[bool]string{false: "sgd momentum", true: "adam"}[adam] + "/vs float64"
			t.Run(name, func(t *testing.T) {
				cfg := resnetStepConfig(c.backbone, c.stem, c.size)
				if adam {
					cfg.Optimizer, cfg.Momentum, cfg.LearningRate, cfg.ProbeLearningRate = OptimizerAdam, 0, 1e-3, 0
				}
				kc := resnetKerasCheck(false)
				kc.bu, kc.bl, kc.refFloat64 = 8, 4, true
				checkAgainstKerasAt(t, cfg, kc)
			})
		}
	}
}

// TestResNetStepsMatchKerasFloat64 is the step check, passed in float64: Go's model
// graph in float64 (ModelConfig.testFloat64, a test-only mode) against the Keras reference in
// float64 (keras.config.set_floatx("float64"); ResNet-50 the real keras.applications.ResNet50
// built so), from the same float32 weights, random BN parameters and statistics, queue and
// inputs (8 + 4 images per step). After one and after three steps, every weight, every optimizer
// slot, every BN moving statistic, the queue and the five metrics agree within stepTolerance
// relative (read back as float32). The cases: ResNet-18 with both stems at 32×32 and ResNet-50
// at 32×32 (its smallest input), each trained by SGD with momentum 0.9 (lr 1e-2) and by Adam at
// Keras's ε 1e-7 (lr 1e-3); the probe keeps Adam.
//
// ResNet-50's convolution biases, each followed by batch norm, get a gradient that is rounding
// noise; they are held to the absolute bnFedBiasBound, as in float32 (in float64 that noise is
// far below Adam's ε, so Adam no longer turns it into ±lr steps: measured 7.0e-10 after three
// Adam steps, 2.9e-14 after three SGD steps).
//
// Measured (2026-12-06), worst over every compared tensor after step 1 / step 3: ResNet-18 CIFAR
// stem SGD 5.0e-10 / 3.6e-10, Adam 1.0e-9 / 1.4e-8; ImageNet stem SGD 9.8e-11 / 1.2e-8, Adam
// 3.5e-9 / 1.1e-8; ResNet-50 SGD 1.9e-8 / 9.2e-8, Adam 1.7e-8 / 1.1e-7 (the float32 read-back's
// rounding). The same comparison in float32 fails beyond one step (TestResNetStepsMatchKeras says
// why): what float64 removes is float32 rounding, and with it the ReLU flips it sets off, not a
// difference between the implementations. Two things had to be exact for this: the reference
// passes its optimizers' β1, β2 and momentum as float64 (Keras casts a Python float through
// float32, which made every Adam step 6.7e-6 smaller and, through the same ReLU flips, parted
// the weights by 3% after two Adam steps; pyref/README.md), and Go's float64 cross-entropy is
// −Σ onehot·log_softmax (xentRows: the registry cannot differentiate the float64 fused op).
//
// make test runs ResNet-18 (CIFAR stem) with SGD and momentum (about 25-40 s); the other cases
// (about 3 minutes) run with NNCLR_LONG_CHECKS=1 (make test-long).
func TestResNetStepsMatchKerasFloat64(t *testing.T) {
	for _, c := range []struct {
		backbone, stem string
		adam, long     bool
	}{
		{BackboneResNet18, StemCIFAR, false, false},
		{BackboneResNet18, StemCIFAR, true, true},
		{BackboneResNet18, StemImageNet, false, true},
		{BackboneResNet18, StemImageNet, true, true},
		{BackboneResNet50, StemImageNet, false, true},
		{BackboneResNet50, StemImageNet, true, true},
	} {
		name := c.backbone + "/" + c.stem + "/" + map[bool]string{false: "sgd momentum", true: "adam"}[c.adam]
		t.Run(name, func(t *testing.T) {
			if c.long && os.Getenv("NNCLR_LONG_CHECKS") != "1" {
				t.Skip("a long cross-check: make test-long (NNCLR_LONG_CHECKS=1) runs it")
			}
			cfg := resnetStepConfig(c.backbone, c.stem, 32)
			if c.adam {
				cfg.Optimizer, cfg.Momentum, cfg.LearningRate, cfg.ProbeLearningRate = OptimizerAdam, 0, 1e-3, 0
			}
			kc := resnetKerasCheck(false)
			kc.bu, kc.bl, kc.steps, kc.float64 = 8, 4, 3, true
			checkAgainstKerasAt(t, cfg, kc)
		})
	}
}
