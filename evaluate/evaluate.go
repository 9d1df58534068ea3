package evaluate

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/nnclr/nnclr/tfrun"
)

// Sentinel errors; the errors returned by this package wrap one of them (use errors.Is).
var (
	// ErrShape reports features whose dimension or count does not match (train against test,
	// features against labels).
	ErrShape = errors.New("shape mismatch")
	// ErrEmpty reports a split without examples.
	ErrEmpty = errors.New("empty split")
	// ErrLabel reports a label outside [0, classes).
	ErrLabel = errors.New("label out of range")
	// ErrNonFinite reports a NaN or infinite feature value.
	ErrNonFinite = errors.New("non-finite feature")
	// ErrConfig reports a setting that cannot be used (k < 1 or k above the train count, a
	// temperature that is not positive, fewer than two classes for linear evaluation, …).
	ErrConfig = errors.New("invalid setting")
)

// Split is one set of examples: Features holds len(Labels) rows of Dim float32 values
// (row-major), Labels the class of each row in [0, classes).
type Split struct {
	Features []float32
	Labels   []int64
	Dim      int
}

// Len returns the number of examples (labels) in the split.
func (s Split) Len() int { return len(s.Labels) }

// validate checks one split on its own; name ("train", "test") goes into the messages.
func (s Split) validate(name string, classes int) error {
	n := len(s.Labels)
	switch {
	case n == 0:
		return fmt.Errorf("evaluate: %s split has no examples: %w", name, ErrEmpty)
	case s.Dim <= 0:
		return fmt.Errorf("evaluate: %s split has feature dimension %d: %w", name, s.Dim, ErrShape)
	case len(s.Features) != n*s.Dim:
		return fmt.Errorf("evaluate: %s split has %d feature values for %d examples of dimension %d (want %d): %w",
			name, len(s.Features), n, s.Dim, n*s.Dim, ErrShape)
	}
	for i, y := range s.Labels {
		if y < 0 || y >= int64(classes) {
			return fmt.Errorf("evaluate: %s example %d: label %d outside [0, %d): %w", name, i, y, classes, ErrLabel)
		}
	}
	for i, v := range s.Features {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("evaluate: %s example %d: feature %d is %v: %w", name, i/s.Dim, i%s.Dim, v, ErrNonFinite)
		}
	}
	return nil
}

// validatePair checks both splits and that they agree on the feature dimension.
func validatePair(train, test Split, classes int) error {
	if classes < 1 {
		return fmt.Errorf("evaluate: %d classes: want at least 1: %w", classes, ErrConfig)
	}
	if train.Dim != test.Dim {
		return fmt.Errorf("evaluate: train features have dimension %d but test features have dimension %d: %w",
			train.Dim, test.Dim, ErrShape)
	}
	if err := train.validate("train", classes); err != nil {
		return err
	}
	return test.validate("test", classes)
}

// Accuracy is a classifier's score on the test split.
type Accuracy struct {
	// Top1 is the fraction of test examples whose label is the top-ranked class.
	Top1 float64
	// Top5 is the fraction whose label is among the five top-ranked classes; it is computed only
	// when there are more than five classes (HasTop5), and is 0 otherwise.
	Top5    float64
	HasTop5 bool
	// Predictions holds the top-ranked class of each test example.
	Predictions []int64
	// LabelRanks holds, for each test example, the number of classes ranked above its label
	// (0: correct at top-1; < 5: correct at top-5).
	LabelRanks []int
}

// rank scores rows of per-class scores (any numeric type, row-major [n, classes]): classes rank
// by descending score, equal scores by ascending class index. It fills the prediction, label
// rank and top-1/top-5 fields of an Accuracy.
func rank[T float32 | float64](scores []T, labels []int64, classes int) Accuracy {
	n := len(labels)
	a := Accuracy{Predictions: make([]int64, n), LabelRanks: make([]int, n), HasTop5: classes > 5}
	hit1, hit5 := 0, 0
	for i, y := range labels {
		row := scores[i*classes : (i+1)*classes]
		best := 0
		for c := 1; c < classes; c++ {
			if row[c] > row[best] {
				best = c
			}
		}
		r := 0
		for c, v := range row {
			if v > row[y] || (v == row[y] && int64(c) < y) {
				r++
			}
		}
		a.Predictions[i], a.LabelRanks[i] = int64(best), r
		if r < 1 {
			hit1++
		}
		if r < 5 {
			hit5++
		}
	}
	a.Top1 = float64(hit1) / float64(n)
	if a.HasTop5 {
		a.Top5 = float64(hit5) / float64(n)
	}
	return a
}

// Config selects and configures the protocols Evaluate runs.
type Config struct {
	RunKNN    bool
	KNN       KNNConfig
	RunLinear bool
	Linear    LinearEvalConfig
}

// DefaultConfig runs both protocols with their defaults (DefaultKNNConfig, DefaultLinearEvalConfig).
func DefaultConfig() Config {
	return Config{RunKNN: true, KNN: DefaultKNNConfig(), RunLinear: true, Linear: DefaultLinearEvalConfig()}
}

// Result is the JSON record of an evaluation: the accuracies of the protocols that ran (the
// others are omitted) and the settings and sizes they ran with. Accuracies are fractions in [0, 1];
// the top-5 fields are present only with more than five classes.
type Result struct {
	LinearTop1 *float64 `json:"linear_top1,omitempty"`
	LinearTop5 *float64 `json:"linear_top5,omitempty"`
	KNNTop1    *float64 `json:"knn_top1,omitempty"`
	KNNTop5    *float64 `json:"knn_top5,omitempty"`

	// kNN settings (present when kNN ran).
	K           int     `json:"k,omitempty"`
	Temperature float64 `json:"temperature,omitempty"`

	// Linear evaluation settings (present when it ran).
	LinearEpochs int     `json:"linear_epochs,omitempty"`
	LearningRate float64 `json:"learning_rate,omitempty"`
	BatchSize    int     `json:"batch_size,omitempty"`
	Seed         *uint64 `json:"seed,omitempty"`
	Standardize  *bool   `json:"standardize,omitempty"`

	TrainCount int `json:"train_count"`
	TestCount  int `json:"test_count"`
	FeatureDim int `json:"feature_dim"`
	Classes    int `json:"classes"`
}

// Evaluate runs the protocols cfg selects on the same splits and collects a Result. sc configures
// the linear classifier's session (unused when only kNN runs).
func Evaluate(train, test Split, classes int, cfg Config, sc tfrun.SessionConfig) (Result, error) {
	if !cfg.RunKNN && !cfg.RunLinear {
		return Result{}, fmt.Errorf("evaluate: neither kNN nor linear evaluation selected: %w", ErrConfig)
	}
	if err := validatePair(train, test, classes); err != nil {
		return Result{}, err
	}
	res := Result{TrainCount: train.Len(), TestCount: test.Len(), FeatureDim: train.Dim, Classes: classes}
	if cfg.RunKNN {
		a, err := KNN(train, test, classes, cfg.KNN)
		if err != nil {
			return Result{}, err
		}
		res.KNNTop1, res.K, res.Temperature = ptr(a.Top1), cfg.KNN.K, cfg.KNN.Temperature
		if a.HasTop5 {
			res.KNNTop5 = ptr(a.Top5)
		}
	}
	if cfg.RunLinear {
		a, err := Linear(train, test, classes, cfg.Linear, sc)
		if err != nil {
			return Result{}, err
		}
		lc := cfg.Linear.Train
		res.LinearTop1 = ptr(a.Top1)
		if a.HasTop5 {
			res.LinearTop5 = ptr(a.Top5)
		}
		res.LinearEpochs, res.LearningRate, res.BatchSize = lc.Epochs, lc.LearningRate, lc.BatchSize
		res.Seed, res.Standardize = ptr(lc.Seed), ptr(cfg.Linear.Standardize)
	}
	return res, nil
}

func ptr[T any](v T) *T { return &v }

// Summary renders the result as a few lines of text (the CLI prints it): one line per protocol
// that ran, then the sizes.
func (r Result) Summary() string {
	var b strings.Builder
	if r.LinearTop1 != nil {
		fmt.Fprintf(&b, "linear top-1 %.4f", *r.LinearTop1)
		if r.LinearTop5 != nil {
			fmt.Fprintf(&b, "  top-5 %.4f", *r.LinearTop5)
		}
		fmt.Fprintf(&b, "  (%d epochs of Adam on standardized features)\n", r.LinearEpochs)
	}
	if r.KNNTop1 != nil {
		fmt.Fprintf(&b, "kNN    top-1 %.4f", *r.KNNTop1)
		if r.KNNTop5 != nil {
			fmt.Fprintf(&b, "  top-5 %.4f", *r.KNNTop5)
		}
		fmt.Fprintf(&b, "  (k %d, T %g)\n", r.K, r.Temperature)
	}
	fmt.Fprintf(&b, "%d train and %d test examples, %d-dimensional features, %d classes\n", r.TrainCount, r.TestCount, r.FeatureDim, r.Classes)
	return b.String()
}
