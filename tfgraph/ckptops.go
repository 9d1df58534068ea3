package tfgraph

import (
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// checkpointOps save and restore every variable under its name (SaveV2 / RestoreV2: TensorFlow's
// checkpoint format).
type checkpointOps struct {
	saveDir       tf.Output // the prefix to save to
	save          *tf.Operation
	restorePrefix tf.Output
	restore       []tf.Output // each variable's stored value, in vars order
}

func newCheckpointOps(s *op.Scope, vars []*variable) checkpointOps {
	names := make([]string, len(vars))
	dtypes := make([]tf.DataType, len(vars))
	for i, v := range vars {
		names[i], dtypes[i] = v.spec.Name, v.boundaryType()
	}
	var c checkpointOps
	tnames := op.Const(s.SubScope("names"), names)
	slices := op.Const(s.SubScope("slices"), make([]string, len(vars)))
	c.saveDir = op.Placeholder(s.SubScope("prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
	c.save = op.SaveV2(s.SubScope("SaveV2"), c.saveDir, tnames, slices, outs(vars))
	c.restorePrefix = op.Placeholder(s.SubScope("restore_prefix"), tf.String, op.PlaceholderShape(tf.ScalarShape()))
	c.restore = op.RestoreV2(s.SubScope("RestoreV2"), c.restorePrefix, tnames, slices, dtypes)
	return c
}
