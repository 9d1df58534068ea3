package savedmodel

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/nnclr/nnclr/tfgraph"
	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
)

// ExportOptions configures Export.
type ExportOptions struct {
	// Overwrite replaces an existing directory at the output path (atomically, after the new
	// SavedModel is complete); without it an existing path is an error.
	Overwrite bool
	// Session configures the session that writes the variables.
	Session tfrun.SessionConfig
}

// Export writes the encoder and linear probe of a model of cfg, with the given weights (every
// variable of cfg.ExportVars), as a TF1-style SavedModel in dir that tf.saved_model.load,
// saved_model_cli and TF Serving read: tag serve, signature serving_default taking uint8 images
// [N, H, W, C] ("images", scaled by 1/255 in the graph, the Keras example's evaluation path) and
// returning "embedding" [N, features], "logits" and "probabilities" [N, classes] (a model
// without a probe, tfgraph.ModelConfig.HasProbe: "embedding" alone). The graph
// holds each variable as a MetaGraphDef's VariableDef describes it and a saver laid out as
// tf.compat.v1.train.Saver lays it out (V2 format). The directory appears whole or not at all
// (WriteAtomic).
func Export(dir string, cfg tfgraph.ModelConfig, weights map[string]tfrun.Array, opts ExportOptions) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	specs := cfg.ExportVars()
	for _, sp := range specs {
		a, ok := weights[sp.Name]
		if !ok {
			return fmt.Errorf("savedmodel: export: no value for variable %s", sp.Name)
		}
		if !slices.Equal(a.Shape, sp.Shape) || int64(len(a.Float)) != a.Size() {
			return fmt.Errorf("savedmodel: export: variable %s: %w: value has shape %v, model expects %v", sp.Name, tfgraph.ErrShape, a.Shape, sp.Shape)
		}
	}
	return WriteAtomic(dir, opts.Overwrite, func(tmp string) (MetaGraph, error) {
		e, err := buildExport(cfg, specs)
		if err != nil {
			return MetaGraph{}, err
		}
		if err := e.writeVariables(weights, VariablesPrefix(tmp), opts.Session); err != nil {
			return MetaGraph{}, err
		}
		return e.meta, nil
	})
}

// exportGraph is a serving graph with what writing its variables needs.
type exportGraph struct {
	graph    *tf.Graph
	specs    []tfgraph.VarSpec
	initVals []tf.Output     // each variable's initial value, fed to set it
	inits    []*tf.Operation // each variable's initializer
	filename tf.Output       // the saver's filename tensor
	save     tf.Output       // the saver's save tensor
	meta     MetaGraph       // saved_model.pb's MetaGraph, GraphDef included
}

// buildExport builds the serving graph: variables (VarHandleOp named as the variable, a zero
// Fill initializer, a read), the placeholder "images", the outputs as named Identity ops, and
// the saver.
func buildExport(cfg tfgraph.ModelConfig, specs []tfgraph.VarSpec) (e *exportGraph, err error) {
	root := op.NewScope()
	defer func() {
		if r := recover(); r != nil {
			if serr := root.Err(); serr != nil {
				r = serr
			}
			e, err = nil, fmt.Errorf("savedmodel: export graph: %v", r)
		}
	}()
	e = &exportGraph{specs: specs, meta: MetaGraph{Inputs: map[string]Tensor{}, Outputs: map[string]Tensor{}, TensorFlowVersion: tfrun.RuntimeVersion()}}
	named := func(s *op.Scope, name, typ string, inputs []tf.Input, attrs map[string]any) *tf.Operation {
		return s.AddOperation(tf.OpSpec{Type: typ, Name: name, Input: inputs, Attrs: attrs})
	}
	handles, readsByName := map[string]tf.Output{}, map[string]tf.Output{}
	for _, sp := range specs {
		h := named(root, sp.Name, "VarHandleOp", nil, map[string]any{
			"dtype": tf.Float, "shape": tf.MakeShape(sp.Shape...), "shared_name": sp.Name, "container": ""}).Output(0)
		vs := root.SubScope(sp.Name)
		dims := make([]int32, len(sp.Shape))
		for i, d := range sp.Shape {
			dims[i] = int32(d)
		}
		fill := op.Fill(vs.SubScope("Initializer"), op.Const(vs.SubScope("Initializer/shape"), dims), op.Const(vs.SubScope("Initializer/zero"), float32(0)))
		e.inits = append(e.inits, named(vs, "Assign", "AssignVariableOp", []tf.Input{h, fill}, map[string]any{"dtype": tf.Float}))
		handles[sp.Name] = h
		readsByName[sp.Name] = named(vs, "Read/ReadVariableOp", "ReadVariableOp", []tf.Input{h}, map[string]any{"dtype": tf.Float}).Output(0)
		e.initVals = append(e.initVals, fill)
		e.meta.Variables = append(e.meta.Variables, Variable{Name: sp.Name, Initializer: sp.Name + "/Assign",
			InitialValue: fill.Op.Name() + ":0", Snapshot: sp.Name + "/Read/ReadVariableOp:0", Trainable: true})
	}
	shape := []int64{-1, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)}
	images := named(root, "images", "Placeholder", nil, map[string]any{"dtype": tf.Uint8, "shape": tf.MakeShape(shape...)}).Output(0)
	e.meta.Inputs["images"] = Tensor{Name: "images:0", DType: typespb.DataType_DT_UINT8, Shape: shape}
	emb, logits, probs := tfgraph.Serving(root.SubScope("serving"), cfg, images, func(n string) tf.Output { return readsByName[n] })
	for _, o := range []struct {
		name  string
		t     tf.Output
		width int
	}{{"embedding", emb, cfg.FeatureWidth()}, {"logits", logits, cfg.NumClasses}, {"probabilities", probs, cfg.NumClasses}} {
		if o.t.Op == nil {
			continue // a model without a probe
		}
		named(root, o.name, "Identity", []tf.Input{o.t}, nil)
		e.meta.Outputs[o.name] = Tensor{Name: o.name + ":0", DType: typespb.DataType_DT_FLOAT, Shape: []int64{-1, int64(o.width)}}
	}
	e.filename, e.save = addSaver(root.SubScope("save"), specs, handles, readsByName)
	e.meta.FilenameTensor, e.meta.SaveTensor, e.meta.RestoreOp = "save/Const:0", "save/control_dependency:0", "save/restore_all"
	if e.graph, err = root.Finalize(); err != nil {
		return nil, fmt.Errorf("savedmodel: export graph: %w", err)
	}
	if e.meta.GraphDef, err = graphDef(e.graph); err != nil {
		return nil, err
	}
	return e, nil
}

// addSaver adds the saver of tf.compat.v1.train.Saver's layout (V2 format) in s ("save"): the
// filename Const, SaveV2 and its control_dependency, RestoreV2 with one assignment per
// variable, and restore_all.
func addSaver(s *op.Scope, specs []tfgraph.VarSpec, handles, reads map[string]tf.Output) (filename, save tf.Output) {
	names := make([]string, len(specs))
	values := make([]tf.Output, len(specs))
	dtypes := make([]tf.DataType, len(specs))
	for i, sp := range specs {
		names[i], values[i], dtypes[i] = sp.Name, reads[sp.Name], tf.Float
	}
	constant := func(name string, v any) tf.Output {
		t := mustTensor(v) // only Go strings and string slices here
		return s.AddOperation(tf.OpSpec{Type: "Const", Name: name, Attrs: map[string]any{"value": t, "dtype": t.DataType()}}).Output(0)
	}
	filename = constant("Const", "model")
	tnames := constant("SaveV2/tensor_names", names)
	slicesT := constant("SaveV2/shape_and_slices", make([]string, len(specs)))
	saveOp := s.AddOperation(tf.OpSpec{Type: "SaveV2", Name: "SaveV2", Input: []tf.Input{filename, tnames, slicesT, tf.OutputList(values)}})
	save = s.AddOperation(tf.OpSpec{Type: "Identity", Name: "control_dependency", Input: []tf.Input{filename}, ControlDependencies: []*tf.Operation{saveOp}}).Output(0)
	restore := s.AddOperation(tf.OpSpec{Type: "RestoreV2", Name: "RestoreV2", Input: []tf.Input{filename, tnames, slicesT},
		Attrs: map[string]any{"dtypes": dtypes}})
	var assigns []*tf.Operation
	for i, sp := range specs {
		assigns = append(assigns, s.AddOperation(tf.OpSpec{Type: "AssignVariableOp", Name: fmt.Sprintf("AssignVariableOp_%d", i),
			Input: []tf.Input{handles[sp.Name], restore.Output(i)}, Attrs: map[string]any{"dtype": tf.Float}}))
	}
	s.AddOperation(tf.OpSpec{Type: "NoOp", Name: "restore_all", ControlDependencies: assigns})
	return filename, save
}

// writeVariables sets the graph's variables to weights (by feeding their initial values) and
// saves them to the checkpoint prefix (a SavedModel's variables/variables).
func (e *exportGraph) writeVariables(weights map[string]tfrun.Array, prefix string, sc tfrun.SessionConfig) error {
	sess, err := tfrun.NewSession(e.graph, sc)
	if err != nil {
		return err
	}
	defer sess.Close()
	feeds := map[tf.Output]*tf.Tensor{}
	defer func() {
		for _, t := range feeds {
			tfrun.Close(t)
		}
	}()
	for i, sp := range e.specs {
		t, err := tfrun.ArrayTensor(weights[sp.Name])
		if err != nil {
			return fmt.Errorf("savedmodel: export: variable %s: %w", sp.Name, err)
		}
		feeds[e.initVals[i]] = t
	}
	out, err := sess.Run(feeds, nil, e.inits)
	if err != nil {
		return fmt.Errorf("savedmodel: export: setting variables: %w", err)
	}
	tfrun.Close(out...)
	if err := os.MkdirAll(filepath.Dir(prefix), 0o755); err != nil {
		return err
	}
	p, err := tfrun.NewTensor(prefix)
	if err != nil {
		return err
	}
	defer tfrun.Close(p)
	out, err = sess.Run(map[tf.Output]*tf.Tensor{e.filename: p}, []tf.Output{e.save}, nil)
	if err != nil {
		return fmt.Errorf("savedmodel: export: writing variables to %s: %w", prefix, err)
	}
	return tfrun.Close(out...)
}

// graphDef serialises g as a GraphDef.
func graphDef(g *tf.Graph) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("savedmodel: export graph: %w", err)
	}
	return buf.Bytes(), nil
}
