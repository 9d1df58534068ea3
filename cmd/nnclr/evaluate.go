package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/tboard"
)

// labelledSplit embeds a split and refuses one without labels (an unlabelled split has -1).
func labelledSplit(e embedder, c Config, name string, stderr io.Writer) (evaluate.Split, error) {
	ds, err := openDataset(c)
	if err != nil {
		return evaluate.Split{}, err
	}
	progress, done := splitBar(c, stderr, "features of "+name)
	emb, labels, dim, err := embedSplit(e, ds, name, c.BatchSize, progress)
	done()
	if err != nil {
		return evaluate.Split{}, err
	}
	for i, l := range labels {
		if l < 0 {
			return evaluate.Split{}, &usageError{fmt.Errorf("split %s of %s has no labels (example %d has label %d): evaluate needs labelled splits", name, c.Dataset, i, l)}
		}
	}
	return evaluate.Split{Features: emb, Labels: labels, Dim: dim}, nil
}

func runEvaluate(c Config, stdout, stderr io.Writer) error {
	cfg := evaluate.DefaultConfig()
	cfg.RunKNN, cfg.RunLinear = false, false
	for _, p := range strings.Split(c.Protocols, ",") {
		switch strings.TrimSpace(p) {
		case "knn":
			cfg.RunKNN = true
		case "linear":
			cfg.RunLinear = true
		default:
			return &usageError{fmt.Errorf("--protocols %q: want linear, knn or linear,knn", c.Protocols)}
		}
	}
	cfg.KNN.K, cfg.KNN.Temperature, cfg.KNN.Workers = c.KNNK, c.KNNTemperature, c.Workers
	cfg.Linear.Train.Epochs, cfg.Linear.Train.Seed = c.LinearEpochs, deriveSeeds(c.Seed).model
	sc, err := c.sessionConfig()
	if err != nil {
		return err
	}
	ds, err := openDataset(c)
	if err != nil {
		return err
	}
	classes := ds.Features.Label.NumClasses
	e, err := newEmbedder(c)
	if err != nil {
		return err
	}
	defer e.Close()
	train, err := labelledSplit(e, c, c.TrainSplit, stderr)
	if err != nil {
		return err
	}
	test, err := labelledSplit(e, c, c.TestSplit, stderr)
	if err != nil {
		return err
	}
	res, err := evaluate.Evaluate(train, test, classes, cfg, sc)
	if err != nil {
		return err
	}
	if res.LinearTop1 != nil {
		fmt.Fprintf(stdout, "linear top-1 %.4f", *res.LinearTop1)
		if res.LinearTop5 != nil {
			fmt.Fprintf(stdout, "  top-5 %.4f", *res.LinearTop5)
		}
		fmt.Fprintf(stdout, "  (%d epochs of Adam on standardized features)\n", res.LinearEpochs)
	}
	if res.KNNTop1 != nil {
		fmt.Fprintf(stdout, "kNN    top-1 %.4f", *res.KNNTop1)
		if res.KNNTop5 != nil {
			fmt.Fprintf(stdout, "  top-5 %.4f", *res.KNNTop5)
		}
		fmt.Fprintf(stdout, "  (k %d, T %g)\n", res.K, res.Temperature)
	}
	fmt.Fprintf(stdout, "%d train and %d test examples of %s, %d-dimensional features, %d classes\n",
		res.TrainCount, res.TestCount, c.Dataset, res.FeatureDim, res.Classes)
	if c.Out != "" {
		if err := writeJSONAtomic(c.Out, res); err != nil {
			return err
		}
	}
	if c.RunDir != "" && c.Model == "" {
		return evalEvents(c, res)
	}
	return nil
}

// evalEvents records the results in the run's TensorBoard files at the checkpoint's step.
func evalEvents(c Config, res evaluate.Result) error {
	r, err := openRun(c)
	if err != nil {
		return err
	}
	step, _ := checkpointStep(r.checkpoint)
	tw, err := tboard.NewWriter(c.RunDir)
	if err != nil {
		return err
	}
	for _, kv := range []struct {
		tag string
		v   *float64
	}{{"eval/linear_top1", res.LinearTop1}, {"eval/linear_top5", res.LinearTop5}, {"eval/knn_top1", res.KNNTop1}, {"eval/knn_top5", res.KNNTop5}} {
		if kv.v != nil {
			if err := tw.Scalar(kv.tag, step, *kv.v); err != nil {
				tw.Close()
				return err
			}
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := tw.Text("eval/settings", step, "```\n"+string(b)+"\n```"); err != nil {
		tw.Close()
		return err
	}
	return tw.Close()
}

// checkpointStep parses the step of a ckpt-STEP prefix.
func checkpointStep(prefix string) (int64, bool) {
	var s int64
	if _, err := fmt.Sscanf(filepath.Base(prefix), "ckpt-%d", &s); err != nil {
		return 0, false
	}
	return s, true
}
