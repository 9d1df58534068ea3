package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// variable is one resource variable of the model graph.
type variable struct {
	spec   VarSpec
	dtype  tf.DataType
	handle tf.Output
	read   tf.Output     // the read used by the contrastive path, the metrics and the saver
	in     tf.Output     // placeholder of SetWeights
	assign *tf.Operation // assigns in to the variable
}

// nnclrGraph holds the graph's endpoints.
type nnclrGraph struct {
	cfg   ModelConfig
	graph *tf.Graph
	vars  []*variable // in a fixed order: encoder, head, probe, slots, queue, counters
	byNam map[string]*variable

	// train step
	views, probeX, probeY tf.Output   // views: view 1 of the batch, then view 2
	supportPick           tf.Output   // [2, B] int32 with SupportTopK > 1 (else no Op)
	trainFetch            []tf.Output // c_loss, c_acc, r_acc, p_loss, p_acc
	trainOp               *tf.Operation
	finite                tf.Output // bool per trained weight, after the step's updates
	finiteNames           []string  // the weights of finite, in order
	// test step and forward pass
	testX, testY       tf.Output
	testFetch          []tf.Output // p_loss, p_acc, correct count
	fwdX               tf.Output
	fwdFetch           []tf.Output // features, projections, logits
	saveDir, saveNames tf.Output
	saveOp             *tf.Operation
	restoreFetch       []tf.Output
	restorePrefix      tf.Output
	slices             tf.Output
	check              checkFetch // data-parallel start-up check
	sync               syncOps    // data-parallel broadcast of the chief's variables
	stop               stopFetch  // data-parallel agreement on stopping
}

// metric names in the order of trainFetch.
var trainMetricNames = []string{"c_loss", "c_acc", "r_acc", "p_loss", "p_acc"}

type gb struct {
	s   *op.Scope
	cfg ModelConfig
	g   *nnclrGraph
}

func (b *gb) newVar(spec VarSpec, dtype tf.DataType) *variable {
	s := b.s.SubScope(spec.Name)
	v := &variable{spec: spec, dtype: dtype}
	v.handle = op.VarHandleOp(s.SubScope("VarHandleOp"), dtype, tf.MakeShape(spec.Shape...), op.VarHandleOpSharedName(spec.Name))
	v.read = op.ReadVariableOp(s.SubScope("read"), v.handle, dtype)
	v.in = op.Placeholder(s.SubScope("in"), dtype, op.PlaceholderShape(tf.MakeShape(spec.Shape...)))
	v.assign = op.AssignVariableOp(s.SubScope("assign"), v.handle, v.in)
	b.g.vars = append(b.g.vars, v)
	b.g.byNam[spec.Name] = v
	return v
}

func (b *gb) f32(s *op.Scope, v float64) tf.Output { return op.Const(s.SubScope("Const"), float32(v)) }
func (b *gb) i32(s *op.Scope, v ...int32) tf.Output {
	if len(v) == 1 {
		return op.Const(s.SubScope("Const"), v[0])
	}
	return op.Const(s.SubScope("Const"), v)
}

// encoder applies the conv encoder with weights w (kernel, bias pairs in EncoderVars order).
func (b *gb) encoder(s *op.Scope, x tf.Output, w []tf.Output) tf.Output {
	return b.encoderFwd(s, x, w).f
}

// encoderActs holds one application of the encoder with what its backward pass needs.
type encoderActs struct {
	in   [4]tf.Output // inputs of the four convolutions
	act  [4]tf.Output // their ReLU outputs
	flat tf.Output    // flattened feature map
	f    tf.Output    // features (after the dense layer's ReLU)
}

// encoderFwd applies the encoder and keeps the activations encoderBwd needs.
func (b *gb) encoderFwd(s *op.Scope, x tf.Output, w []tf.Output) encoderActs {
	var e encoderActs
	h := x
	for i := 0; i < 4; i++ {
		ls := s.SubScope(fmt.Sprintf("conv%d", i))
		e.in[i] = h
		h = op.Relu(ls.SubScope("Relu"), op.BiasAdd(ls.SubScope("BiasAdd"), op.Conv2D(ls.SubScope("Conv2D"), h, w[2*i], []int64{1, 2, 2, 1}, "VALID"), w[2*i+1]))
		e.act[i] = h
	}
	fh, fw := b.cfg.FeatureMapSize()
	ds := s.SubScope("dense")
	e.flat = op.Reshape(ds.SubScope("Reshape"), h, b.i32(ds.SubScope("shape"), -1, int32(fh*fw*b.cfg.ModelWidth)))
	e.f = op.Relu(ds.SubScope("Relu"), op.BiasAdd(ds.SubScope("BiasAdd"), op.MatMul(ds.SubScope("MatMul"), e.flat, w[8]), w[9]))
	return e
}

// encoderBwd is the encoder's backward pass: given dL/df it returns dL/dw in EncoderVars order.
// It is what the gradient registry builds, except that ReluGrad reads each ReLU's output (as
// TensorFlow's Python gradient does) instead of its input: the mask is the same, and the
// pre-activation then has no other consumer, so Grappler fuses Conv2D+BiasAdd+Relu.
func (b *gb) encoderBwd(s *op.Scope, e encoderActs, gf tf.Output, w []tf.Output) []tf.Output {
	grads := make([]tf.Output, 10)
	ds := s.SubScope("dense")
	gz := op.ReluGrad(ds.SubScope("ReluGrad"), gf, e.f)
	grads[8] = op.MatMul(ds.SubScope("MatMul"), e.flat, gz, op.MatMulTransposeA(true))
	grads[9] = op.BiasAddGrad(ds.SubScope("BiasAddGrad"), gz)
	gflat := op.MatMul(ds.SubScope("MatMul"), gz, w[8], op.MatMulTransposeB(true))
	gh := op.Reshape(ds.SubScope("Reshape"), gflat, op.Shape(ds.SubScope("Shape"), e.act[3]))
	strides := []int64{1, 2, 2, 1}
	for i := 3; i >= 0; i-- {
		ls := s.SubScope(fmt.Sprintf("conv%d", i))
		g := op.ReluGrad(ls.SubScope("ReluGrad"), gh, e.act[i])
		grads[2*i+1] = op.BiasAddGrad(ls.SubScope("BiasAddGrad"), g)
		grads[2*i] = op.Conv2DBackpropFilter(ls.SubScope("Conv2DBackpropFilter"), e.in[i], op.Shape(ls.SubScope("Shape"), w[2*i]), g, strides, "VALID")
		if i > 0 {
			gh = op.Conv2DBackpropInput(ls.SubScope("Conv2DBackpropInput"), op.Shape(ls.SubScope("Shape"), e.in[i]), w[2*i], g, strides, "VALID")
		}
	}
	return grads
}

// BatchNormalization's settings (Keras's defaults).
const (
	bnMomentum = 0.99
	bnEpsilon  = 1e-3
)

// mlp applies a two-layer head with weights w in mlpVars order: layer 0, ReLU, layer 1. A layer
// with bn[i] has no bias and ends in batch normalisation: with stats nil over the batch, as
// tf.nn.moments and tf.nn.batch_normalization compute it, returning each BN's batch mean and
// variance; else with the moving statistics stats (mean, variance per BN, in order).
func (b *gb) mlp(s *op.Scope, x tf.Output, w []tf.Output, bn [2]bool, stats []tf.Output) (tf.Output, []tf.Output) {
	var moments []tf.Output
	h := x
	for i := 0; i < 2; i++ {
		ls := s.SubScope(fmt.Sprintf("dense%d", i))
		h = op.MatMul(ls.SubScope("MatMul"), h, w[0])
		if !bn[i] {
			h = op.BiasAdd(ls.SubScope("BiasAdd"), h, w[1])
			w = w[2:]
		} else {
			gamma, beta := w[1], w[2]
			w = w[3:]
			bs := s.SubScope(fmt.Sprintf("bn%d", i))
			var mean, variance tf.Output
			if stats == nil {
				ax := b.i32(bs.SubScope("axis"), 0)
				mean = op.Mean(bs.SubScope("mean"), h, ax)
				dev := op.Sub(bs.SubScope("Sub"), h, op.StopGradient(bs.SubScope("StopGradient"), mean))
				variance = op.Mean(bs.SubScope("variance"), op.Square(bs.SubScope("Square"), dev), ax)
				moments = append(moments, mean, variance)
			} else {
				mean, variance, stats = stats[0], stats[1], stats[2:]
			}
			inv := op.Mul(bs.SubScope("scale"), op.Rsqrt(bs.SubScope("Rsqrt"), op.AddV2(bs.SubScope("eps"), variance, b.f32(bs.SubScope("epsilon"), bnEpsilon))), gamma)
			h = op.AddV2(bs.SubScope("AddV2"), op.Mul(bs.SubScope("Mul"), h, inv), op.Sub(bs.SubScope("offset"), beta, op.Mul(bs.SubScope("shift"), mean, inv)))
		}
		if i == 0 {
			h = op.Relu(ls.SubScope("Relu"), h)
		}
	}
	return h, moments
}

// head applies the projection head with weights w (HeadVars order) in the train step's mode.
func (b *gb) head(s *op.Scope, f tf.Output, w []tf.Output) (tf.Output, []tf.Output) {
	return b.mlp(s, f, w, [2]bool{b.cfg.HeadBN, b.cfg.HeadBN}, nil)
}

// predict applies the prediction head with weights w (PredVars order) in the train step's mode.
func (b *gb) predict(s *op.Scope, z tf.Output, w []tf.Output) (tf.Output, []tf.Output) {
	return b.mlp(s, z, w, [2]bool{b.cfg.HeadBN, false}, nil)
}

// movingUpdates assigns each moving statistic the updates of BatchNormalization for the batch
// moments of view 1, then of view 2 (as two calls of the Keras layer in that order do).
func (b *gb) movingUpdates(s *op.Scope, stats []*variable, m1, m2 []tf.Output) []*tf.Operation {
	var ops []*tf.Operation
	for i, v := range stats {
		vs := s.SubScope("moving")
		m, rest := b.f32(vs.SubScope("momentum"), bnMomentum), b.f32(vs.SubScope("rest"), 1-bnMomentum)
		t := v.read
		for _, mo := range [][]tf.Output{m1, m2} {
			t = op.AddV2(vs.SubScope("AddV2"), op.Mul(vs.SubScope("Mul"), t, m), op.Mul(vs.SubScope("Mul"), mo[i], rest))
		}
		ops = append(ops, op.AssignVariableOp(vs.SubScope("AssignVariableOp"), v.handle, t))
	}
	return ops
}

// l2normalize is tf.math.l2_normalize along axis 1: x · rsqrt(max(Σx², 1e-12)).
func (b *gb) l2normalize(s *op.Scope, x tf.Output) tf.Output {
	ss := op.Sum(s.SubScope("Sum"), op.Square(s.SubScope("Square"), x), b.i32(s.SubScope("axis"), 1), op.SumKeepDims(true))
	return op.Mul(s.SubScope("Mul"), x, op.Rsqrt(s.SubScope("Rsqrt"), op.Maximum(s.SubScope("Maximum"), ss, b.f32(s.SubScope("eps"), 1e-12))))
}

// nearest returns NN(p) with the straight-through estimator: forward the queue row most similar
// to p, backward the identity to p. With pick (int32 [B]) the row is instead the pick[i]-th
// (from 0) of the SupportTopK most similar, in TopKV2's order.
func (b *gb) nearest(s *op.Scope, p, queue tf.Output, pick *tf.Output) tf.Output {
	sim := op.MatMul(s.SubScope("MatMul"), p, queue, op.MatMulTransposeB(true))
	var idx tf.Output
	if pick == nil {
		idx = op.ArgMax(s.SubScope("ArgMax"), sim, b.i32(s.SubScope("axis"), 1))
	} else {
		_, top := op.TopKV2(s.SubScope("TopKV2"), sim, b.i32(s.SubScope("k"), int32(b.cfg.topK())))
		idx = op.GatherV2(s.SubScope("pick"), top, *pick, b.i32(s.SubScope("paxis"), 1), op.GatherV2BatchDims(1))
	}
	nn := op.GatherV2(s.SubScope("GatherV2"), queue, idx, b.i32(s.SubScope("gaxis"), 0))
	return op.AddV2(s.SubScope("AddV2"), p, op.StopGradient(s.SubScope("StopGradient"), op.Sub(s.SubScope("Sub"), nn, p)))
}

func (b *gb) dim0(s *op.Scope, x tf.Output) tf.Output {
	return op.GatherV2(s.SubScope("GatherV2"), op.Shape(s.SubScope("Shape"), x), b.i32(s.SubScope("i"), 0), b.i32(s.SubScope("axis"), 0))
}

// accuracy is the fraction of rows of the [2n, n] matrix concat(m, mᵀ) whose argmax is the
// row's index modulo n (SparseCategoricalAccuracy with the diagonal as labels).
func (b *gb) diagonalAccuracy(s *op.Scope, m tf.Output) tf.Output {
	rows := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{m, op.Transpose(s.SubScope("Transpose"), m, b.i32(s.SubScope("perm"), 1, 0))}, b.i32(s.SubScope("axis"), 0))
	n := b.dim0(s.SubScope("n"), m)
	r := op.Cast(s.SubScope("Cast"), op.Range(s.SubScope("Range"), b.i32(s.SubScope("zero"), 0), n, b.i32(s.SubScope("one"), 1)), tf.Int64)
	labels := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{r, r}, b.i32(s.SubScope("laxis"), 0))
	pred := op.ArgMax(s.SubScope("ArgMax"), rows, b.i32(s.SubScope("amax"), 1))
	return op.Mean(s.SubScope("Mean"), op.Cast(s.SubScope("Cast"), op.Equal(s.SubScope("Equal"), pred, labels), tf.Float), b.i32(s.SubScope("maxis"), 0))
}

// standardize is (f − mean) / std over the batch, per feature (population std).
func (b *gb) standardize(s *op.Scope, f tf.Output) tf.Output {
	ax := b.i32(s.SubScope("axis"), 0)
	mean := op.Mean(s.SubScope("Mean"), f, ax, op.MeanKeepDims(true))
	dev := op.Sub(s.SubScope("Sub"), f, mean)
	std := op.Sqrt(s.SubScope("Sqrt"), op.Mean(s.SubScope("Mean"), op.Square(s.SubScope("Square"), op.Abs(s.SubScope("Abs"), dev)), ax, op.MeanKeepDims(true)))
	return op.RealDiv(s.SubScope("RealDiv"), dev, std)
}

// softmaxXent is the mean over rows of softmax cross-entropy of logits with integer labels
// (given as one-hot rows, since the C++ gradient registry has no gradient for the sparse op).
func (b *gb) softmaxXent(s *op.Scope, logits, labels tf.Output, depth int) tf.Output {
	onehot := op.OneHot(s.SubScope("OneHot"), labels, b.i32(s.SubScope("depth"), int32(depth)), b.f32(s.SubScope("on"), 1), b.f32(s.SubScope("off"), 0))
	loss, _ := op.SoftmaxCrossEntropyWithLogits(s.SubScope("SoftmaxCrossEntropyWithLogits"), logits, onehot)
	return op.Mean(s.SubScope("Mean"), loss, b.i32(s.SubScope("axis"), 0))
}

// adam adds Keras's Adam update of vars with grads, slots m and v and counter iter, and returns
// the op that runs after all of it (the counter increment).
func (b *gb) adam(s *op.Scope, vars []*variable, grads []tf.Output, ms, vs []*variable, iter *variable, deps []*tf.Operation) *tf.Operation {
	ds := s.WithControlDependencies(deps...)
	t := op.Cast(ds.SubScope("Cast"), op.AddV2(ds.SubScope("AddV2"), op.ReadVariableOp(ds.SubScope("iter"), iter.handle, tf.Int64), op.Const(ds.SubScope("one"), int64(1))), tf.Float)
	beta1, beta2 := b.f32(s.SubScope("beta1"), b.cfg.Beta1), b.f32(s.SubScope("beta2"), b.cfg.Beta2)
	b1p := op.Pow(ds.SubScope("b1p"), beta1, t)
	b2p := op.Pow(ds.SubScope("b2p"), beta2, t)
	lr, eps := b.f32(s.SubScope("lr"), b.cfg.LearningRate), b.f32(s.SubScope("eps"), b.cfg.Epsilon)
	var applies []*tf.Operation
	for i, v := range vars {
		applies = append(applies, op.ResourceApplyAdam(ds.SubScope("apply"), v.handle, ms[i].handle, vs[i].handle,
			b1p, b2p, lr, beta1, beta2, eps, grads[i]))
	}
	return op.AssignAddVariableOp(s.WithControlDependencies(applies...).SubScope("inc"), iter.handle, op.Const(s.SubScope("inc1"), int64(1)))
}

func reads(vs []*variable) []tf.Output {
	out := make([]tf.Output, len(vs))
	for i, v := range vs {
		out[i] = v.read
	}
	return out
}

// buildGraph builds the whole NNCLR graph for cfg.
func buildGraph(cfg ModelConfig) (g *nnclrGraph, err error) {
	root := op.NewScope()
	defer func() {
		// graft panics when an op is built on the output of a failed one; report the first error.
		if r := recover(); r != nil {
			if serr := root.Err(); serr != nil {
				r = serr
			}
			g, err = nil, fmt.Errorf("tfgraph: building the graph: %v", r)
		}
	}()
	g = &nnclrGraph{cfg: cfg, byNam: map[string]*variable{}}
	b := &gb{s: root, cfg: cfg, g: g}

	var enc, head, probe []*variable
	for _, sp := range cfg.EncoderVars() {
		enc = append(enc, b.newVar(sp, tf.Float))
	}
	for _, sp := range cfg.HeadVars() {
		head = append(head, b.newVar(sp, tf.Float))
	}
	var pred []*variable
	for _, sp := range cfg.PredVars() {
		pred = append(pred, b.newVar(sp, tf.Float))
	}
	for _, sp := range cfg.ProbeVars() {
		probe = append(probe, b.newVar(sp, tf.Float))
	}
	slots := func(prefix string, vs []*variable) (ms, vvs []*variable) {
		for _, v := range vs {
			ms = append(ms, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/m", v.spec.Shape}, tf.Float))
			vvs = append(vvs, b.newVar(VarSpec{prefix + "/" + v.spec.Name + "/v", v.spec.Shape}, tf.Float))
		}
		return
	}
	contrastive := append(append(append([]*variable{}, enc...), head...), pred...)

	cm, cv := slots("adam_c", contrastive)
	pm, pv := slots("adam_p", probe)
	citer := b.newVar(VarSpec{"adam_c/iterations", nil}, tf.Int64)
	piter := b.newVar(VarSpec{"adam_p/iterations", nil}, tf.Int64)
	queue := b.newVar(VarSpec{"queue", []int64{int64(cfg.QueueSize), int64(cfg.projDim())}}, tf.Float)
	step := b.newVar(VarSpec{"global_step", nil}, tf.Int64)
	// Last, so that the other variables keep their places (and Init's streams).
	var stats []*variable
	for _, sp := range cfg.StatVars() {
		stats = append(stats, b.newVar(sp, tf.Float))
	}

	img := tf.MakeShape(-1, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels))
	ts := root.SubScope("train")
	g.views = op.Placeholder(ts.SubScope("views"), tf.Float, op.PlaceholderShape(img))
	g.probeX = op.Placeholder(ts.SubScope("probe_x"), tf.Float, op.PlaceholderShape(img))
	g.probeY = op.Placeholder(ts.SubScope("probe_y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))

	// Contrastive step.
	cs := ts.SubScope("contrastive")
	encW, headW, predW := reads(enc), reads(head), reads(pred)
	if cfg.topK() > 1 {
		g.supportPick = op.Placeholder(ts.SubScope("support_pick"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2, -1)))
	}
	// Each view goes through the encoder as its own chain (forward and backward), so
	// TensorFlow runs the two views' kernels side by side. One batch of 2n images was tried
	// before: at the seed configuration (2×525 images of 96×96×3, 2 cores, fresh inputs each
	// step, three interleaved runs) its median step took 4.08-4.40 s and peak RSS 4.32 GiB; two
	// chains 3.78-3.92 s and 3.60 GiB (BenchmarkStepOps shows the kernels).
	vs := op.Split(cs.SubScope("Split"), b.i32(cs.SubScope("saxis"), 0), g.views, 2)
	e1 := b.encoderFwd(cs.SubScope("encoder1"), vs[0], encW)
	e2 := b.encoderFwd(cs.SubScope("encoder2"), vs[1], encW)
	f1, f2 := e1.f, e2.f
	z1, mo1 := b.head(cs.SubScope("head1"), f1, headW)
	z2, mo2 := b.head(cs.SubScope("head2"), f2, headW)
	p1, p2 := b.l2normalize(cs.SubScope("norm1"), z1), b.l2normalize(cs.SubScope("norm2"), z2)
	// The positives' partners: the projections, or the predictions with a prediction head.
	q1, q2 := p1, p2
	if len(pred) > 0 {
		y1, pm1 := b.predict(cs.SubScope("pred1"), z1, predW)
		y2, pm2 := b.predict(cs.SubScope("pred2"), z2, predW)
		q1, q2 = b.l2normalize(cs.SubScope("pnorm1"), y1), b.l2normalize(cs.SubScope("pnorm2"), y2)
		mo1, mo2 = append(mo1, pm1...), append(mo2, pm2...)
	}
	statUpdates := b.movingUpdates(cs.SubScope("bn_stats"), stats, mo1, mo2)
	// In a data-parallel step the loss and the queue see the global batch: the projections of
	// every worker, gathered, with gradients reaching this worker's own rows only; the metrics
	// see the gathered features. queueRows is what the queue takes.
	queueRows := p1
	if cfg.Parallel != nil {
		w := cfg.projDim()
		ps := cs.SubScope("parallel")
		p1, queueRows = b.globalRows(ps.SubScope("p1"), p1, w, keyP1)
		p2, _ = b.globalRows(ps.SubScope("p2"), p2, w, keyP2)
		if len(pred) > 0 {
			q1, _ = b.globalRows(ps.SubScope("q1"), q1, w, keyQ1)
			q2, _ = b.globalRows(ps.SubScope("q2"), q2, w, keyQ2)
		} else {
			q1, q2 = p1, p2
		}
		f1 = b.gatherGlobal(ps.SubScope("f1"), f1, cfg.ModelWidth, keyF1)
		f2 = b.gatherGlobal(ps.SubScope("f2"), f2, cfg.ModelWidth, keyF2)
		g.check = b.clusterCheck(root.SubScope("cluster_check"))
	}
	q := queue.read
	var pick1, pick2 *tf.Output
	if g.supportPick.Op != nil {
		picks := op.Unpack(cs.SubScope("picks"), g.supportPick, 2)
		pick1, pick2 = &picks[0], &picks[1]
	}
	nn1 := b.nearest(cs.SubScope("nn1"), p1, q, pick1)
	nn2 := b.nearest(cs.SubScope("nn2"), p2, q, pick2)
	temp := b.f32(cs.SubScope("temperature"), cfg.Temperature)
	block := func(name string, a, c tf.Output) tf.Output {
		s := cs.SubScope(name)
		return op.RealDiv(s.SubScope("RealDiv"), op.MatMul(s.SubScope("MatMul"), a, c, op.MatMulTransposeB(true)), temp)
	}
	logits := op.ConcatV2(cs.SubScope("ConcatV2"), []tf.Output{
		block("s121", nn1, q2), block("s122", q2, nn1), block("s211", nn2, q1), block("s212", q1, nn2),
	}, b.i32(cs.SubScope("axis"), 0))
	bsz := b.dim0(cs.SubScope("batch"), p1)
	diag := op.Range(cs.SubScope("Range"), b.i32(cs.SubScope("zero"), 0), bsz, b.i32(cs.SubScope("one"), 1))
	labels4 := op.ConcatV2(cs.SubScope("ConcatV2"), []tf.Output{diag, diag, diag, diag}, b.i32(cs.SubScope("laxis"), 0))
	lossScope := cs.SubScope("loss")
	onehot := op.OneHot(lossScope.SubScope("OneHot"), labels4, bsz, b.f32(lossScope.SubScope("on"), 1), b.f32(lossScope.SubScope("off"), 0))
	xent, _ := op.SoftmaxCrossEntropyWithLogits(lossScope.SubScope("SoftmaxCrossEntropyWithLogits"), logits, onehot)
	cLoss := op.Mean(lossScope.SubScope("Mean"), xent, b.i32(lossScope.SubScope("axis"), 0))
	// The registry differentiates the loss down to the features; the encoder's backward pass is
	// built by encoderBwd.
	gs := op.Gradients(root.SubScope("contrastive_grad"), []tf.Output{cLoss}, append(append([]tf.Output{e1.f, e2.f}, headW...), predW...))
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: contrastive gradients: %w", err)
	}
	g1 := b.encoderBwd(root.SubScope("encoder_grad1"), e1, gs[0], encW)
	g2 := b.encoderBwd(root.SubScope("encoder_grad2"), e2, gs[1], encW)
	as := root.SubScope("encoder_grad_sum")
	grads := make([]tf.Output, 0, len(g1)+len(headW)+len(predW))
	for i := range g1 {
		grads = append(grads, op.AddN(as.SubScope("AddN"), []tf.Output{g1[i], g2[i]}))
	}
	grads = append(grads, gs[2:]...)
	if cfg.Parallel != nil {
		// Each worker's gradients come through its own rows: their sum is the global batch's.
		grads = b.allReduceSum(root.SubScope("contrastive_allreduce"), grads, keyContrastiveGrads)
	}
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: encoder gradients: %w", err)
	}
	// Reads that must happen before any update of this step.
	before := []*tf.Operation{queue.read.Op}
	for _, v := range contrastive {
		before = append(before, v.read.Op)
	}
	cDone := b.adam(cs.SubScope("adam"), contrastive, grads, cm, cv, citer, before)
	// Queue update after the lookups: newest first, oldest dropped.
	qs := cs.SubScope("queue_update").WithControlDependencies(nn1.Op, nn2.Op, logits.Op)
	keep := op.Sub(qs.SubScope("Sub"), b.i32(qs.SubScope("q"), int32(cfg.QueueSize)), bsz)
	size := op.Pack(qs.SubScope("Pack"), []tf.Output{keep, b.i32(qs.SubScope("w"), int32(cfg.projDim()))})
	older := op.Slice(qs.SubScope("Slice"), q, b.i32(qs.SubScope("begin"), 0, 0), size)
	newQ := op.ConcatV2(qs.SubScope("ConcatV2"), []tf.Output{queueRows, older}, b.i32(qs.SubScope("axis"), 0))
	qAssign := op.AssignVariableOp(qs.SubScope("AssignVariableOp"), queue.handle, newQ)
	// Metrics on encoder features.
	ms := cs.SubScope("metrics")
	cAcc := b.diagonalAccuracy(ms.SubScope("c_acc"), op.MatMul(ms.SubScope("MatMul"), b.l2normalize(ms.SubScope("n1"), f1), b.l2normalize(ms.SubScope("n2"), f2), op.MatMulTransposeB(true)))
	s1, s2 := b.standardize(ms.SubScope("z1"), f1), b.standardize(ms.SubScope("z2"), f2)
	bf := op.Cast(ms.SubScope("Cast"), bsz, tf.Float)
	corr := op.RealDiv(ms.SubScope("RealDiv"), op.MatMul(ms.SubScope("MatMul"), s1, s2, op.MatMulTransposeA(true)), bf)
	rAcc := b.diagonalAccuracy(ms.SubScope("r_acc"), corr)

	// Probe step: encoder after the contrastive update, probe updated alone.
	ps := ts.SubScope("probe").WithControlDependencies(cDone, qAssign)
	var encAfter []tf.Output
	for _, v := range enc {
		encAfter = append(encAfter, op.ReadVariableOp(ps.SubScope("read"), v.handle, tf.Float))
	}
	pW := []tf.Output{op.ReadVariableOp(ps.SubScope("read"), probe[0].handle, tf.Float), op.ReadVariableOp(ps.SubScope("read"), probe[1].handle, tf.Float)}
	pf := b.encoder(ps.SubScope("encoder"), g.probeX, encAfter)
	plogits := op.BiasAdd(ps.SubScope("BiasAdd"), op.MatMul(ps.SubScope("MatMul"), pf, pW[0]), pW[1])
	plain := root.SubScope("train_probe_loss")
	var pLoss, pAcc tf.Output
	var pgrads []tf.Output
	if d := cfg.Parallel; d != nil {
		// The global batch's mean loss is the sum over workers of their rows' losses divided by
		// the global count: its gradients, and the loss and accuracy, are sums across workers.
		onehot := op.OneHot(plain.SubScope("OneHot"), g.probeY, b.i32(plain.SubScope("depth"), int32(cfg.NumClasses)), b.f32(plain.SubScope("on"), 1), b.f32(plain.SubScope("off"), 0))
		xent, _ := op.SoftmaxCrossEntropyWithLogits(plain.SubScope("SoftmaxCrossEntropyWithLogits"), plogits, onehot)
		lossSum := op.Sum(plain.SubScope("Sum"), xent, b.i32(plain.SubScope("axis"), 0))
		count := b.f32(plain.SubScope("count"), float64(d.Workers*d.Labelled))
		local := op.RealDiv(plain.SubScope("RealDiv"), lossSum, count)
		correct := op.Sum(plain.SubScope("correct"), op.Cast(plain.SubScope("Cast"), op.Equal(plain.SubScope("Equal"), op.ArgMax(plain.SubScope("ArgMax"), plogits, b.i32(plain.SubScope("a"), 1)), g.probeY), tf.Float), b.i32(plain.SubScope("c"), 0))
		lg := op.Gradients(root.SubScope("contrastive_grad"), []tf.Output{local}, pW)
		if err := root.Err(); err != nil {
			return nil, fmt.Errorf("tfgraph: probe gradients: %w", err)
		}
		sums := b.allReduceSum(root.SubScope("probe_allreduce"), append(lg, local, correct), keyProbe)
		pgrads, pLoss = sums[:len(lg)], sums[len(lg)]
		pAcc = op.RealDiv(plain.SubScope("acc"), sums[len(lg)+1], count)
	} else {
		pLoss = b.softmaxXent(plain, plogits, g.probeY, cfg.NumClasses)
		pgrads = op.Gradients(root.SubScope("contrastive_grad"), []tf.Output{pLoss}, pW)
		if err := root.Err(); err != nil {
			return nil, fmt.Errorf("tfgraph: probe gradients: %w", err)
		}
		pAcc = op.Mean(plain.SubScope("Mean"), op.Cast(plain.SubScope("Cast"), op.Equal(plain.SubScope("Equal"), op.ArgMax(plain.SubScope("ArgMax"), plogits, b.i32(plain.SubScope("a"), 1)), g.probeY), tf.Float), b.i32(plain.SubScope("m"), 0))
	}
	pDone := b.adam(ts.SubScope("probe_adam"), probe, pgrads, pm, pv, piter, []*tf.Operation{pLoss.Op})
	stepInc := op.AssignAddVariableOp(ts.SubScope("step").WithControlDependencies(cDone, pDone, qAssign), step.handle, op.Const(ts.SubScope("one64"), int64(1)))
	g.trainOp = op.NoOp(ts.WithControlDependencies(append([]*tf.Operation{cDone, qAssign, pDone, stepInc}, statUpdates...)...).SubScope("done"))
	g.trainFetch = []tf.Output{cLoss, cAcc, rAcc, pLoss, pAcc}
	// Whether each trained weight is finite after the updates. A NaN does not always reach the
	// losses: a ReLU fused into its convolution or matmul (as Grappler fuses them, also in Keras's
	// graph) maps NaN to 0, so a NaN encoder weight can leave the loss finite.
	fin := ts.SubScope("finite").WithControlDependencies(cDone, pDone)
	var finite []tf.Output
	for _, v := range append(append([]*variable{}, contrastive...), probe...) {
		flat := op.Reshape(fin.SubScope("Reshape"), op.ReadVariableOp(fin.SubScope("read"), v.handle, tf.Float), op.Const(fin.SubScope("shape"), []int32{-1}))
		finite = append(finite, op.All(fin.SubScope("All"), op.IsFinite(fin.SubScope("IsFinite"), flat), b.i32(fin.SubScope("axis"), 0)))
		g.finiteNames = append(g.finiteNames, v.spec.Name)
	}
	g.finite = op.Pack(fin.SubScope("Pack"), finite)

	// Test step (evaluation of the probe on float32 inputs already scaled to [0, 1]).
	es := root.SubScope("test")
	g.testX = op.Placeholder(es.SubScope("x"), tf.Float, op.PlaceholderShape(img))
	g.testY = op.Placeholder(es.SubScope("y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
	tf_ := b.encoder(es.SubScope("encoder"), g.testX, encW)
	tl := op.BiasAdd(es.SubScope("BiasAdd"), op.MatMul(es.SubScope("MatMul"), tf_, probe[0].read), probe[1].read)
	tLoss := b.softmaxXent(es.SubScope("loss"), tl, g.testY, cfg.NumClasses)
	correct := op.Sum(es.SubScope("Sum"), op.Cast(es.SubScope("Cast"), op.Equal(es.SubScope("Equal"), op.ArgMax(es.SubScope("ArgMax"), tl, b.i32(es.SubScope("a"), 1)), g.testY), tf.Float), b.i32(es.SubScope("s"), 0))
	g.testFetch = []tf.Output{tLoss, correct}

	// Forward pass.
	fs := root.SubScope("forward")
	g.fwdX = op.Placeholder(fs.SubScope("x"), tf.Float, op.PlaceholderShape(img))
	ff := b.encoder(fs.SubScope("encoder"), g.fwdX, encW)
	fp, _ := b.mlp(fs.SubScope("head"), ff, headW, [2]bool{cfg.HeadBN, cfg.HeadBN}, reads(stats))
	fl := op.BiasAdd(fs.SubScope("BiasAdd"), op.MatMul(fs.SubScope("MatMul"), ff, probe[0].read), probe[1].read)
	g.fwdFetch = []tf.Output{ff, fp, fl}

	// Checkpoints: SaveV2 / RestoreV2 of every variable under its name.
	ks := root.SubScope("checkpoint")
	names := make([]string, len(g.vars))
	empty := make([]string, len(g.vars))
	dtypes := make([]tf.DataType, len(g.vars))
	for i, v := range g.vars {
		names[i], dtypes[i] = v.spec.Name, v.dtype
	}
	g.saveDir = op.Placeholder(ks.SubScope("prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
	g.saveNames = op.Const(ks.SubScope("names"), names)
	g.slices = op.Const(ks.SubScope("slices"), empty)
	g.saveOp = op.SaveV2(ks.SubScope("SaveV2"), g.saveDir, g.saveNames, g.slices, reads(g.vars))
	g.restorePrefix = op.Placeholder(ks.SubScope("restore_prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
	g.restoreFetch = op.RestoreV2(ks.SubScope("RestoreV2"), g.restorePrefix, g.saveNames, g.slices, dtypes)

	if cfg.Parallel != nil {
		g.sync = b.syncFromChief(root.SubScope("sync"), g.vars)
		g.stop = b.stopAgreement(root.SubScope("stop"))
	}

	graph, err := root.Finalize()
	if err != nil {
		return nil, fmt.Errorf("tfgraph: building the graph: %w", err)
	}
	g.graph = graph
	return g, nil
}
