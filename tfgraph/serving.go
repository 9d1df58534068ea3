package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// ExportVars are the variables a serving graph reads: the encoder's, its BN moving statistics
// and the probe's (the encoder's alone in a model without a probe).
func (c ModelConfig) ExportVars() []VarSpec {
	return append(append(c.EncoderVars(), c.EncoderStatVars()...), c.ProbeVars()...)
}

// Serving builds, in s, the serving computation of a model of cfg on uint8 images [N, H, W, C]:
// normalised as cfg.InputNorm says (unit: scaled by 1/255, the Keras example's evaluation path),
// the encoder's embedding (its BNs with the moving statistics), the probe's
// logits and their softmax. A model without a probe (ModelConfig.HasProbe) has the embedding
// alone: logits and probabilities are then zero Outputs (no Op). read returns the read of the
// named variable (ExportVars names). Errors are the scope's (s.Err, or the graph's Finalize).
func Serving(s *op.Scope, cfg ModelConfig, images tf.Output, read func(name string) tf.Output) (embedding, logits, probabilities tf.Output) {
	x := normalizeInput(s, cfg, op.Cast(s.SubScope("cast"), images, tf.Float), 255)
	var encW, stats []tf.Output
	for _, sp := range cfg.EncoderVars() {
		encW = append(encW, read(sp.Name))
	}
	for _, sp := range cfg.EncoderStatVars() {
		stats = append(stats, read(sp.Name))
	}
	embedding = backboneOf(cfg).forward(s.SubScope("encoder"), x, encW, stats, nil).features()
	if !cfg.HasProbe() {
		return embedding, tf.Output{}, tf.Output{}
	}
	logits = dense(s.SubScope("probe"), embedding, read("probe/kernel"), read("probe/bias"))
	return embedding, logits, op.Softmax(s.SubScope("softmax"), logits)
}
