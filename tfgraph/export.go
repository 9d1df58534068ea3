package tfgraph

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// TensorRef names a tensor of an exported graph with its dtype and shape (-1: any size).
type TensorRef struct {
	Name  string
	DType tf.DataType
	Shape []int64
}

// ExportVariable describes a resource variable of an exported graph the way a MetaGraphDef's
// VariableDef does.
type ExportVariable struct {
	Name        string // op name of the VarHandleOp, e.g. enc/conv0/kernel
	Shape       []int64
	Initializer string // op that assigns the initial value
	InitialVal  string // tensor holding the initial value
	Snapshot    string // tensor reading the variable
	Trainable   bool
}

// ExportGraph is the serving graph of a trained encoder and probe, ready to be wrapped in a
// SavedModel: uint8 images [N, H, W, C] are scaled by 1/255 in the graph (the example's
// evaluation path) and give the encoder's embedding, the probe's logits and their softmax.
type ExportGraph struct {
	GraphDef  []byte
	Input     TensorRef            // "images"
	Outputs   map[string]TensorRef // "embedding", "logits", "probabilities"
	Variables []ExportVariable
	// The SaverDef endpoints: feed FilenameTensor with a checkpoint prefix and run RestoreOp,
	// or fetch SaveTensor to write one.
	FilenameTensor, SaveTensor, RestoreOp string
}

// exportSpecs returns the variables a serving graph holds: the encoder and the probe.
func exportSpecs(cfg ModelConfig) []VarSpec {
	return append(cfg.EncoderVars(), cfg.ProbeVars()...)
}

// WriteExport builds the serving graph of cfg, sets its variables from weights (every encoder and
// probe variable, shapes checked) and writes them with SaveV2 to the checkpoint prefix
// variablesPrefix (a SavedModel's variables/variables). It returns the graph for the
// SavedModel's MetaGraphDef.
func WriteExport(cfg ModelConfig, weights map[string]Array, variablesPrefix string, sc SessionConfig) (eg *ExportGraph, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	specs := exportSpecs(cfg)
	for _, sp := range specs {
		a, ok := weights[sp.Name]
		if !ok {
			return nil, fmt.Errorf("tfgraph: export: no value for variable %s", sp.Name)
		}
		if !slices.Equal(a.Shape, sp.Shape) || int64(len(a.Float)) != a.size() {
			return nil, fmt.Errorf("tfgraph: export: variable %s: %w: value has shape %v, model expects %v", sp.Name, ErrShape, a.Shape, sp.Shape)
		}
	}
	root := op.NewScope()
	defer func() {
		if r := recover(); r != nil {
			if serr := root.Err(); serr != nil {
				r = serr
			}
			eg, err = nil, fmt.Errorf("tfgraph: export graph: %v", r)
		}
	}()
	eg = &ExportGraph{Outputs: map[string]TensorRef{}}
	named := func(s *op.Scope, name, typ string, inputs []tf.Input, attrs map[string]any) *tf.Operation {
		return s.AddOperation(tf.OpSpec{Type: typ, Name: name, Input: inputs, Attrs: attrs})
	}
	handles := map[string]tf.Output{}
	readsByName := map[string]tf.Output{}
	var initVals []tf.Output
	for _, sp := range specs {
		h := named(root, sp.Name, "VarHandleOp", nil, map[string]any{
			"dtype": tf.Float, "shape": tf.MakeShape(sp.Shape...), "shared_name": sp.Name, "container": ""}).Output(0)
		vs := root.SubScope(sp.Name)
		dims := make([]int32, len(sp.Shape))
		for i, d := range sp.Shape {
			dims[i] = int32(d)
		}
		fill := named(vs, "Initializer/Fill", "Fill", []tf.Input{
			named(vs, "Initializer/shape", "Const", nil, map[string]any{"value": mustTensor(dims), "dtype": tf.Int32}).Output(0),
			named(vs, "Initializer/zero", "Const", nil, map[string]any{"value": mustTensor(float32(0)), "dtype": tf.Float}).Output(0),
		}, nil).Output(0)
		named(vs, "Assign", "AssignVariableOp", []tf.Input{h, fill}, map[string]any{"dtype": tf.Float})
		rd := named(vs, "Read/ReadVariableOp", "ReadVariableOp", []tf.Input{h}, map[string]any{"dtype": tf.Float}).Output(0)
		handles[sp.Name], readsByName[sp.Name] = h, rd
		initVals = append(initVals, fill)
		eg.Variables = append(eg.Variables, ExportVariable{Name: sp.Name, Shape: sp.Shape, Initializer: sp.Name + "/Assign",
			InitialVal: sp.Name + "/Initializer/Fill:0", Snapshot: sp.Name + "/Read/ReadVariableOp:0", Trainable: true})
	}
	if err := root.Err(); err != nil {
		return nil, fmt.Errorf("tfgraph: export graph: %w", err)
	}

	// Serving computation.
	b := &gb{s: root, cfg: cfg, g: &nnclrGraph{byNam: map[string]*variable{}}}
	img := tf.MakeShape(-1, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels))
	images := named(root, "images", "Placeholder", nil, map[string]any{"dtype": tf.Uint8, "shape": img}).Output(0)
	ss := root.SubScope("serving")
	x := op.Mul(ss.SubScope("rescale"), op.Cast(ss.SubScope("cast"), images, tf.Float), op.Const(ss.SubScope("scale"), float32(1.0/255.0)))
	var encW []tf.Output
	for _, sp := range cfg.EncoderVars() {
		encW = append(encW, readsByName[sp.Name])
	}
	feat := b.encoder(ss.SubScope("encoder"), x, encW)
	logits := op.BiasAdd(ss.SubScope("probe"), op.MatMul(ss.SubScope("probe_matmul"), feat, readsByName["probe/kernel"]), readsByName["probe/bias"])
	probs := op.Softmax(ss.SubScope("softmax"), logits)
	out := func(name string, t tf.Output, width int) {
		named(root, name, "Identity", []tf.Input{t}, nil)
		eg.Outputs[name] = TensorRef{Name: name + ":0", DType: tf.Float, Shape: []int64{-1, int64(width)}}
	}
	out("embedding", feat, cfg.ModelWidth)
	out("logits", logits, cfg.NumClasses)
	out("probabilities", probs, cfg.NumClasses)
	eg.Input = TensorRef{Name: "images:0", DType: tf.Uint8, Shape: []int64{-1, int64(cfg.Height), int64(cfg.Width), int64(cfg.Channels)}}

	// Saver, as tf.compat.v1.train.Saver lays it out (V2 format).
	sv := root.SubScope("save")
	names := make([]string, len(specs))
	var reads []tf.Output
	dtypes := make([]tf.DataType, len(specs))
	for i, sp := range specs {
		names[i], dtypes[i] = sp.Name, tf.Float
		reads = append(reads, readsByName[sp.Name])
	}
	filename := named(sv, "Const", "Const", nil, map[string]any{"value": mustTensor("model"), "dtype": tf.String}).Output(0)
	tnames := named(sv, "SaveV2/tensor_names", "Const", nil, map[string]any{"value": mustTensor(names), "dtype": tf.String}).Output(0)
	slicesT := named(sv, "SaveV2/shape_and_slices", "Const", nil, map[string]any{"value": mustTensor(make([]string, len(specs))), "dtype": tf.String}).Output(0)
	save := sv.AddOperation(tf.OpSpec{Type: "SaveV2", Name: "SaveV2", Input: []tf.Input{filename, tnames, slicesT, tf.OutputList(reads)}})
	sv.AddOperation(tf.OpSpec{Type: "Identity", Name: "control_dependency", Input: []tf.Input{filename}, ControlDependencies: []*tf.Operation{save}})
	restore := sv.AddOperation(tf.OpSpec{Type: "RestoreV2", Name: "RestoreV2", Input: []tf.Input{filename, tnames, slicesT},
		Attrs: map[string]any{"dtypes": dtypes}})
	var assigns []*tf.Operation
	for i, sp := range specs {
		assigns = append(assigns, sv.AddOperation(tf.OpSpec{Type: "AssignVariableOp", Name: fmt.Sprintf("AssignVariableOp_%d", i),
			Input: []tf.Input{handles[sp.Name], restore.Output(i)}, Attrs: map[string]any{"dtype": tf.Float}}))
	}
	sv.AddOperation(tf.OpSpec{Type: "NoOp", Name: "restore_all", ControlDependencies: assigns})
	eg.FilenameTensor, eg.SaveTensor, eg.RestoreOp = "save/Const:0", "save/control_dependency:0", "save/restore_all"

	g, err := root.Finalize()
	if err != nil {
		return nil, fmt.Errorf("tfgraph: export graph: %w", err)
	}
	var buf bytes.Buffer
	if _, err := g.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("tfgraph: export graph: %w", err)
	}
	eg.GraphDef = buf.Bytes()

	// Set the variables by feeding their initial values, then save them.
	sess, err := NewSession(g, sc)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	feeds := map[tf.Output]*tf.Tensor{}
	var inits []*tf.Operation
	for i, sp := range specs {
		a := weights[sp.Name]
		t, err := NewFloatTensor(sp.Shape, func(d []float32) error { copy(d, a.Float); return nil })
		if err != nil {
			return nil, err
		}
		feeds[initVals[i]] = t
		inits = append(inits, g.Operation(sp.Name+"/Assign"))
	}
	if _, err := sess.Run(feeds, nil, inits); err != nil {
		return nil, fmt.Errorf("tfgraph: export: setting variables: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(variablesPrefix), 0o755); err != nil {
		return nil, err
	}
	prefix, err := tf.NewTensor(variablesPrefix)
	if err != nil {
		return nil, err
	}
	if _, err := sess.Run(map[tf.Output]*tf.Tensor{filename: prefix}, []tf.Output{g.Operation("save/control_dependency").Output(0)}, nil); err != nil {
		return nil, fmt.Errorf("tfgraph: export: writing variables to %s: %w", variablesPrefix, err)
	}
	return eg, nil
}

func mustTensor(v any) *tf.Tensor {
	t, err := tf.NewTensor(v)
	if err != nil {
		panic(err) // only called with Go values NewTensor accepts; recovered in WriteExport
	}
	return t
}
