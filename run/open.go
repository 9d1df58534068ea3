package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nnclr/nnclr/embed"
	"github.com/nnclr/nnclr/evaluate"
	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tboard"
	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
)

// Run is a run directory opened read-only at one checkpoint: for export, embedding and
// evaluation. It holds no resources.
type Run struct {
	Dir        string
	Config     Config
	Checkpoint string              // prefix of the checkpoint opened
	Step       int64               // its global step
	Model      tfgraph.ModelConfig // the model it holds (shapes from the checkpoint's kernels)
}

// Open opens the run in dir at checkpoint (a prefix such as DIR/checkpoints/ckpt-500; "": the
// latest).
func Open(dir, checkpoint string) (*Run, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Config: cfg, Checkpoint: checkpoint}
	if r.Checkpoint == "" {
		if r.Checkpoint, err = tfgraph.LatestCheckpoint(filepath.Join(dir, CheckpointsDir)); err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
	}
	if r.Model, err = tfgraph.ModelFromCheckpoint(cfg.ModelConfig(0, 0), r.Checkpoint); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	if err := r.Model.Validate(); err != nil {
		return nil, fmt.Errorf("run: checkpoint %s: %w", r.Checkpoint, err)
	}
	if _, err := fmt.Sscanf(filepath.Base(r.Checkpoint), "ckpt-%d", &r.Step); err != nil {
		return nil, fmt.Errorf("run: checkpoint %s: want a ckpt-STEP prefix", r.Checkpoint)
	}
	return r, nil
}

// Export writes the checkpoint's encoder (with its batch-norm statistics) and probe as a
// SavedModel in out (savedmodel.Export).
func (r *Run) Export(out string, opts savedmodel.ExportOptions) error {
	var names []string
	for _, v := range r.Model.ExportVars() {
		names = append(names, v.Name)
	}
	weights, err := tfgraph.ReadCheckpoint(r.Checkpoint, names)
	if err != nil {
		return err
	}
	return savedmodel.Export(out, r.Model, weights, opts)
}

// Embedder returns an embedder over the checkpoint's encoder (the evaluation path, ÷255) in a
// session configured by sc. Closing the embedder releases the model.
func (r *Run) Embedder(sc tfrun.SessionConfig) (embed.Embedder, error) {
	m, err := tfgraph.NewModel(r.Model, sc)
	if err != nil {
		return nil, err
	}
	if err := m.Restore(r.Checkpoint); err != nil {
		m.Close()
		return nil, err
	}
	e, err := embed.NewModelEmbedder(m, true)
	if err != nil {
		m.Close()
		return nil, err
	}
	return e, nil
}

// RecordEvaluation writes an evaluation's results to a new TensorBoard event file in the run
// directory at the checkpoint's step: eval/linear_top1, linear_top5, knn_top1, knn_top5 (those
// the result has) and the settings as text.
func (r *Run) RecordEvaluation(res evaluate.Result) (err error) {
	tw, err := tboard.NewWriter(r.Dir)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, tw.Close()) }()
	for _, kv := range []struct {
		tag string
		v   *float64
	}{{"eval/linear_top1", res.LinearTop1}, {"eval/linear_top5", res.LinearTop5}, {"eval/knn_top1", res.KNNTop1}, {"eval/knn_top5", res.KNNTop5}} {
		if kv.v != nil {
			if err := tw.Scalar(kv.tag, r.Step, *kv.v); err != nil {
				return err
			}
		}
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	return tw.Text("eval/settings", r.Step, "```\n"+string(b)+"\n```")
}
