package tfgraph

import (
	"slices"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// nnclrGraph holds the endpoints of the model's graph.
type nnclrGraph struct {
	cfg    ModelConfig
	graph  *tf.Graph
	vars   []*variable // in checkpoint order (newModelVars)
	byName map[string]*variable

	// train step
	views, probeX, probeY tf.Output   // views: view 1 of the batch, then view 2 (probe: no Op without a probe)
	supportPick           tf.Output   // [2, B] int32 with SupportTopK > 1 (else no Op)
	trainFetch            []tf.Output // c_loss, c_acc, r_acc, then with a probe p_loss, p_acc
	trainOp               *tf.Operation
	finite                tf.Output // bool per trained weight, after the step's updates
	finiteNames           []string  // the weights of finite, in order
	// test step and forward pass
	testX, testY tf.Output
	testFetch    []tf.Output // loss, correct count (none without a probe)
	fwdX         tf.Output
	fwdFetch     []tf.Output // features, projections, then with a probe logits
	lr           tf.Output   // the contrastive optimizer's scheduled rate now (no Op when constant)
	ckpt         checkpointOps
	check        checkFetch // data-parallel start-up check
	sync         syncOps    // data-parallel broadcast of the chief's variables
	stop         stopFetch  // data-parallel agreement on stopping

	totals totalsFetch // data-parallel sums of float64 vectors (SumOverWorkers)
}

// metric names in the order of trainFetch.
var trainMetricNames = []string{"c_loss", "c_acc", "r_acc", "p_loss", "p_acc"}

// buildGraph builds the whole NNCLR graph for cfg: the variables, the train step (contrastive
// then probe), the test step, the forward pass, the checkpoint ops and, in a data-parallel run,
// the cluster's ops.
func buildGraph(cfg ModelConfig) (*nnclrGraph, error) {
	root := op.NewScope()
	b := newBuilder(root, cfg)
	g := &nnclrGraph{cfg: cfg}
	graph, err := finalize(root, "building the graph", func() error {
		v := b.newModelVars()
		g.vars, g.byName = b.vars, b.byName
		st := strategyOf(cfg)
		if err := b.trainStep(root.SubScope("train"), st, v, g); err != nil {
			return err
		}
		img := imageShape(cfg)
		if cfg.HasProbe() {
			es := root.SubScope("test")
			g.testX = op.Placeholder(es.SubScope("x"), tf.Float, op.PlaceholderShape(img))
			g.testY = op.Placeholder(es.SubScope("y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
			g.testFetch = b.testStep(es, v, g.testX, g.testY)
		}
		fs := root.SubScope("forward")
		g.fwdX = op.Placeholder(fs.SubScope("x"), tf.Float, op.PlaceholderShape(img))
		g.fwdFetch = b.forward(fs, v, g.fwdX)
		if v.contrastive.recipe.total > 0 {
			ls := root.SubScope("learning_rate")
			g.lr = v.contrastive.learningRate(ls, ls)
		}
		g.ckpt = newCheckpointOps(root.SubScope("checkpoint"), g.vars)
		st.clusterOps(root, g)
		if cfg.testFloat64 {
			bs := root.SubScope("boundary")
			g.trainFetch, g.testFetch, g.fwdFetch = toFloat32(bs, g.trainFetch), toFloat32(bs, g.testFetch), toFloat32(bs, g.fwdFetch)
			if g.lr.Op != nil {
				g.lr = castTo(bs, g.lr, tf.Float)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	g.graph = graph
	return g, nil
}

// imageShape is the shape of a batch of the model's input images.
func imageShape(cfg ModelConfig) tf.Shape {
	return tf.MakeShape(-1, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels))
}

// trainStep builds the train step into g: its placeholders, the contrastive step, then the probe
// step on the encoder the contrastive update left, the step counter, and the finiteness check.
// A model without a probe has the contrastive step alone (no probe placeholders).
func (b *builder) trainStep(ts *op.Scope, st strategy, v *modelVars, g *nnclrGraph) error {
	img := imageShape(b.cfg)
	g.views = op.Placeholder(ts.SubScope("views"), tf.Float, op.PlaceholderShape(img))
	if b.cfg.HasProbe() {
		g.probeX = op.Placeholder(ts.SubScope("probe_x"), tf.Float, op.PlaceholderShape(img))
		g.probeY = op.Placeholder(ts.SubScope("probe_y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
	}
	if b.cfg.topK() > 1 {
		g.supportPick = op.Placeholder(ts.SubScope("support_pick"), tf.Int32, op.PlaceholderShape(tf.MakeShape(2, -1)))
	}
	c, err := b.contrastive(ts.SubScope("contrastive"), st, v, g.views, g.supportPick)
	if err != nil {
		return err
	}
	g.trainFetch = []tf.Output{c.loss, c.cAcc, c.rAcc}
	var probeDone []*tf.Operation // the probe's update (none without a probe)
	if b.cfg.HasProbe() {
		p, err := b.probe(ts.SubScope("probe"), st, v, g.probeX, g.probeY, c.updates[:2], c.encStats)
		if err != nil {
			return err
		}
		g.trainFetch = append(g.trainFetch, p.loss, p.acc)
		probeDone = []*tf.Operation{p.done}
	}
	adamDone := append([]*tf.Operation{c.updates[0]}, probeDone...)
	stepInc := op.AssignAddVariableOp(ts.SubScope("step").WithControlDependencies(append(slices.Clip(adamDone), c.updates[1])...), v.step.handle, op.Const(ts.SubScope("one64"), int64(1)))
	g.trainOp = op.NoOp(ts.WithControlDependencies(append(append(probeDone, stepInc), c.updates...)...).SubScope("done"))
	g.finite, g.finiteNames = finiteCheck(ts.SubScope("finite").WithControlDependencies(adamDone...), append(v.contrastiveVars(), v.probe...))
	return nil
}

// finiteCheck is whether each of vars is finite (read after the scope's dependencies). A NaN
// does not always reach the losses: a ReLU fused into its convolution or matmul (as Grappler
// fuses them, also in Keras's graph) maps NaN to 0, so a NaN encoder weight can leave the loss
// finite.
func finiteCheck(s *op.Scope, vars []*variable) (tf.Output, []string) {
	var finite []tf.Output
	var names []string
	for _, v := range vars {
		flat := op.Reshape(s.SubScope("Reshape"), op.ReadVariableOp(s.SubScope("read"), v.handle, v.dtype), op.Const(s.SubScope("shape"), []int32{-1}))
		finite = append(finite, op.All(s.SubScope("All"), op.IsFinite(s.SubScope("IsFinite"), flat), i32(s.SubScope("axis"), 0)))
		names = append(names, v.spec.Name)
	}
	return op.Pack(s.SubScope("Pack"), finite), names
}
