package savedmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// LoadedModel is a SavedModel loaded through libtensorflow (TF_LoadSessionFromSavedModel): a
// model exported by nnclr or saved by Python (tf.saved_model.save, Keras model.export). Close
// releases it; it is safe to call more than once.
type LoadedModel struct {
	dir string
	sm  *tfrun.SavedModel
}

// ErrSignature reports an unknown signature or signature key.
var ErrSignature = errors.New("signature mismatch")

// Load loads the MetaGraph of dir tagged with tags (default: serve) into a libtensorflow
// session with the settings of sc (tfrun.LoadSavedModel: a GPU asked for and not seen is
// tfrun.ErrNoGPU, a precision the device cannot run tfrun.ErrPrecision, as for a run's model).
func Load(dir string, tags []string, sc tfrun.SessionConfig) (*LoadedModel, error) {
	if len(tags) == 0 {
		tags = []string{ServeTag}
	}
	if _, err := os.Stat(filepath.Join(dir, "saved_model.pb")); err != nil {
		return nil, fmt.Errorf("savedmodel: SavedModel %s: %w", dir, err)
	}
	sm, err := tfrun.LoadSavedModel(dir, tags, sc)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: loading SavedModel %s with tags %v: %w", dir, tags, err)
	}
	m := &LoadedModel{dir: dir, sm: sm}
	if err := m.restoreUntracked(); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// restoreUntracked assigns variables that TensorFlow's TF1-style loader left uninitialised.
// Keras 3 models written with tf.saved_model.save track each variable twice; the SaverDef
// restores one copy while the signature functions read the other, so TensorFlow's own loader
// (saved_model_cli run, TF Serving) fails with "Could not find variable". The checkpoint's
// object graph names every variable (full_name) and its checkpoint key: each uninitialised
// VarHandleOp whose shared_name is such a name gets the checkpoint's value.
func (m *LoadedModel) restoreUntracked() error {
	prefix := filepath.Join(m.dir, "variables", "variables")
	if _, err := os.Stat(prefix + ".index"); err != nil {
		return nil // no variables
	}
	if raw, err := os.ReadFile(filepath.Join(m.dir, "saved_model.pb")); err == nil {
		var sm corepb.SavedModel
		if proto.Unmarshal(raw, &sm) == nil && len(sm.MetaGraphs) > 0 && sm.MetaGraphs[0].ObjectGraphDef == nil {
			return nil // a TF1 SavedModel: its SaverDef restores every variable
		}
	}
	r := &repair{m: m, g: m.sm.Graph}
	pref, err := r.op("Const", "prefix", nil, map[string]any{"value": mustTensor(prefix), "dtype": tf.String})
	if err != nil {
		return err
	}
	keys, err := r.checkpointKeys(pref.Output(0))
	if err != nil || len(keys) == 0 {
		return err
	}
	missing, err := r.uninitialised(keys)
	if err != nil || len(missing) == 0 {
		return err
	}
	return r.restore(pref.Output(0), missing)
}

// repair adds the ops of restoreUntracked to a loaded graph, each under a fresh name.
type repair struct {
	m *LoadedModel
	g *tf.Graph
}

func (r *repair) op(typ, name string, in []tf.Input, attrs map[string]any) (*tf.Operation, error) {
	return r.g.AddOperation(tf.OpSpec{Type: typ, Name: fmt.Sprintf("nnclr_repair_%d/%s", len(r.g.Operations()), name), Input: in, Attrs: attrs})
}

// checkpointKeys reads the checkpoint's object graph: the checkpoint key of every variable by
// its full name. A checkpoint without one (TF1) gives none.
func (r *repair) checkpointKeys(prefix tf.Output) (map[string]string, error) {
	keyOp, err := r.op("Const", "key", nil, map[string]any{"value": mustTensor([]string{"_CHECKPOINTABLE_OBJECT_GRAPH"}), "dtype": tf.String})
	if err != nil {
		return nil, err
	}
	slOp, err := r.op("Const", "slice", nil, map[string]any{"value": mustTensor([]string{""}), "dtype": tf.String})
	if err != nil {
		return nil, err
	}
	rd, err := r.op("RestoreV2", "graph", []tf.Input{prefix, keyOp.Output(0), slOp.Output(0)}, map[string]any{"dtypes": []tf.DataType{tf.String}})
	if err != nil {
		return nil, err
	}
	res, err := r.m.sm.Run(nil, []tf.Output{rd.Output(0)}, nil)
	if err != nil {
		return nil, nil // a TF1 checkpoint without an object graph: nothing to repair
	}
	defer tfrun.Close(res...)
	var raw string
	switch v := res[0].Value().(type) {
	case string:
		raw = v
	case []string:
		if len(v) != 1 {
			return nil, nil
		}
		raw = v[0]
	default:
		return nil, nil
	}
	var og corepb.TrackableObjectGraph
	if err := proto.Unmarshal([]byte(raw), &og); err != nil {
		return nil, fmt.Errorf("savedmodel: SavedModel %s: checkpoint object graph: %w", r.m.dir, err)
	}
	keys := map[string]string{}
	for _, n := range og.Nodes {
		for _, a := range n.Attributes {
			if a.Name == "VARIABLE_VALUE" && a.FullName != "" {
				keys[a.FullName] = a.CheckpointKey
			}
		}
	}
	return keys, nil
}

// untracked is a VarHandleOp the loader left uninitialised and its checkpoint key.
type untracked struct {
	op  *tf.Operation
	key string
	dt  tf.DataType
}

// uninitialised returns the graph's VarHandleOps whose shared_name has a checkpoint key and that
// are not initialised.
func (r *repair) uninitialised(keys map[string]string) ([]untracked, error) {
	var cands []untracked
	var checks []tf.Output
	for _, op := range r.g.Operations() {
		o := &op
		if o.Type() != "VarHandleOp" {
			continue
		}
		sn, err := o.Attr("shared_name")
		if err != nil {
			continue
		}
		key, ok := keys[fmt.Sprint(sn)]
		if !ok {
			continue
		}
		dt, err := o.Attr("dtype")
		if err != nil {
			continue
		}
		chk, err := r.op("VarIsInitializedOp", "check", []tf.Input{o.Output(0)}, nil)
		if err != nil {
			return nil, err
		}
		cands = append(cands, untracked{o, key, dt.(tf.DataType)})
		checks = append(checks, chk.Output(0))
	}
	if len(cands) == 0 {
		return nil, nil
	}
	init, err := r.m.sm.Run(nil, checks, nil)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: SavedModel %s: checking variables: %w", r.m.dir, err)
	}
	defer tfrun.Close(init...)
	var missing []untracked
	for i, c := range cands {
		if !init[i].Value().(bool) {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

// restore assigns each of missing its checkpoint value.
func (r *repair) restore(prefix tf.Output, missing []untracked) error {
	names := make([]string, len(missing))
	dts := make([]tf.DataType, len(missing))
	for i, c := range missing {
		names[i], dts[i] = c.key, c.dt
	}
	nOp, err := r.op("Const", "names", nil, map[string]any{"value": mustTensor(names), "dtype": tf.String})
	if err != nil {
		return err
	}
	sOp, err := r.op("Const", "slices", nil, map[string]any{"value": mustTensor(make([]string, len(names))), "dtype": tf.String})
	if err != nil {
		return err
	}
	rv, err := r.op("RestoreV2", "values", []tf.Input{prefix, nOp.Output(0), sOp.Output(0)}, map[string]any{"dtypes": dts})
	if err != nil {
		return err
	}
	var assigns []*tf.Operation
	for i, c := range missing {
		a, err := r.op("AssignVariableOp", "assign", []tf.Input{c.op.Output(0), rv.Output(i)}, map[string]any{"dtype": c.dt})
		if err != nil {
			return err
		}
		assigns = append(assigns, a)
	}
	out, err := r.m.sm.Run(nil, nil, assigns)
	if err != nil {
		return fmt.Errorf("savedmodel: SavedModel %s: restoring variables its loader left uninitialised: %w", r.m.dir, err)
	}
	return tfrun.Close(out...)
}

// Close releases the session.
func (m *LoadedModel) Close() error {
	if m == nil || m.sm == nil {
		return nil
	}
	err := m.sm.Close()
	m.sm = nil
	return err
}

// SignatureKeys returns the model's signature keys, sorted.
func (m *LoadedModel) SignatureKeys() []string {
	var ks []string
	for k := range m.sm.Signatures {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Signature returns the named signature, or an ErrSignature error listing the model's.
func (m *LoadedModel) Signature(key string) (tf.Signature, error) {
	s, ok := m.sm.Signatures[key]
	if !ok {
		return tf.Signature{}, fmt.Errorf("savedmodel: SavedModel %s: %w: no signature %q (it has %s)", m.dir, ErrSignature, key, strings.Join(m.SignatureKeys(), ", "))
	}
	return s, nil
}

// Run runs signature key with inputs (keyed by the signature's input keys) and returns the
// requested outputs (all when outputs is empty), keyed by output key. The inputs stay the
// caller's; the outputs are the caller's to close (tfrun.Close). Missing or extra inputs
// and inputs of the wrong dtype or shape are errors naming the key, the expected and the given.
func (m *LoadedModel) Run(key string, inputs map[string]*tf.Tensor, outputs ...string) (map[string]*tf.Tensor, error) {
	sig, err := m.Signature(key)
	if err != nil {
		return nil, err
	}
	feeds := map[tf.Output]*tf.Tensor{}
	for k, t := range inputs {
		ti, ok := sig.Inputs[k]
		if !ok {
			return nil, fmt.Errorf("savedmodel: signature %s: %w: no input %q", key, ErrSignature, k)
		}
		if t.DataType() != ti.DType {
			return nil, fmt.Errorf("savedmodel: signature %s input %s: %w: dtype %s given, signature declares %s", key, k, ErrSignature, tfrun.DTypeName(t.DataType()), tfrun.DTypeName(ti.DType))
		}
		if err := shapeAccepts(ti.Shape, t.Shape()); err != nil {
			return nil, fmt.Errorf("savedmodel: signature %s input %s: %w: %v", key, k, ErrSignature, err)
		}
		o, err := outputByName(m.sm.Graph, ti.Name)
		if err != nil {
			return nil, err
		}
		feeds[o] = t
	}
	for k := range sig.Inputs {
		if _, ok := inputs[k]; !ok {
			return nil, fmt.Errorf("savedmodel: signature %s: %w: input %q not given", key, ErrSignature, k)
		}
	}
	if len(outputs) == 0 {
		for k := range sig.Outputs {
			outputs = append(outputs, k)
		}
		sort.Strings(outputs)
	}
	var fetch []tf.Output
	for _, k := range outputs {
		ti, ok := sig.Outputs[k]
		if !ok {
			return nil, fmt.Errorf("savedmodel: signature %s: %w: no output %q", key, ErrSignature, k)
		}
		o, err := outputByName(m.sm.Graph, ti.Name)
		if err != nil {
			return nil, err
		}
		fetch = append(fetch, o)
	}
	res, err := m.sm.Run(feeds, fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: running signature %s of %s: %w", key, m.dir, err)
	}
	out := map[string]*tf.Tensor{}
	for i, k := range outputs {
		out[k] = res[i]
	}
	return out, nil
}

func shapeAccepts(want tf.Shape, got []int64) error {
	n := want.NumDimensions()
	if n < 0 {
		return nil
	}
	if n != len(got) {
		return fmt.Errorf("shape %v given, signature declares %v", got, want)
	}
	dims, _ := want.ToSlice()
	for i, d := range dims {
		if d >= 0 && d != got[i] {
			return fmt.Errorf("shape %v given, signature declares %v", got, want)
		}
	}
	return nil
}

// outputByName resolves "op:index" (or "op") in g.
func outputByName(g *tf.Graph, name string) (tf.Output, error) {
	opName, idx := name, 0
	if i := strings.LastIndex(name, ":"); i >= 0 {
		opName = name[:i]
		if _, err := fmt.Sscanf(name[i+1:], "%d", &idx); err != nil {
			return tf.Output{}, fmt.Errorf("savedmodel: tensor name %q", name)
		}
	}
	o := g.Operation(opName)
	if o == nil {
		return tf.Output{}, fmt.Errorf("savedmodel: the SavedModel graph has no op %q", opName)
	}
	if idx >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("savedmodel: op %q has no output %d", opName, idx)
	}
	return o.Output(idx), nil
}

// LoadedVariable is a resource variable of a loaded SavedModel's graph.
type LoadedVariable struct {
	Name  string // VarHandleOp name
	Shape []int64
}

// Variables lists the float32 resource variables of the loaded graph (its top-level VarHandleOp
// nodes), in graph order.
func (m *LoadedModel) Variables() []LoadedVariable {
	var out []LoadedVariable
	for _, o := range m.sm.Graph.Operations() {
		if o.Type() != "VarHandleOp" {
			continue
		}
		dt, err := o.Attr("dtype")
		if err != nil || dt != tf.Float {
			continue
		}
		v := LoadedVariable{Name: o.Name()}
		if sh, err := o.Attr("shape"); err == nil {
			if s, ok := sh.(tf.Shape); ok {
				v.Shape, _ = s.ToSlice()
			}
		}
		out = append(out, v)
	}
	return out
}

// ReadVariables returns the current values of the named variables of the loaded model (as
// restored from its variables directory).
func (m *LoadedModel) ReadVariables(names []string) (map[string]tfrun.Array, error) {
	var fetch []tf.Output
	for _, n := range names {
		h := m.sm.Graph.Operation(n)
		if h == nil || h.Type() != "VarHandleOp" {
			return nil, fmt.Errorf("savedmodel: SavedModel %s has no variable %q", m.dir, n)
		}
		rd, err := m.sm.Graph.AddOperation(tf.OpSpec{Type: "ReadVariableOp", Name: fmt.Sprintf("nnclr_read_%d/%s", len(fetch), n),
			Input: []tf.Input{h.Output(0)}, Attrs: map[string]any{"dtype": tf.Float}})
		if err != nil {
			return nil, fmt.Errorf("savedmodel: reading variable %s of %s: %w", n, m.dir, err)
		}
		fetch = append(fetch, rd.Output(0))
	}
	res, err := m.sm.Run(nil, fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("savedmodel: reading variables of %s: %w", m.dir, err)
	}
	defer tfrun.Close(res...)
	out := map[string]tfrun.Array{}
	for i, n := range names {
		a, err := tfrun.TensorArray(res[i])
		if err != nil {
			return nil, fmt.Errorf("savedmodel: variable %s of %s: %w", n, m.dir, err)
		}
		out[n] = a
	}
	return out, nil
}

func mustTensor(v any) *tf.Tensor {
	t, err := tf.NewTensor(v)
	if err != nil {
		panic(err) // only called with Go values NewTensor accepts
	}
	return t
}
