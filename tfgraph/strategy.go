package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// strategy is how the step builders see the other workers of a data-parallel run. The builders
// call it wherever the global batch matters; local, the one-process strategy, is the identity.
type strategy interface {
	// global returns the global batch of x ([n, dim], this worker's rows) in the global order
	// twice: live, whose rows of this worker are x itself (so gradients reach them and only
	// them), and constant.
	global(s *op.Scope, x tf.Output, dim, key int) (live, constant tf.Output)
	// sum adds each of xs over the workers.
	sum(s *op.Scope, xs []tf.Output, key int) []tf.Output
	// labelled is the global batch's number of labelled rows, float32, given this worker's
	// labels y.
	labelled(s *op.Scope, y tf.Output) tf.Output
	// batchNorms is the synchronisation of one train step's training-mode batch norms over the
	// workers; one process's normalise over its batch with the same backward pass by hand.
	batchNorms() *syncBN
	// clusterOps builds the ops a cluster needs besides the step (start-up check, taking the
	// chief's variables, the agreement on stopping) into g.
	clusterOps(s *op.Scope, g *nnclrGraph)
}

func strategyOf(c ModelConfig) strategy {
	if c.Parallel != nil {
		return dataParallel{c.Parallel}
	}
	return local{}
}

// local is the single-process strategy.
type local struct{}

func (local) global(_ *op.Scope, x tf.Output, _, _ int) (tf.Output, tf.Output) { return x, x }
func (local) sum(_ *op.Scope, xs []tf.Output, _ int) []tf.Output               { return xs }
func (local) labelled(s *op.Scope, y tf.Output) tf.Output {
	return op.Cast(s.SubScope("Cast"), dim0(s, y), tf.Float)
}
func (local) batchNorms() *syncBN               { return &syncBN{p: oneWorker{}} }
func (local) clusterOps(*op.Scope, *nnclrGraph) {}
