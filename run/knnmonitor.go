package run

import (
	"context"
	"fmt"
	"time"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/inspect"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/tfgraph"
)

// KNNBatch is the number of images per session run of the kNN monitor: the default of
// evaluate's --batch-size, so that `evaluate --protocols knn` with the same limit embeds the same
// batches.
const KNNBatch = 256

// KNNRecord is a "knn" line of metrics.jsonl: the kNN monitor's figure after an epoch.
type KNNRecord struct {
	Type        string   `json:"type"` // "knn"
	Epoch       int      `json:"epoch"`
	GlobalStep  int64    `json:"global_step"`
	Top1        float64  `json:"knn_top1"`
	Top5        *float64 `json:"knn_top5,omitempty"`
	K           int      `json:"k"`
	Temperature float64  `json:"temperature"`
	TrainCount  int      `json:"train_count"` // labelled examples embedded (the seeded subset)
	TestCount   int      `json:"test_count"`
	Seconds     float64  `json:"seconds"` // embedding both subsets and the vote
}

// KNNSplits embeds the seeded subsets (inspect.Subset with inspect.PurposeKNN and seed, at most
// limit examples; 0: all) of the labelled split train and the split test with e, KNNBatch images
// per run: the examples the kNN monitor and `evaluate --knn-limit` vote with. Both splits must be
// labelled.
func KNNSplits(ctx context.Context, e embed.Embedder, ds *loader.Dataset, train, test string, limit int, seed int64, progress func(split string, done, total int)) (evaluate.Split, evaluate.Split, error) {
	var out [2]evaluate.Split
	for i, name := range []string{train, test} {
		sp, err := ds.Split(name)
		if err != nil {
			return out[0], out[1], err
		}
		o := inspect.EmbedOptions{Batch: KNNBatch}
		if progress != nil {
			o.Progress = func(done, total int) { progress(name, done, total) }
		}
		x, err := inspect.Embed(ctx, e, ds, name, inspect.Subset(sp.NumExamples(), limit, seed, inspect.PurposeKNN, name), o)
		if err != nil {
			return out[0], out[1], err
		}
		for j, l := range x.Data.Labels {
			if l < 0 {
				return out[0], out[1], fmt.Errorf("run: knn: split %s of %s has no labels (example %d): the kNN vote needs labelled splits", name, ds.Info.Name, x.Indices[j])
			}
		}
		out[i] = x.Data
	}
	return out[0], out[1], nil
}

// knnMonitor runs the kNN vote on the live model after the epochs KNNEvery selects.
type knnMonitor struct {
	every, limit int
	seed         int64
	workers      int
	ds           *loader.Dataset
	train, test  string
	model        *tfgraph.Model
}

func (t *Training) knnMonitor() *knnMonitor {
	c := t.Config
	if c.KNNEvery <= 0 {
		return nil
	}
	return &knnMonitor{every: c.KNNEvery, limit: c.KNNLimit, seed: c.Seed, workers: c.Workers, ds: t.Dataset,
		train: c.LabelledSplit, test: c.TestSplit, model: t.Model}
}

// due reports whether the monitor runs after epoch (from 0).
func (m *knnMonitor) due(epoch int) bool { return m != nil && (epoch+1)%m.every == 0 }

// run embeds both subsets with the model's encoder as it is now (the evaluation path, in the
// session's precision) and votes with evaluate's default k and temperature.
func (m *knnMonitor) run(ctx context.Context, epoch int, step int64) (KNNRecord, error) {
	start := time.Now()
	e, err := embed.NewModelEmbedder(m.model, false)
	if err != nil {
		return KNNRecord{}, err
	}
	defer e.Close()
	tr, te, err := KNNSplits(ctx, e, m.ds, m.train, m.test, m.limit, m.seed, nil)
	if err != nil {
		return KNNRecord{}, err
	}
	cfg := evaluate.DefaultKNNConfig()
	cfg.Workers = m.workers
	a, err := evaluate.KNN(tr, te, m.ds.Features.Label.NumClasses, cfg)
	if err != nil {
		return KNNRecord{}, err // Train names the monitor and the epoch
	}
	r := KNNRecord{Type: "knn", Epoch: epoch + 1, GlobalStep: step, Top1: a.Top1, K: cfg.K, Temperature: cfg.Temperature,
		TrainCount: tr.Len(), TestCount: te.Len(), Seconds: time.Since(start).Seconds()}
	if a.HasTop5 {
		r.Top5 = &a.Top5
	}
	return r, nil
}
