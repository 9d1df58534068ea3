package evaluate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

// TestEvaluateResult runs both protocols through Evaluate and checks the JSON record: both
// accuracies with more than five classes, no top-5 fields with five or fewer, and only the
// settings of the protocols that ran.
func TestEvaluateResult(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Linear.Train = LinearConfig{Epochs: 30, BatchSize: 32, LearningRate: 0.01, Seed: 3}
	for _, c := range []struct {
		name    string
		classes int
		cfg     Config
		want    []string
		absent  []string
	}{
		{"both, 8 classes", 8, cfg,
			[]string{`"linear_top1":`, `"linear_top5":`, `"knn_top1":`, `"knn_top5":`, `"k":20`, `"temperature":0.07`,
				`"linear_epochs":30`, `"learning_rate":0.01`, `"batch_size":32`, `"seed":3`, `"standardize":true`,
				`"train_count":400`, `"test_count":100`, `"feature_dim":6`, `"classes":8`}, nil},
		{"both, 4 classes", 4, cfg,
			[]string{`"linear_top1":`, `"knn_top1":`, `"classes":4`}, []string{"top5"}},
		{"knn only", 8, Config{RunKNN: true, KNN: KNNConfig{K: 5, Temperature: 0.1}},
			[]string{`"knn_top1":`, `"knn_top5":`, `"k":5`, `"temperature":0.1`},
			[]string{"linear", "learning_rate", "batch_size", "seed", "standardize"}},
		{"linear only", 8, Config{RunLinear: true, Linear: cfg.Linear},
			[]string{`"linear_top1":`, `"linear_top5":`, `"seed":3`},
			[]string{"knn", `"k"`, "temperature"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			train, test := clusterData(11, c.classes, 1, 6, 400, 100, 0.3)
			res, err := Evaluate(train, test, c.classes, c.cfg, tfrun.DefaultSessionConfig())
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			js := string(b)
			for _, p := range []*float64{res.KNNTop1, res.LinearTop1} {
				if p != nil && *p < 0.9 {
					t.Errorf("%s: top-1 %.3f on well-separated clusters", js, *p)
				}
			}
			for _, w := range c.want {
				if !strings.Contains(js, w) {
					t.Errorf("%s: no %s", js, w)
				}
			}
			for _, a := range c.absent {
				if strings.Contains(js, a) {
					t.Errorf("%s: has %s", js, a)
				}
			}
		})
	}
	train, test := clusterData(11, 3, 1, 6, 40, 10, 0.3)
	if _, err := Evaluate(train, test, 3, Config{}, tfrun.DefaultSessionConfig()); !errors.Is(err, ErrConfig) {
		t.Errorf("nothing selected: %v", err)
	}
	narrow := test
	narrow.Dim, narrow.Features = 5, test.Features[:50]
	if _, err := Evaluate(train, narrow, 3, DefaultConfig(), tfrun.DefaultSessionConfig()); !errors.Is(err, ErrShape) {
		t.Errorf("dimension mismatch: %v", err)
	}
}

func TestResultSummary(t *testing.T) {
	l1, l5, k1 := 0.5, 0.75, 0.25
	r := Result{LinearTop1: &l1, LinearTop5: &l5, LinearEpochs: 3, KNNTop1: &k1, K: 5, Temperature: 0.07,
		TrainCount: 8, TestCount: 4, FeatureDim: 2, Classes: 3}
	want := "linear top-1 0.5000  top-5 0.7500  (3 epochs of Adam on standardized features)\n" +
		"kNN    top-1 0.2500  (k 5, T 0.07)\n8 train and 4 test examples, 2-dimensional features, 3 classes\n"
	if got := r.Summary(); got != want {
		t.Fatalf("summary:\n%s\nwant:\n%s", got, want)
	}
}
