package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// Collective instance keys of the data-parallel step: one per collective op of the graph,
// the same on every worker.
const (
	keyP1 = iota + 1
	keyP2
	keyF1
	keyF2
	keyContrastiveGrads
	keyProbe
	keyCheck
	keySyncFloat
	keySyncInt
	keyStop
	keyQ1 // the prediction head's rows (ModelConfig.PredHidden)
	keyQ2
	keyTotals // Model.SumOverWorkers (the sharded validation's sums)
)

const groupKey = 1

// dataParallel is the strategy of one worker of a data-parallel run: collectives over the
// workers' graphs make its step the single-process step of the global batch.
type dataParallel struct{ d *DataParallel }

// collectiveArgs returns the group size, group key and instance key tensors of a collective.
func (p dataParallel) collectiveArgs(s *op.Scope, key int) (size, group, instance tf.Output) {
	return i32(s.SubScope("group_size"), int32(p.d.Workers)), i32(s.SubScope("group_key"), groupKey), i32(s.SubScope("instance_key"), int32(key))
}

func (p dataParallel) timeoutSeconds() float32 { return float32(p.d.timeout().Seconds()) }

func (p dataParallel) labelled(s *op.Scope, _ tf.Output) tf.Output {
	return f32(s.SubScope("count"), float64(p.d.Workers*p.d.Labelled))
}

func (p dataParallel) batchNorms() *syncBN { return &syncBN{p: p} }
func (p dataParallel) workers() int        { return p.d.Workers }

func (p dataParallel) clusterOps(s *op.Scope, g *nnclrGraph) {
	g.check = p.clusterCheck(s.SubScope("cluster_check"))
	g.sync = p.syncFromChief(s.SubScope("sync"), g.vars, g.cfg.floatType())
	g.stop = p.stopAgreement(s.SubScope("stop"))
	g.totals = p.totals(s.SubScope("totals"))
}

// globalOrder returns, for each row of the global batch (every worker's unlabelled rows in
// worker order, then every worker's labelled rows), its row in a gather's task order (worker 0's
// unlabelled then labelled rows, then worker 1's, ...).
func (d *DataParallel) globalOrder() []int32 {
	n := d.Unlabelled + d.Labelled
	var idx []int32
	for w := 0; w < d.Workers; w++ {
		for j := 0; j < d.Unlabelled; j++ {
			idx = append(idx, int32(w*n+j))
		}
	}
	for w := 0; w < d.Workers; w++ {
		for j := 0; j < d.Labelled; j++ {
			idx = append(idx, int32(w*n+d.Unlabelled+j))
		}
	}
	return idx
}

func rangeIdx(lo, hi int) []int32 {
	out := make([]int32, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, int32(i))
	}
	return out
}

// gatherRows gathers every worker's x ([n, dim]) in task order, as a constant (no gradient),
// with its static shape [workers·n, dim].
func (p dataParallel) gatherRows(s *op.Scope, x tf.Output, dim, key int) tf.Output {
	d := p.d
	size, group, inst := p.collectiveArgs(s, key)
	g := op.CollectiveGatherV2(s.SubScope("CollectiveGatherV2"), x, size, group, inst, nil,
		op.CollectiveGatherV2TimeoutSeconds(p.timeoutSeconds()))
	g = op.Reshape(s.SubScope("Reshape"), g, i32(s.SubScope("shape"), int32(d.Workers*(d.Unlabelled+d.Labelled)), int32(dim)))
	return op.StopGradient(s.SubScope("StopGradient"), g)
}

func (p dataParallel) global(s *op.Scope, x tf.Output, dim, key int) (live, constant tf.Output) {
	d := p.d
	n := d.Unlabelled + d.Labelled
	g := p.gatherRows(s, x, dim, key)
	order := op.Const(s.SubScope("order"), d.globalOrder())
	axis := i32(s.SubScope("axis"), 0)
	constant = op.GatherV2(s.SubScope("global"), g, order, axis)
	var pieces []tf.Output
	if d.Task > 0 {
		pieces = append(pieces, op.GatherV2(s.SubScope("before"), g, op.Const(s.SubScope("before_idx"), rangeIdx(0, d.Task*n)), axis))
	}
	pieces = append(pieces, x)
	if d.Task < d.Workers-1 {
		pieces = append(pieces, op.GatherV2(s.SubScope("after"), g, op.Const(s.SubScope("after_idx"), rangeIdx((d.Task+1)*n, d.Workers*n)), axis))
	}
	taskOrder := x
	if len(pieces) > 1 {
		taskOrder = op.ConcatV2(s.SubScope("ConcatV2"), pieces, i32(s.SubScope("caxis"), 0))
	}
	live = op.GatherV2(s.SubScope("live"), taskOrder, order, axis)
	return live, constant
}

// allReduce adds x across the workers (the same tensor on every worker after).
func (p dataParallel) allReduce(s *op.Scope, x tf.Output, key int) tf.Output {
	size, group, inst := p.collectiveArgs(s, key)
	return op.CollectiveReduceV2(s.SubScope("CollectiveReduceV2"), x, size, group, inst, nil, "Add", "Id",
		op.CollectiveReduceV2TimeoutSeconds(p.timeoutSeconds()))
}

// sum adds xs across the workers with one collective on their packed values and returns the
// sums in xs's shapes.
func (p dataParallel) sum(s *op.Scope, xs []tf.Output, key int) []tf.Output {
	flat := make([]tf.Output, len(xs))
	sizes := make([]tf.Output, len(xs))
	for i, x := range xs {
		flat[i] = op.Reshape(s.SubScope("flatten"), x, op.Const(s.SubScope("flat"), []int32{-1}))
		sizes[i] = op.Size(s.SubScope("Size"), x, op.SizeOutType(tf.Int32))
	}
	packed := op.ConcatV2(s.SubScope("pack"), flat, i32(s.SubScope("axis"), 0))
	sum := p.allReduce(s, packed, key)
	parts := op.SplitV(s.SubScope("unpack"), sum, op.Pack(s.SubScope("sizes"), sizes), i32(s.SubScope("saxis"), 0), int64(len(xs)))
	out := make([]tf.Output, len(xs))
	for i, x := range xs {
		out[i] = op.Reshape(s.SubScope("reshape"), parts[i], op.Shape(s.SubScope("shape"), x, op.ShapeOutType(tf.Int32)))
	}
	return out
}
