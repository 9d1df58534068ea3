package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// backbone is an encoder the model trains: its variables, its forward pass (keeping what its
// backward pass needs) and its backward pass. Adding a backbone is adding a file with a type
// that implements it and a case in backboneOf.
type backbone interface {
	// vars are the encoder's variables in layer order (checkpoint and Init order).
	vars() []VarSpec
	// featureWidth is the width of the features the encoder returns.
	featureWidth() int
	// minInput reports an input too small for the encoder as a *setting.Error, or nil.
	validate() error
	// forward applies the encoder to x with weights w (vars order).
	forward(s *op.Scope, x tf.Output, w []tf.Output) activations
	// backward returns dL/dw in vars order given dL/d(features), for a forward pass a.
	backward(s *op.Scope, a activations, gf tf.Output, w []tf.Output) []tf.Output
	// flops is the floating-point operations (2 per multiply-add) of one image's forward pass.
	flops() float64
}

// activations is one application of a backbone: its features and whatever its backward pass
// reads.
type activations interface {
	features() tf.Output
}

// backboneOf returns the encoder of c.
func backboneOf(c ModelConfig) backbone { return conv4{c} }
