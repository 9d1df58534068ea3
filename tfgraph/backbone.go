package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// backbone is an encoder the model trains: its variables, its forward pass (keeping what a
// hand-built backward pass needs). Adding a backbone is adding a file with a type that
// implements it and a case in backboneOf. A backbone that also implements handBackward
// supplies its own backward pass; the others are differentiated by the gradient registry.
type backbone interface {
	// vars are the encoder's trained variables in layer order (checkpoint and Init order).
	vars() []VarSpec
	// statVars are its batch norms' moving statistics (mean, variance per BN, in layer order):
	// not trained, updated by the train step, saved in checkpoints.
	statVars() []VarSpec
	// featureWidth is the width of the features the encoder returns.
	featureWidth() int
	// validate reports an input too small for the encoder as a *setting.Error, or nil.
	validate() error
	// forward applies the encoder to x with weights w (vars order): with stats nil in training
	// mode (each BN over the batch, synchronised by sync in data-parallel training, its moments
	// in the activations), else with the moving statistics stats (statVars order).
	forward(s *op.Scope, x tf.Output, w, stats []tf.Output, sync *syncBN) activations
	// flops is the floating-point operations (2 per multiply-add) of one image's forward pass.
	flops() float64
}

// handBackward is a backbone with its own backward pass.
type handBackward interface {
	// backward returns dL/dw in vars order given dL/d(features), for a forward pass a.
	backward(s *op.Scope, a activations, gf tf.Output, w []tf.Output) []tf.Output
}

// activations is one application of a backbone: its features, the batch moments of its BNs in
// training mode (statVars order), and whatever a hand-built backward pass reads.
type activations interface {
	features() tf.Output
	moments() []tf.Output
}

// The backbones (ModelConfig.Backbone) and stems (ModelConfig.Stem).
const (
	BackboneConv4    = "conv4"
	BackboneResNet18 = "resnet18"
	BackboneResNet50 = "resnet50"
	StemImageNet     = "imagenet"
	StemCIFAR        = "cifar"
)

// Backbones and Stems are the valid values, in the order help texts list them.
var (
	Backbones = []string{BackboneConv4, BackboneResNet18, BackboneResNet50}
	Stems     = []string{StemImageNet, StemCIFAR}
)

// backboneOf returns the encoder of c (c.Backbone is valid: Validate).
func backboneOf(c ModelConfig) backbone {
	switch c.backbone() {
	case BackboneResNet18:
		return resnet{c, 18}
	case BackboneResNet50:
		return resnet{c, 50}
	}
	return conv4{c}
}

// encode applies c's encoder to x (float32 in [0, 1], cast to the model's float type) after c's
// input normalisation (sync: backbone.forward's).
func encode(s *op.Scope, c ModelConfig, x tf.Output, w, stats []tf.Output, sync *syncBN) activations {
	x = castTo(s.SubScope("input_cast"), x, c.floatType())
	return backboneOf(c).forward(s, normalizeInput(s.SubScope("input_norm"), c, x, 1), w, stats, sync)
}

// The input normalisations (ModelConfig.InputNorm).
const (
	NormUnit     = "unit"     // ÷255: [0, 1] (the Keras example's)
	NormImageNet = "imagenet" // [0, 1], then per channel (x − mean) / std of ImageNet (torchvision's)
	NormCaffe    = "caffe"    // keras.applications.resnet.preprocess_input: RGB→BGR, 0-255 minus the BGR mean
)

// InputNorms are the valid input normalisations.
var InputNorms = []string{NormUnit, NormImageNet, NormCaffe}

// normalizeInput is c's input normalisation of x whose values are pixel/scale (scale 1: in
// [0, 1]; 255: the raw 0-255 values). unit on [0, 1] adds no op.
func normalizeInput(s *op.Scope, c ModelConfig, x tf.Output, scale float64) tf.Output {
	switch c.inputNorm() {
	case NormImageNet:
		if scale != 1 {
			x = op.Mul(s.SubScope("rescale"), x, constLike(s.SubScope("scale"), x, 1/scale))
		}
		mean := constsLike(s.SubScope("mean"), x, 0.485, 0.456, 0.406)
		std := constsLike(s.SubScope("std"), x, 0.229, 0.224, 0.225)
		return op.RealDiv(s.SubScope("RealDiv"), op.Sub(s.SubScope("Sub"), x, mean), std)
	case NormCaffe:
		if scale != 255 {
			x = op.Mul(s.SubScope("rescale"), x, constLike(s.SubScope("scale"), x, 255/scale))
		}
		bgr := op.ReverseV2(s.SubScope("ReverseV2"), x, op.Const(s.SubScope("axis"), []int32{-1}))
		return op.Sub(s.SubScope("Sub"), bgr, constsLike(s.SubScope("mean"), x, 103.939, 116.779, 123.68))
	}
	if scale != 1 {
		return op.Mul(s.SubScope("rescale"), x, constLike(s.SubScope("scale"), x, 1/scale))
	}
	return x
}
