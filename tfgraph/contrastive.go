package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// view is one contrastive view through the encoder and the heads.
type view struct {
	acts    activations
	p, q    tf.Output   // normalised projection; normalised prediction (p without a prediction head)
	moments []tf.Output // the heads' BN batch moments
}

// forwardViews applies the encoder to both views, then the projection head and (when the model
// has one) the prediction head to each, in the train step's mode (the batch norms synchronised
// by sync). Both encoder chains are built before either head, in the graph order the step had
// before it was split into builders.
func (b *builder) forwardViews(s *op.Scope, x1, x2 tf.Output, v *modelVars, sync *syncBN) (view, view) {
	c, encW := b.cfg, reads(v.enc)
	views := [2]view{{acts: encode(s.SubScope("encoder1"), c, x1, encW, nil, sync)}, {acts: encode(s.SubScope("encoder2"), c, x2, encW, nil, sync)}}
	for i := range views {
		out := &views[i]
		hs := s.SubScope(fmt.Sprintf("heads%d", i+1))
		z, mo := mlp(hs.SubScope("head"), out.acts.features(), reads(v.head), [2]bool{c.HeadBN, c.HeadBN}, nil, sync)
		out.p, out.moments = l2normalize(hs.SubScope("norm"), z), mo
		out.q = out.p
		if len(v.pred) > 0 {
			y, pm := mlp(hs.SubScope("pred"), z, reads(v.pred), [2]bool{c.HeadBN, false}, nil, sync)
			out.q, out.moments = l2normalize(hs.SubScope("pnorm"), y), append(out.moments, pm...)
		}
	}
	return views[0], views[1]
}

// nearest returns NN(p) with the straight-through estimator: forward the queue row most similar
// to p, backward the identity to p. With pick (int32 [B]) the row is instead the pick[i]-th
// (from 0) of the SupportTopK most similar, in TopKV2's order.
func (b *builder) nearest(s *op.Scope, p, queue tf.Output, pick *tf.Output) tf.Output {
	sim := op.MatMul(s.SubScope("MatMul"), p, queue, op.MatMulTransposeB(true))
	var idx tf.Output
	if pick == nil {
		idx = op.ArgMax(s.SubScope("ArgMax"), sim, i32(s.SubScope("axis"), 1))
	} else {
		_, top := op.TopKV2(s.SubScope("TopKV2"), sim, i32(s.SubScope("k"), int32(b.cfg.topK())))
		idx = op.GatherV2(s.SubScope("pick"), top, *pick, i32(s.SubScope("paxis"), 1), op.GatherV2BatchDims(1))
	}
	nn := op.GatherV2(s.SubScope("GatherV2"), queue, idx, i32(s.SubScope("gaxis"), 0))
	return op.AddV2(s.SubScope("AddV2"), p, op.StopGradient(s.SubScope("StopGradient"), op.Sub(s.SubScope("Sub"), nn, p)))
}

// nnclrLoss is the mean softmax cross-entropy of the four logit blocks NN(p1)·q2ᵀ, q2·NN(p1)ᵀ,
// NN(p2)·q1ᵀ, q1·NN(p2)ᵀ over the temperature, the diagonal being the labels. It returns the
// loss and the ops the queue's update must follow (the lookups and the logits).
func (b *builder) nnclrLoss(s *op.Scope, p1, p2, q1, q2, queue tf.Output, picks tf.Output) (tf.Output, []*tf.Operation) {
	var pick1, pick2 *tf.Output
	if picks.Op != nil {
		pp := op.Unpack(s.SubScope("picks"), picks, 2)
		pick1, pick2 = &pp[0], &pp[1]
	}
	nn1 := b.nearest(s.SubScope("nn1"), p1, queue, pick1)
	nn2 := b.nearest(s.SubScope("nn2"), p2, queue, pick2)
	temp := constLike(s.SubScope("temperature"), p1, b.cfg.Temperature)
	block := func(name string, a, c tf.Output) tf.Output {
		bs := s.SubScope(name)
		return op.RealDiv(bs.SubScope("RealDiv"), op.MatMul(bs.SubScope("MatMul"), a, c, op.MatMulTransposeB(true)), temp)
	}
	logits := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{
		block("s121", nn1, q2), block("s122", q2, nn1), block("s211", nn2, q1), block("s212", q1, nn2),
	}, i32(s.SubScope("axis"), 0))
	bsz := dim0(s.SubScope("batch"), p1)
	diag := op.Range(s.SubScope("Range"), i32(s.SubScope("zero"), 0), bsz, i32(s.SubScope("one"), 1))
	labels4 := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{diag, diag, diag, diag}, i32(s.SubScope("laxis"), 0))
	loss := meanAxis0(s.SubScope("loss"), xentRows(s.SubScope("loss"), logits, labels4, bsz))
	return loss, []*tf.Operation{nn1.Op, nn2.Op, logits.Op}
}

// contrastiveStep is the step's contrastive half: both views forward, the NNCLR loss over the
// (global) batch, gradients, the Adam update, the queue update and the metrics.
type contrastiveStep struct {
	loss, cAcc, rAcc tf.Output
	updates          []*tf.Operation // Adam's (last of it), the queue's, the BN statistics'
	encStats         []*tf.Operation // the encoder's BN statistics' (also in updates)
}

func (b *builder) contrastive(s *op.Scope, st strategy, v *modelVars, views, picks tf.Output) (contrastiveStep, error) {
	// Each view goes through the encoder as its own chain (forward and backward), so
	// TensorFlow runs the two views' kernels side by side. One batch of 2n images was tried
	// before: at the seed configuration (2×525 images of 96×96×3, 2 cores, fresh inputs each
	// step, three interleaved runs) its median step took 4.08-4.40 s and peak RSS 4.32 GiB; two
	// chains 3.78-3.92 s and 3.60 GiB (a one-off comparison at commit b178e61).
	vs := op.Split(s.SubScope("Split"), i32(s.SubScope("saxis"), 0), views, 2)
	sync := st.batchNorms()
	v1, v2 := b.forwardViews(s, vs[0], vs[1], v, sync)
	statUpdates := movingUpdates(s.SubScope("bn_stats"), v.stats, v1.moments, v2.moments)
	encStats := movingUpdates(s.SubScope("encoder_bn_stats"), v.encStats, v1.acts.moments(), v2.acts.moments())
	// The loss and the queue see the global batch; the metrics the global features.
	ps, pd, fw := s.SubScope("global"), b.cfg.projDim(), b.cfg.FeatureWidth()
	p1, queueRows := st.global(ps.SubScope("p1"), v1.p, pd, keyP1)
	p2, _ := st.global(ps.SubScope("p2"), v2.p, pd, keyP2)
	q1, q2 := p1, p2
	if len(v.pred) > 0 {
		q1, _ = st.global(ps.SubScope("q1"), v1.q, pd, keyQ1)
		q2, _ = st.global(ps.SubScope("q2"), v2.q, pd, keyQ2)
	}
	_, f1 := st.global(ps.SubScope("f1"), v1.acts.features(), fw, keyF1)
	_, f2 := st.global(ps.SubScope("f2"), v2.acts.features(), fw, keyF2)
	loss, lookups := b.nnclrLoss(s.SubScope("loss"), p1, p2, q1, q2, v.queue.read, picks)
	grads, err := b.contrastiveGrads(st, sync, loss, v1, v2, v)
	if err != nil {
		return contrastiveStep{}, err
	}
	// Reads that must happen before any update of this step.
	before := []*tf.Operation{v.queue.read.Op}
	for _, w := range v.contrastiveVars() {
		before = append(before, w.read.Op)
	}
	adamDone := v.contrastive.apply(s.SubScope("adam"), grads, before)
	queueDone := b.queueUpdate(s.SubScope("queue_update").WithControlDependencies(lookups...), v.queue, queueRows)
	cAcc, rAcc := contrastiveMetrics(s.SubScope("metrics"), f1, f2)
	return contrastiveStep{loss: loss, cAcc: cAcc, rAcc: rAcc,
		updates: append(append([]*tf.Operation{adamDone, queueDone}, statUpdates...), encStats...), encStats: encStats}, nil
}

// contrastiveGrads differentiates loss: the registry down to the features and the heads'
// weights, and a backbone with its own backward pass (handBackward) from there (per view,
// summed); the registry all the way for the others. Synchronised batch norms cut the registry's
// part into segments (syncBN.gradients). Then summed over the workers.
func (b *builder) contrastiveGrads(st strategy, sync *syncBN, loss tf.Output, v1, v2 view, v *modelVars) ([]tf.Output, error) {
	headW, predW, encW := reads(v.head), reads(v.pred), reads(v.enc)
	hand, isHand := backboneOf(b.cfg).(handBackward)
	diff := func(xs []tf.Output) []tf.Output {
		if !sync.active() {
			return op.Gradients(b.s.SubScope("contrastive_grad"), []tf.Output{loss}, xs)
		}
		tops := []tf.Output{v1.p, v2.p}
		if len(v.pred) > 0 {
			tops = append(tops, v1.q, v2.q)
		}
		return sync.gradients(b.s.SubScope("contrastive_grad"), loss, tops, xs)
	}
	var grads []tf.Output
	if isHand {
		gs := diff(append(append([]tf.Output{v1.acts.features(), v2.acts.features()}, headW...), predW...))
		if err := b.s.Err(); err != nil {
			return nil, fmt.Errorf("contrastive gradients: %w", err)
		}
		g1 := hand.backward(b.s.SubScope("encoder_grad1"), v1.acts, gs[0], encW)
		g2 := hand.backward(b.s.SubScope("encoder_grad2"), v2.acts, gs[1], encW)
		as := b.s.SubScope("encoder_grad_sum")
		grads = make([]tf.Output, 0, len(g1)+len(gs)-2)
		for i := range g1 {
			grads = append(grads, op.AddN(as.SubScope("AddN"), []tf.Output{g1[i], g2[i]}))
		}
		grads = append(grads, gs[2:]...)
	} else {
		grads = diff(append(append(encW, headW...), predW...))
		if err := b.s.Err(); err != nil {
			return nil, fmt.Errorf("contrastive gradients: %w", err)
		}
	}
	// Each worker's gradients come through its own rows: their sum is the global batch's.
	grads = st.sum(b.s.SubScope("contrastive_allreduce"), grads, keyContrastiveGrads)
	if err := b.s.Err(); err != nil {
		return nil, fmt.Errorf("encoder gradients: %w", err)
	}
	return grads, nil
}

// queueUpdate assigns the queue concat(rows, queue[:−B]): newest first, oldest dropped.
func (b *builder) queueUpdate(s *op.Scope, queue *variable, rows tf.Output) *tf.Operation {
	keep := op.Sub(s.SubScope("Sub"), i32(s.SubScope("q"), int32(b.cfg.QueueSize)), dim0(s.SubScope("batch"), rows))
	size := op.Pack(s.SubScope("Pack"), []tf.Output{keep, i32(s.SubScope("w"), int32(b.cfg.projDim()))})
	older := op.Slice(s.SubScope("Slice"), queue.read, i32(s.SubScope("begin"), 0, 0), size)
	newQ := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{rows, older}, i32(s.SubScope("axis"), 0))
	return op.AssignVariableOp(s.SubScope("AssignVariableOp"), queue.handle, newQ)
}
