package tfgraph

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// LoadedModel is a SavedModel loaded through libtensorflow (TF_LoadSessionFromSavedModel): a
// model exported by nnclr or saved by Python (tf.saved_model.save, Keras model.export). Close
// releases it; it is safe to call more than once.
type LoadedModel struct {
	dir string
	sm  *tf.SavedModel
}

// ErrSignature reports an unknown signature or signature key.
var ErrSignature = errors.New("signature mismatch")

// LoadSavedModel loads the MetaGraph of dir tagged with tags (default: serve).
func LoadSavedModel(dir string, tags []string, sc SessionConfig) (*LoadedModel, error) {
	if len(tags) == 0 {
		tags = []string{"serve"}
	}
	if _, err := os.Stat(filepath.Join(dir, "saved_model.pb")); err != nil {
		return nil, fmt.Errorf("tfgraph: SavedModel %s: %w", dir, err)
	}
	cfg, err := sc.configProto()
	if err != nil {
		return nil, err
	}
	sm, err := tf.LoadSavedModel(dir, tags, &tf.SessionOptions{Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: loading SavedModel %s with tags %v: %w", dir, tags, err)
	}
	return &LoadedModel{dir: dir, sm: sm}, nil
}

// Close releases the session.
func (m *LoadedModel) Close() error {
	if m == nil || m.sm == nil {
		return nil
	}
	err := m.sm.Session.Close()
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
		return tf.Signature{}, fmt.Errorf("tfgraph: SavedModel %s: %w: no signature %q (it has %s)", m.dir, ErrSignature, key, strings.Join(m.SignatureKeys(), ", "))
	}
	return s, nil
}

// Run runs signature key with inputs (keyed by the signature's input keys) and returns the
// requested outputs (all when outputs is empty), keyed by output key. Missing or extra inputs
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
			return nil, fmt.Errorf("tfgraph: signature %s: %w: no input %q", key, ErrSignature, k)
		}
		if t.DataType() != ti.DType {
			return nil, fmt.Errorf("tfgraph: signature %s input %s: %w: dtype %v given, signature declares %v", key, k, ErrSignature, t.DataType(), ti.DType)
		}
		if err := shapeAccepts(ti.Shape, t.Shape()); err != nil {
			return nil, fmt.Errorf("tfgraph: signature %s input %s: %w: %v", key, k, ErrSignature, err)
		}
		o, err := outputByName(m.sm.Graph, ti.Name)
		if err != nil {
			return nil, err
		}
		feeds[o] = t
	}
	for k := range sig.Inputs {
		if _, ok := inputs[k]; !ok {
			return nil, fmt.Errorf("tfgraph: signature %s: %w: input %q not given", key, ErrSignature, k)
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
			return nil, fmt.Errorf("tfgraph: signature %s: %w: no output %q", key, ErrSignature, k)
		}
		o, err := outputByName(m.sm.Graph, ti.Name)
		if err != nil {
			return nil, err
		}
		fetch = append(fetch, o)
	}
	res, err := m.sm.Session.Run(feeds, fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: running signature %s of %s: %w", key, m.dir, err)
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
			return tf.Output{}, fmt.Errorf("tfgraph: tensor name %q", name)
		}
	}
	o := g.Operation(opName)
	if o == nil {
		return tf.Output{}, fmt.Errorf("tfgraph: the SavedModel graph has no op %q", opName)
	}
	if idx >= o.NumOutputs() {
		return tf.Output{}, fmt.Errorf("tfgraph: op %q has no output %d", opName, idx)
	}
	return o.Output(idx), nil
}
