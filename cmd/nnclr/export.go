package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/nnclr/nnclr/savedmodel"
	"github.com/nnclr/nnclr/tfgraph"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// runModel describes a pretraining run directory: its flags and a checkpoint.
type runModel struct {
	flags      Config
	checkpoint string
	model      tfgraph.ModelConfig
}

// openRun reads RUN_DIR/flags.json and picks --checkpoint or the run's latest checkpoint; the
// model's shape comes from the flags and the checkpoint's kernels.
func openRun(c Config) (runModel, error) {
	if c.RunDir == "" {
		return runModel{}, &usageError{fmt.Errorf("--mode %s needs --run-dir (a pretraining run)", c.Mode)}
	}
	var r runModel
	raw, err := os.ReadFile(filepath.Join(c.RunDir, "flags.json"))
	if err != nil {
		return r, fmt.Errorf("run dir %s: %w (is it a pretraining run?)", c.RunDir, err)
	}
	if err := json.Unmarshal(raw, &r.flags); err != nil {
		return r, fmt.Errorf("run dir %s: flags.json: %w", c.RunDir, err)
	}
	r.checkpoint = c.Checkpoint
	if r.checkpoint == "" {
		if r.checkpoint, err = tfgraph.LatestCheckpoint(filepath.Join(c.RunDir, "checkpoints")); err != nil {
			return r, err
		}
	}
	mc := tfgraph.DefaultModelConfig()
	mc.Height, mc.Width = r.flags.ImageSize, r.flags.ImageSize
	mc.Temperature, mc.QueueSize, mc.LearningRate = r.flags.Temperature, r.flags.QueueSize, r.flags.LearningRate
	if r.model, err = tfgraph.ModelFromCheckpoint(mc, r.checkpoint); err != nil {
		return r, err
	}
	return r, r.model.Validate()
}

func exportNames(mc tfgraph.ModelConfig) []string {
	var names []string
	for _, v := range append(mc.EncoderVars(), mc.ProbeVars()...) {
		names = append(names, v.Name)
	}
	return names
}

func tensorRef(t tfgraph.TensorRef) savedmodel.Tensor {
	return savedmodel.Tensor{Name: t.Name, DType: typespb.DataType(t.DType), Shape: t.Shape}
}

func runExport(c Config, stdout io.Writer) error {
	if c.Out == "" {
		return &usageError{errors.New("--mode export needs --out (the SavedModel directory to write)")}
	}
	sc, err := c.sessionConfig()
	if err != nil {
		return err
	}
	r, err := openRun(c)
	if err != nil {
		return err
	}
	weights, err := tfgraph.ReadCheckpoint(r.checkpoint, exportNames(r.model))
	if err != nil {
		return err
	}
	err = savedmodel.WriteAtomic(c.Out, c.Overwrite, func(tmp string) (savedmodel.MetaGraph, error) {
		eg, err := tfgraph.WriteExport(r.model, weights, savedmodel.VariablesPrefix(tmp), sc)
		if err != nil {
			return savedmodel.MetaGraph{}, err
		}
		m := savedmodel.MetaGraph{GraphDef: eg.GraphDef, Inputs: map[string]savedmodel.Tensor{"images": tensorRef(eg.Input)},
			Outputs: map[string]savedmodel.Tensor{}, FilenameTensor: eg.FilenameTensor, SaveTensor: eg.SaveTensor,
			RestoreOp: eg.RestoreOp, TensorFlowVersion: tfgraph.RuntimeVersion()}
		for k, t := range eg.Outputs {
			m.Outputs[k] = tensorRef(t)
		}
		for _, v := range eg.Variables {
			m.Variables = append(m.Variables, savedmodel.Variable{Name: v.Name, Initializer: v.Initializer,
				InitialValue: v.InitialVal, Snapshot: v.Snapshot, Trainable: v.Trainable})
		}
		return m, nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s (checkpoint %s) to %s: signature %s, input images uint8 [N,%d,%d,%d], outputs embedding [N,%d], logits and probabilities [N,%d]\n",
		c.RunDir, r.checkpoint, c.Out, savedmodel.DefaultSignature, r.model.Height, r.model.Width, r.model.Channels, r.model.ModelWidth, r.model.NumClasses)
	return nil
}
