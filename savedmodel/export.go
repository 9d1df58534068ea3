package savedmodel

import (
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"

	"github.com/nnclr/nnclr/tfgraph"
)

// ExportOptions configures Export.
type ExportOptions struct {
	// Overwrite replaces an existing directory at the output path (atomically, after the new
	// SavedModel is complete); without it an existing path is an error.
	Overwrite bool
	// Session configures the session that writes the variables.
	Session tfgraph.SessionConfig
}

// Export writes the encoder and linear probe of a model of cfg, with the given weights (every
// variable of cfg.EncoderVars and cfg.ProbeVars), as a TF1-style SavedModel in dir that
// tf.saved_model.load, saved_model_cli and TF Serving read: tag serve, signature serving_default
// taking uint8 images [N, H, W, C] ("images", scaled by 1/255 in the graph, the Keras example's
// evaluation path) and returning "embedding" [N, width], "logits" and "probabilities" [N,
// classes]. The directory appears whole or not at all (WriteAtomic).
func Export(dir string, cfg tfgraph.ModelConfig, weights map[string]tfgraph.Array, opts ExportOptions) error {
	return WriteAtomic(dir, opts.Overwrite, func(tmp string) (MetaGraph, error) {
		eg, err := tfgraph.WriteExport(cfg, weights, VariablesPrefix(tmp), opts.Session)
		if err != nil {
			return MetaGraph{}, err
		}
		m := MetaGraph{GraphDef: eg.GraphDef, Inputs: map[string]Tensor{"images": tensorRef(eg.Input)},
			Outputs: map[string]Tensor{}, FilenameTensor: eg.FilenameTensor, SaveTensor: eg.SaveTensor,
			RestoreOp: eg.RestoreOp, TensorFlowVersion: tfgraph.RuntimeVersion()}
		for k, t := range eg.Outputs {
			m.Outputs[k] = tensorRef(t)
		}
		for _, v := range eg.Variables {
			m.Variables = append(m.Variables, Variable{Name: v.Name, Initializer: v.Initializer,
				InitialValue: v.InitialVal, Snapshot: v.Snapshot, Trainable: v.Trainable})
		}
		return m, nil
	})
}

func tensorRef(t tfgraph.TensorRef) Tensor {
	return Tensor{Name: t.Name, DType: typespb.DataType(t.DType), Shape: t.Shape}
}
