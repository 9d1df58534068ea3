package evaluate

import (
	"fmt"
	"math"

	"github.com/nnclr/nnclr/tfrun"
)

// LinearEvalConfig configures linear evaluation.
type LinearEvalConfig struct {
	// Train configures the classifier's training (DefaultLinearConfig: 100 epochs of Adam
	// at 1e-3 in batches of 256, seed 0).
	Train LinearConfig
	// Standardize shifts and scales every feature by the train split's mean and standard
	// deviation (population, ddof = 0; a constant feature is only shifted) before training, and
	// applies the same transform to the test split — what scikit-learn's StandardScaler does. It
	// makes Adam at a fixed learning rate insensitive to the features' scale (true).
	Standardize bool
}

// DefaultLinearEvalConfig returns DefaultLinearConfig with standardization.
func DefaultLinearEvalConfig() LinearEvalConfig {
	return LinearEvalConfig{Train: DefaultLinearConfig(), Standardize: true}
}

// Validate reports settings that cannot be used.
func (c LinearEvalConfig) Validate() error {
	t := c.Train
	if t.Epochs <= 0 || t.BatchSize <= 0 || !(t.LearningRate > 0) || math.IsInf(t.LearningRate, 0) {
		return fmt.Errorf("evaluate: linear: epochs %d, batch size %d, learning rate %v: want positive values: %w",
			t.Epochs, t.BatchSize, t.LearningRate, ErrConfig)
	}
	return nil
}

// Linear trains a softmax regression (TrainLinear: Keras-default initialisation, Adam,
// minibatch order from cfg.Train.Seed) on the train split, optionally standardized, and scores
// it on the test split: classes rank by descending logit, equal logits by ascending class index
// (as TopK). It needs at least two classes. The session it trains in is closed before it
// returns.
func Linear(train, test Split, classes int, cfg LinearEvalConfig, sc tfrun.SessionConfig) (Accuracy, error) {
	if err := validatePair(train, test, classes); err != nil {
		return Accuracy{}, err
	}
	if classes < 2 {
		return Accuracy{}, fmt.Errorf("evaluate: linear: %d classes: want at least 2: %w", classes, ErrConfig)
	}
	if err := cfg.Validate(); err != nil {
		return Accuracy{}, err
	}
	xTrain, xTest := train.Features, test.Features
	if cfg.Standardize {
		mean, scale := standardizer(xTrain, train.Dim)
		xTrain, xTest = standardize(xTrain, mean, scale), standardize(xTest, mean, scale)
	}
	lc, err := TrainLinear(xTrain, train.Labels, train.Dim, classes, cfg.Train, sc)
	if err != nil {
		return Accuracy{}, fmt.Errorf("evaluate: linear: %w", err)
	}
	defer lc.Close()
	logits, err := lc.Logits(xTest)
	if err != nil {
		return Accuracy{}, fmt.Errorf("evaluate: linear: %w", err)
	}
	if len(logits) != test.Len()*classes {
		return Accuracy{}, fmt.Errorf("evaluate: linear: %d logits for %d test examples and %d classes", len(logits), test.Len(), classes)
	}
	return rank(logits, test.Labels, classes), nil
}

// standardizer returns the per-feature mean and standard deviation (ddof = 0, in float64) of the
// rows of x; a zero deviation is replaced by 1, as StandardScaler does.
func standardizer(x []float32, d int) (mean, scale []float64) {
	n := len(x) / d
	mean, scale = make([]float64, d), make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			mean[j] += float64(v)
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j, v := range x[i*d : (i+1)*d] {
			dv := float64(v) - mean[j]
			scale[j] += dv * dv
		}
	}
	for j := range scale {
		scale[j] = math.Sqrt(scale[j] / float64(n))
		if scale[j] == 0 {
			scale[j] = 1
		}
	}
	return mean, scale
}

// standardize returns (x - mean) / scale row by row, as a new slice.
func standardize(x []float32, mean, scale []float64) []float32 {
	d := len(mean)
	out := make([]float32, len(x))
	for i, v := range x {
		j := i % d
		out[i] = float32((float64(v) - mean[j]) / scale[j])
	}
	return out
}
