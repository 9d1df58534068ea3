package tfgraph

import (
	"fmt"
	"math/rand/v2"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// LinearModel is the graph of a softmax regression, logits = x·W + b, with one training step:
// Keras's Adam (β1 0.9, β2 0.999, ε 1e-7) on the batch's mean softmax cross-entropy. It runs in a
// libtensorflow session of its own. Package evaluate's linear classifier trains it (the protocol:
// epochs, minibatches, standardization, scoring lives there). A LinearModel is not safe for
// concurrent use; Close releases it and is safe to call more than once.
type LinearModel struct {
	d, k  int
	sess  *Session
	x, y  tf.Output
	logit tf.Output
	train *tf.Operation
}

// NewLinearModel builds the model for d features and k classes, initialised as Keras does
// (glorot-uniform kernel drawn from r, zero bias, zero Adam slots).
func NewLinearModel(d, k int, learningRate float64, r *rand.Rand, sc SessionConfig) (_ *LinearModel, err error) {
	if d <= 0 || k < 2 || !(learningRate > 0) {
		return nil, fmt.Errorf("tfgraph: linear model: dimension %d, %d classes, learning rate %v: want d > 0, k >= 2, a rate > 0", d, k, learningRate)
	}
	root := op.NewScope()
	defer func() {
		if rec := recover(); rec != nil {
			if serr := root.Err(); serr != nil {
				rec = serr
			}
			err = fmt.Errorf("tfgraph: linear model: %v", rec)
		}
	}()
	b := &gb{s: root, cfg: ModelConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, LearningRate: learningRate},
		g: &nnclrGraph{byNam: map[string]*variable{}}}
	l := &LinearModel{d: d, k: k}
	w := b.newVar(VarSpec{"linear/kernel", []int64{int64(d), int64(k)}}, tf.Float)
	bias := b.newVar(VarSpec{"linear/bias", []int64{int64(k)}}, tf.Float)
	m := []*variable{b.newVar(VarSpec{"adam/linear/kernel/m", w.spec.Shape}, tf.Float), b.newVar(VarSpec{"adam/linear/bias/m", bias.spec.Shape}, tf.Float)}
	v := []*variable{b.newVar(VarSpec{"adam/linear/kernel/v", w.spec.Shape}, tf.Float), b.newVar(VarSpec{"adam/linear/bias/v", bias.spec.Shape}, tf.Float)}
	iter := b.newVar(VarSpec{"adam/iterations", nil}, tf.Int64)
	l.x = op.Placeholder(root.SubScope("x"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(d))))
	l.y = op.Placeholder(root.SubScope("y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
	l.logit = op.BiasAdd(root.SubScope("logits"), op.MatMul(root.SubScope("matmul"), l.x, w.read), bias.read)
	loss := b.softmaxXent(root.SubScope("loss"), l.logit, l.y, k)
	grads := op.Gradients(root.SubScope("grad"), []tf.Output{loss}, []tf.Output{w.read, bias.read})
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: linear model: %w", err)
	}
	l.train = b.adam(root.SubScope("adam"), []*variable{w, bias}, grads, m, v, iter, []*tf.Operation{w.read.Op, bias.read.Op})
	g, err := root.Finalize()
	if err != nil {
		return nil, fmt.Errorf("tfgraph: linear model: %w", err)
	}
	if l.sess, err = NewSession(g, sc); err != nil {
		return nil, err
	}
	vals := map[string]Array{}
	for _, vr := range b.g.vars {
		a := Array{Shape: vr.spec.Shape}
		if vr.dtype == tf.Int64 {
			a.Int = []int64{0}
		} else {
			a.Float = make([]float32, a.size())
			if vr == w {
				glorotUniform(r, vr.spec.Shape, a.Float)
			}
		}
		vals[vr.spec.Name] = a
	}
	if err := (&Model{g: b.g, sess: l.sess}).SetWeights(vals); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// Close releases the session; it is safe to call more than once.
func (l *LinearModel) Close() error { return l.sess.Close() }

// Step runs one Adam update on the rows of x ([n, d], row-major) with labels y in [0, k).
func (l *LinearModel) Step(x []float32, y []int64) error {
	if len(x) != len(y)*l.d {
		return fmt.Errorf("tfgraph: linear model: %d feature values for %d labels of dimension %d", len(x), len(y), l.d)
	}
	xt, err := NewFloatTensor([]int64{int64(len(y)), int64(l.d)}, func(dst []float32) error { copy(dst, x); return nil })
	if err != nil {
		return err
	}
	yt, err := NewInt64Tensor(y)
	if err != nil {
		return err
	}
	if _, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: xt, l.y: yt}, nil, []*tf.Operation{l.train}); err != nil {
		return fmt.Errorf("tfgraph: linear model: %w", err)
	}
	return nil
}

// Logits returns the logits of the rows of x (row-major [n, k]).
func (l *LinearModel) Logits(x []float32) ([]float32, error) {
	if len(x)%l.d != 0 {
		return nil, fmt.Errorf("tfgraph: linear model: %d feature values are not rows of dimension %d", len(x), l.d)
	}
	xt, err := NewFloatTensor([]int64{int64(len(x) / l.d), int64(l.d)}, func(dst []float32) error { copy(dst, x); return nil })
	if err != nil {
		return nil, err
	}
	out, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: xt}, []tf.Output{l.logit}, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: linear model: %w", err)
	}
	return Float32s(out[0])
}
