package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// ExportVars are the variables a serving graph reads: the encoder's and the probe's (the
// encoder's alone in a model without a probe).
func (c ModelConfig) ExportVars() []VarSpec { return append(c.EncoderVars(), c.ProbeVars()...) }

// Serving builds, in s, the serving computation of a model of cfg on uint8 images [N, H, W, C]:
// scaled by 1/255 (the Keras example's evaluation path), the encoder's embedding, the probe's
// logits and their softmax. A model without a probe (ModelConfig.HasProbe) has the embedding
// alone: logits and probabilities are then zero Outputs (no Op). read returns the read of the
// named variable (ExportVars names). Errors are the scope's (s.Err, or the graph's Finalize).
func Serving(s *op.Scope, cfg ModelConfig, images tf.Output, read func(name string) tf.Output) (embedding, logits, probabilities tf.Output) {
	x := op.Mul(s.SubScope("rescale"), op.Cast(s.SubScope("cast"), images, tf.Float), op.Const(s.SubScope("scale"), float32(1.0/255.0)))
	var encW []tf.Output
	for _, sp := range cfg.EncoderVars() {
		encW = append(encW, read(sp.Name))
	}
	embedding = backboneOf(cfg).forward(s.SubScope("encoder"), x, encW).features()
	if !cfg.HasProbe() {
		return embedding, tf.Output{}, tf.Output{}
	}
	logits = dense(s.SubScope("probe"), embedding, read("probe/kernel"), read("probe/bias"))
	return embedding, logits, op.Softmax(s.SubScope("softmax"), logits)
}
