package evaluate

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// LinearConfig configures a linear classifier trained on fixed features.
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

// LinearClassifier is a softmax regression trained on fixed features (tfgraph.LinearModel).
// Close releases its session; it is safe to call more than once.
type LinearClassifier struct {
	m *tfgraph.LinearModel
}

// Close releases the classifier's session.
func (l *LinearClassifier) Close() error { return l.m.Close() }

// Logits returns the classifier's logits for n feature vectors (row-major [n, k]).
func (l *LinearClassifier) Logits(features []float32) ([]float32, error) { return l.m.Logits(features) }

// TrainLinear trains a linear classifier on n feature vectors of dimension d (row-major) with
// labels in [0, k): Keras-default initialisation (glorot-uniform kernel, zero bias), softmax
// cross-entropy, Adam, every epoch a pass over the examples in minibatches of a new order; the
// kernel and then every epoch's order are drawn from one generator seeded by cfg.Seed.
func TrainLinear(features []float32, labels []int64, d, k int, cfg LinearConfig, sc tfrun.SessionConfig) (*LinearClassifier, error) {
	n := len(labels)
	switch {
	case d <= 0 || k < 2:
		return nil, fmt.Errorf("evaluate: linear classifier: dimension %d and %d classes: want d > 0, k >= 2", d, k)
	case n == 0:
		return nil, errors.New("evaluate: linear classifier: no training examples")
	case len(features) != n*d:
		return nil, fmt.Errorf("evaluate: linear classifier: %d feature values for %d examples of dimension %d", len(features), n, d)
	case cfg.Epochs <= 0 || cfg.BatchSize <= 0 || !(cfg.LearningRate > 0):
		return nil, fmt.Errorf("evaluate: linear classifier: epochs %d, batch %d, learning rate %v: want positive", cfg.Epochs, cfg.BatchSize, cfg.LearningRate)
	}
	for i, y := range labels {
		if y < 0 || y >= int64(k) {
			return nil, fmt.Errorf("evaluate: linear classifier: label %d of example %d outside [0, %d)", y, i, k)
		}
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 0x11ea7))
	m, err := tfgraph.NewLinearModel(d, k, cfg.LearningRate, r, sc)
	if err != nil {
		return nil, fmt.Errorf("evaluate: linear classifier: %w", err)
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
			if err := m.Step(xb, yb); err != nil {
				m.Close()
				return nil, fmt.Errorf("evaluate: linear classifier: epoch %d: %w", e+1, err)
			}
		}
	}
	return &LinearClassifier{m: m}, nil
}

// TopK returns the fraction of rows of scores ([n, classes], row-major) whose label is among the
// k best: classes rank by descending score, equal scores by ascending class index (as Accuracy's
// LabelRanks).
func TopK(scores []float32, labels []int64, k int) float64 {
	n := len(labels)
	if n == 0 || len(scores)%n != 0 {
		return 0
	}
	a := rank(scores, labels, len(scores)/n)
	hit := 0
	for _, r := range a.LabelRanks {
		if r < k {
			hit++
		}
	}
	return float64(hit) / float64(n)
}
