package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// contrastiveMetrics are the example's metrics on the encoder features of the two views:
// contrastive accuracy (row-wise argmax of normalised f1·f2ᵀ and its transpose on the diagonal)
// and correlation accuracy (the same on the cross-correlation of the per-feature standardised
// features).
func contrastiveMetrics(s *op.Scope, f1, f2 tf.Output) (cAcc, rAcc tf.Output) {
	cAcc = diagonalAccuracy(s.SubScope("c_acc"), op.MatMul(s.SubScope("MatMul"), l2normalize(s.SubScope("n1"), f1), l2normalize(s.SubScope("n2"), f2), op.MatMulTransposeB(true)))
	s1, s2 := standardize(s.SubScope("z1"), f1), standardize(s.SubScope("z2"), f2)
	bf := op.Cast(s.SubScope("Cast"), dim0(s.SubScope("batch"), f1), f1.DataType())
	corr := op.RealDiv(s.SubScope("RealDiv"), op.MatMul(s.SubScope("MatMul"), s1, s2, op.MatMulTransposeA(true)), bf)
	return cAcc, diagonalAccuracy(s.SubScope("r_acc"), corr)
}

// diagonalAccuracy is the fraction of rows of the [2n, n] matrix concat(m, mᵀ) whose argmax is
// the row's index modulo n (SparseCategoricalAccuracy with the diagonal as labels).
func diagonalAccuracy(s *op.Scope, m tf.Output) tf.Output {
	rows := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{m, op.Transpose(s.SubScope("Transpose"), m, i32(s.SubScope("perm"), 1, 0))}, i32(s.SubScope("axis"), 0))
	n := dim0(s.SubScope("n"), m)
	r := op.Cast(s.SubScope("Cast"), op.Range(s.SubScope("Range"), i32(s.SubScope("zero"), 0), n, i32(s.SubScope("one"), 1)), tf.Int64)
	labels := op.ConcatV2(s.SubScope("ConcatV2"), []tf.Output{r, r}, i32(s.SubScope("laxis"), 0))
	pred := op.ArgMax(s.SubScope("ArgMax"), rows, i32(s.SubScope("amax"), 1))
	return meanAxis0(s, op.Cast(s.SubScope("Cast"), op.Equal(s.SubScope("Equal"), pred, labels), m.DataType()))
}

// standardize is (f − mean) / std over the batch, per feature (population std).
func standardize(s *op.Scope, f tf.Output) tf.Output {
	ax := i32(s.SubScope("axis"), 0)
	mean := op.Mean(s.SubScope("Mean"), f, ax, op.MeanKeepDims(true))
	dev := op.Sub(s.SubScope("Sub"), f, mean)
	std := op.Sqrt(s.SubScope("Sqrt"), op.Mean(s.SubScope("Mean"), op.Square(s.SubScope("Square"), op.Abs(s.SubScope("Abs"), dev)), ax, op.MeanKeepDims(true)))
	return op.RealDiv(s.SubScope("RealDiv"), dev, std)
}
