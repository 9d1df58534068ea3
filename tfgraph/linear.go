package tfgraph

import (
	"errors"
	"fmt"
	"math/rand/v2"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// LinearConfig configures a linear classifier trained on fixed features (linear evaluation).
type LinearConfig struct {
	Epochs       int     // passes over the training features (100)
	BatchSize    int     // minibatch size (256)
	LearningRate float64 // Adam learning rate (1e-3; β1 0.9, β2 0.999, ε 1e-7 as Keras)
	Seed         uint64  // initialisation and minibatch order
}

// DefaultLinearConfig returns 100 epochs of Adam at 1e-3 in batches of 256.
func DefaultLinearConfig() LinearConfig {
	return LinearConfig{Epochs: 100, BatchSize: 256, LearningRate: 1e-3}
}

// LinearClassifier is a softmax regression on fixed features, trained and evaluated in a
// libtensorflow session. Close releases it.
type LinearClassifier struct {
	d, k  int
	sess  *Session
	x, y  tf.Output
	loss  tf.Output
	train *tf.Operation
	logit tf.Output
	w, b  *variable
}

// Close releases the session; it is safe to call more than once.
func (l *LinearClassifier) Close() error { return l.sess.Close() }

// TrainLinear trains a linear classifier on n feature vectors of dimension d (row-major) with
// labels in [0, k): Keras-default initialisation (glorot-uniform kernel, zero bias), softmax
// cross-entropy, Adam, minibatches in an order drawn from cfg.Seed.
func TrainLinear(features []float32, labels []int64, d, k int, cfg LinearConfig, sc SessionConfig) (*LinearClassifier, error) {
	n := len(labels)
	switch {
	case d <= 0 || k < 2:
		return nil, fmt.Errorf("tfgraph: linear classifier: dimension %d and %d classes: want d > 0, k >= 2", d, k)
	case n == 0:
		return nil, errors.New("tfgraph: linear classifier: no training examples")
	case len(features) != n*d:
		return nil, fmt.Errorf("tfgraph: linear classifier: %d feature values for %d examples of dimension %d", len(features), n, d)
	case cfg.Epochs <= 0 || cfg.BatchSize <= 0 || !(cfg.LearningRate > 0):
		return nil, fmt.Errorf("tfgraph: linear classifier: epochs %d, batch %d, learning rate %v: want positive", cfg.Epochs, cfg.BatchSize, cfg.LearningRate)
	}
	for i, y := range labels {
		if y < 0 || y >= int64(k) {
			return nil, fmt.Errorf("tfgraph: linear classifier: label %d of example %d outside [0, %d)", y, i, k)
		}
	}
	root := op.NewScope()
	b := &gb{s: root, cfg: ModelConfig{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, LearningRate: cfg.LearningRate},
		g: &nnclrGraph{byNam: map[string]*variable{}}}
	l := &LinearClassifier{d: d, k: k}
	l.w = b.newVar(VarSpec{"linear/kernel", []int64{int64(d), int64(k)}}, tf.Float)
	l.b = b.newVar(VarSpec{"linear/bias", []int64{int64(k)}}, tf.Float)
	m := []*variable{b.newVar(VarSpec{"adam/linear/kernel/m", l.w.spec.Shape}, tf.Float), b.newVar(VarSpec{"adam/linear/bias/m", l.b.spec.Shape}, tf.Float)}
	v := []*variable{b.newVar(VarSpec{"adam/linear/kernel/v", l.w.spec.Shape}, tf.Float), b.newVar(VarSpec{"adam/linear/bias/v", l.b.spec.Shape}, tf.Float)}
	iter := b.newVar(VarSpec{"adam/iterations", nil}, tf.Int64)
	l.x = op.Placeholder(root.SubScope("x"), tf.Float, op.PlaceholderShape(tf.MakeShape(-1, int64(d))))
	l.y = op.Placeholder(root.SubScope("y"), tf.Int64, op.PlaceholderShape(tf.MakeShape(-1)))
	l.logit = op.BiasAdd(root.SubScope("logits"), op.MatMul(root.SubScope("matmul"), l.x, l.w.read), l.b.read)
	l.loss = b.softmaxXent(root.SubScope("loss"), l.logit, l.y, k)
	grads := op.Gradients(root.SubScope("grad"), []tf.Output{l.loss}, []tf.Output{l.w.read, l.b.read})
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: linear classifier: %w", err)
	}
	l.train = b.adam(root.SubScope("adam"), []*variable{l.w, l.b}, grads, m, v, iter, []*tf.Operation{l.w.read.Op, l.b.read.Op})
	g, err := root.Finalize()
	if err != nil {
		return nil, fmt.Errorf("tfgraph: linear classifier: %w", err)
	}
	if l.sess, err = NewSession(g, sc); err != nil {
		return nil, err
	}
	mdl := &Model{g: b.g, sess: l.sess}
	vals := map[string]Array{}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x11ea7))
	for _, vr := range b.g.vars {
		a := Array{Shape: vr.spec.Shape}
		if vr.dtype == tf.Int64 {
			a.Int = []int64{0}
		} else {
			a.Float = make([]float32, a.size())
			if vr == l.w {
				glorotUniform(r, vr.spec.Shape, a.Float)
			}
		}
		vals[vr.spec.Name] = a
	}
	if err := mdl.SetWeights(vals); err != nil {
		l.Close()
		return nil, err
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	xb := make([]float32, 0, cfg.BatchSize*d)
	yb := make([]int64, 0, cfg.BatchSize)
	for e := 0; e < cfg.Epochs; e++ {
		r.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for s := 0; s < n; s += cfg.BatchSize {
			xb, yb = xb[:0], yb[:0]
			for _, i := range idx[s:min(s+cfg.BatchSize, n)] {
				xb = append(xb, features[i*d:(i+1)*d]...)
				yb = append(yb, labels[i])
			}
			xt, err := NewFloatTensor([]int64{int64(len(yb)), int64(d)}, func(dst []float32) error { copy(dst, xb); return nil })
			if err != nil {
				l.Close()
				return nil, err
			}
			yt, err := tf.NewTensor(append([]int64(nil), yb...))
			if err != nil {
				l.Close()
				return nil, err
			}
			if _, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: xt, l.y: yt}, nil, []*tf.Operation{l.train}); err != nil {
				l.Close()
				return nil, fmt.Errorf("tfgraph: linear classifier: epoch %d: %w", e+1, err)
			}
		}
	}
	return l, nil
}

// Logits returns the classifier's logits for n feature vectors (row-major [n, k]).
func (l *LinearClassifier) Logits(features []float32) ([]float32, error) {
	if len(features)%l.d != 0 {
		return nil, fmt.Errorf("tfgraph: linear classifier: %d feature values are not rows of dimension %d", len(features), l.d)
	}
	n := len(features) / l.d
	x, err := NewFloatTensor([]int64{int64(n), int64(l.d)}, func(dst []float32) error { copy(dst, features); return nil })
	if err != nil {
		return nil, err
	}
	out, err := l.sess.Run(map[tf.Output]*tf.Tensor{l.x: x}, []tf.Output{l.logit}, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: linear classifier: %w", err)
	}
	return Float32s(out[0])
}

// TopK returns the fraction of rows of logits ([n, k], row-major) whose label is among the k
// largest entries (ties broken by lower index).
func TopK(logits []float32, labels []int64, k int) float64 {
	n := len(labels)
	if n == 0 {
		return 0
	}
	c := len(logits) / n
	hit := 0
	for i, y := range labels {
		row := logits[i*c : (i+1)*c]
		rank := 0
		for j, v := range row {
			if v > row[y] || (v == row[y] && int64(j) < y) {
				rank++
			}
		}
		if rank < k {
			hit++
		}
	}
	return float64(hit) / float64(n)
}
