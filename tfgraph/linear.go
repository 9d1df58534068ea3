package tfgraph

import (
	"fmt"
	"math/rand/v2"

	"github.com/nnclr/nnclr/tfrun"
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
	sess  *tfrun.Session
	x, y  tf.Output
	logit tf.Output
	train *tf.Operation
}

// NewLinearModel builds the model for d features and k classes, initialised as Keras does
// (glorot-uniform kernel drawn from r, zero bias, zero Adam slots).
func NewLinearModel(d, k int, learningRate float64, r *rand.Rand, sc tfrun.SessionConfig) (*LinearModel, error) {
	if d <= 0 || k < 2 || !(learningRate > 0) {
		return nil, fmt.Errorf("tfgraph: linear model: dimension %d, %d classes, learning rate %v: want d > 0, k >= 2, a rate > 0", d, k, learningRate)
	}
	root := op.NewScope()
	b := newBuilder(root, ModelConfig{})
	l := &LinearModel{d: d, k: k}
	var w *variable
	g, err := finalize(root, "linear model", func() error {
		w = b.newVar(VarSpec{"linear/kernel", []int64{int64(d), int64(k)}}, tf.Float)
		bias := b.newVar(VarSpec{"linear/bias", []int64{int64(k)}}, tf.Float)
		opt := b.newOptimizer("adam", []*variable{w, bias}, adamSettings{lr: learningRate, beta1: 0.9, beta2: 0.999, eps: 1e-7})
		opt.iter = b.newVar(VarSpec{"adam/iterations", nil}, tf.Int64)
		l.x = op.Placeholder(root.SubScope("x"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(d))))
		l.y = op.Placeholder(root.SubScope("y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
		l.logit = dense(root.SubScope("logits"), l.x, w.read, bias.read)
		loss := meanAxis0(root.SubScope("loss"), xentRows(root.SubScope("loss"), l.logit, l.y, i32(root.SubScope("depth"), int32(k))))
		grads := op.Gradients(root.SubScope("grad"), []tf.Output{loss}, []tf.Output{w.read, bias.read})
		if err := root.Err(); err != nil {
			return err
		}
		l.train = opt.apply(root.SubScope("adam"), grads, []*tf.Operation{w.read.Op, bias.read.Op})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if l.sess, err = tfrun.NewSession(g, sc); err != nil {
		return nil, err
	}
	vals := map[string]tfrun.Array{}
	for _, vr := range b.vars {
		a := tfrun.Array{Shape: vr.spec.Shape}
		if vr.dtype == tf.Int64 {
			a.Int = []int64{0}
		} else {
			a.Float = make([]float32, a.Size())
			if vr == w {
				glorotUniform(r, vr.spec.Shape, a.Float)
			}
		}
		vals[vr.spec.Name] = a
	}
	if err := setWeights(l.sess, b.byName, vals); err != nil {
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
	xt, err := tfrun.NewFloatTensor([]int64{int64(len(y)), int64(l.d)}, func(dst []float32) error { copy(dst, x); return nil })
	if err != nil {
		return err
	}
	defer tfrun.Close(xt)
	yt, err := tfrun.NewInt64Tensor(y)
	if err != nil {
		return err
	}
	defer tfrun.Close(yt)
	out, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: xt, l.y: yt}, nil, []*tf.Operation{l.train})
	if err != nil {
		return fmt.Errorf("tfgraph: linear model: %w", err)
	}
	return tfrun.Close(out...)
}

// Logits returns the logits of the rows of x (row-major [n, k]).
func (l *LinearModel) Logits(x []float32) ([]float32, error) {
	if len(x)%l.d != 0 {
		return nil, fmt.Errorf("tfgraph: linear model: %d feature values are not rows of dimension %d", len(x), l.d)
	}
	xt, err := tfrun.NewFloatTensor([]int64{int64(len(x) / l.d), int64(l.d)}, func(dst []float32) error { copy(dst, x); return nil })
	if err != nil {
		return nil, err
	}
	defer tfrun.Close(xt)
	out, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: xt}, []tf.Output{l.logit}, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: linear model: %w", err)
	}
	defer tfrun.Close(out...)
	return tfrun.Float32s(out[0])
}
