package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// probeStep is the step's probe half: the classification view through the encoder as the
// contrastive update left it (not trained here), the probe's loss and accuracy over the (global)
// labelled batch, and the probe's own Adam update. The encoder's BNs use the moving statistics
// as the contrastive step's updates (encStatsDone) left them.
type probeStep struct {
	loss, acc tf.Output
	done      *tf.Operation
}

// probe builds the probe step on images x with labels y, after the ops of after. The global
// batch's mean loss is the sum over workers of their rows' losses divided by the global count:
// its gradients, the loss and the accuracy are sums across workers.
func (b *builder) probe(s *op.Scope, st strategy, v *modelVars, x, y tf.Output, after, encStatsDone []*tf.Operation) (probeStep, error) {
	ps := s.WithControlDependencies(after...)
	encW := readAfter(ps.SubScope("encoder_w"), v.enc)
	pW := readAfter(ps.SubScope("probe_w"), v.probe)
	stats := readAfter(ps.SubScope("encoder_stats"), v.encStats, encStatsDone...)
	f := encode(ps.SubScope("encoder"), b.cfg, x, encW, stats, nil).features()
	logits := dense(ps.SubScope("probe"), f, pW[0], pW[1])
	ls := b.s.SubScope("train_probe_loss")
	count := st.labelled(ls.SubScope("count"), y)
	count = castTo(ls.SubScope("count_cast"), count, logits.DataType()) // float64 model: float64
	depth := i32(ls.SubScope("depth"), int32(b.cfg.NumClasses))
	lossSum := op.Sum(ls.SubScope("Sum"), xentRows(ls, logits, y, depth), i32(ls.SubScope("axis"), 0))
	local := op.RealDiv(ls.SubScope("RealDiv"), lossSum, count)
	correct := correctCount(ls.SubScope("correct"), logits, y)
	grads := op.Gradients(b.s.SubScope("probe_grad"), []tf.Output{local}, pW)
	if err := b.s.Err(); err != nil {
		return probeStep{}, fmt.Errorf("probe gradients: %w", err)
	}
	sums := st.sum(b.s.SubScope("probe_allreduce"), append(grads, local, correct), keyProbe)
	n := len(grads)
	out := probeStep{loss: sums[n], acc: op.RealDiv(ls.SubScope("acc"), sums[n+1], count)}
	out.done = v.probeOpt.apply(s.SubScope("probe_adam"), sums[:n], []*tf.Operation{out.loss.Op})
	return out, nil
}

// testStep evaluates the probe on x (float32 in [0, 1]) with labels y: the mean loss and the
// number of correct predictions.
func (b *builder) testStep(s *op.Scope, v *modelVars, x, y tf.Output) []tf.Output {
	f := encode(s.SubScope("encoder"), b.cfg, x, reads(v.enc), reads(v.encStats), nil).features()
	logits := dense(s.SubScope("probe"), f, v.probe[0].read, v.probe[1].read)
	loss := meanAxis0(s.SubScope("loss"), xentRows(s.SubScope("loss"), logits, y, i32(s.SubScope("depth"), int32(b.cfg.NumClasses))))
	return []tf.Output{loss, correctCount(s.SubScope("correct"), logits, y)}
}

// forward is the model's inference on x: encoder features, projections (the heads' BN with the
// moving statistics, the encoder's too) and, in a model with a probe, the probe's logits.
func (b *builder) forward(s *op.Scope, v *modelVars, x tf.Output) []tf.Output {
	c := b.cfg
	f := encode(s.SubScope("encoder"), c, x, reads(v.enc), reads(v.encStats), nil).features()
	p, _ := mlp(s.SubScope("head"), f, reads(v.head), [2]bool{c.HeadBN, c.HeadBN}, reads(v.stats), nil)
	if !c.HasProbe() {
		return []tf.Output{f, p}
	}
	logits := dense(s.SubScope("probe"), f, v.probe[0].read, v.probe[1].read)
	return []tf.Output{f, p, logits}
}
