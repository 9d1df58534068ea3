package savedmodel

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	graphpb "github.com/wamuir/graft/tensorflow/core/framework/graph_go_proto"
	nodepb "github.com/wamuir/graft/tensorflow/core/framework/node_def_go_proto"
	shapepb "github.com/wamuir/graft/tensorflow/core/framework/tensor_shape_go_proto"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
	varpb "github.com/wamuir/graft/tensorflow/core/framework/variable_go_proto"
	corepb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Standard names of TensorFlow's SavedModel layout.
const (
	ServeTag            = "serve"
	DefaultSignature    = "serving_default"
	PredictMethod       = "tensorflow/serving/predict"
	ModelFile           = "saved_model.pb"
	VariablesDir        = "variables"
	VariablesPrefixName = "variables" // variables/variables.index and .data-*
)

// Tensor names a tensor of the graph in a signature.
type Tensor struct {
	Name  string // "op:0"
	DType typespb.DataType
	Shape []int64 // -1: unknown size; nil: unknown rank
}

// Variable describes a resource variable of the graph (a VariableDef).
type Variable struct {
	Name, Initializer, InitialValue, Snapshot string
	Trainable                                 bool
}

// MetaGraph is what Marshal needs to describe a TF1-style SavedModel with one graph: the
// GraphDef, one signature, the variables and the Saver endpoints that restore them.
type MetaGraph struct {
	GraphDef          []byte
	Tags              []string // default: serve
	SignatureKey      string   // default: serving_default
	Inputs, Outputs   map[string]Tensor
	Variables         []Variable
	FilenameTensor    string // SaverDef.filename_tensor_name
	SaveTensor        string // SaverDef.save_tensor_name
	RestoreOp         string // SaverDef.restore_op_name
	TensorFlowVersion string
}

func tensorInfo(t Tensor) *corepb.TensorInfo {
	ti := &corepb.TensorInfo{Encoding: &corepb.TensorInfo_Name{Name: t.Name}, Dtype: t.DType}
	if t.Shape == nil {
		ti.TensorShape = &shapepb.TensorShapeProto{UnknownRank: true}
	} else {
		sp := &shapepb.TensorShapeProto{}
		for _, d := range t.Shape {
			sp.Dim = append(sp.Dim, &shapepb.TensorShapeProto_Dim{Size: d})
		}
		ti.TensorShape = sp
	}
	return ti
}

// Marshal returns the serialized SavedModel proto (saved_model.pb) of m.
func Marshal(m MetaGraph) ([]byte, error) {
	var gd graphpb.GraphDef
	if err := proto.Unmarshal(m.GraphDef, &gd); err != nil {
		return nil, fmt.Errorf("savedmodel: graph: %w", err)
	}
	if len(m.Inputs) == 0 || len(m.Outputs) == 0 {
		return nil, errors.New("savedmodel: a signature needs inputs and outputs")
	}
	tags := m.Tags
	if len(tags) == 0 {
		tags = []string{ServeTag}
	}
	key := m.SignatureKey
	if key == "" {
		key = DefaultSignature
	}
	sig := &corepb.SignatureDef{Inputs: map[string]*corepb.TensorInfo{}, Outputs: map[string]*corepb.TensorInfo{}, MethodName: PredictMethod}
	for k, t := range m.Inputs {
		sig.Inputs[k] = tensorInfo(t)
	}
	for k, t := range m.Outputs {
		sig.Outputs[k] = tensorInfo(t)
	}
	mg := &corepb.MetaGraphDef{
		MetaInfoDef:   &corepb.MetaGraphDef_MetaInfoDef{Tags: tags, TensorflowVersion: m.TensorFlowVersion},
		GraphDef:      &gd,
		SignatureDef:  map[string]*corepb.SignatureDef{key: sig},
		CollectionDef: map[string]*corepb.CollectionDef{},
	}
	if m.RestoreOp != "" {
		mg.SaverDef = &corepb.SaverDef{FilenameTensorName: m.FilenameTensor, SaveTensorName: m.SaveTensor,
			RestoreOpName: m.RestoreOp, MaxToKeep: 5, KeepCheckpointEveryNHours: 10000, Version: corepb.SaverDef_V2}
	}
	if len(m.Variables) > 0 {
		var all, trainable [][]byte
		for _, v := range m.Variables {
			b, err := proto.Marshal(&varpb.VariableDef{VariableName: v.Name + ":0", InitializerName: v.Initializer,
				InitialValueName: v.InitialValue, SnapshotName: v.Snapshot, IsResource: true, Trainable: v.Trainable})
			if err != nil {
				return nil, err
			}
			all = append(all, b)
			if v.Trainable {
				trainable = append(trainable, b)
			}
		}
		bl := func(v [][]byte) *corepb.CollectionDef {
			return &corepb.CollectionDef{Kind: &corepb.CollectionDef_BytesList_{BytesList: &corepb.CollectionDef_BytesList{Value: v}}}
		}
		mg.CollectionDef["variables"] = bl(all)
		mg.CollectionDef["trainable_variables"] = bl(trainable)
	}
	return proto.MarshalOptions{Deterministic: true}.Marshal(&corepb.SavedModel{SavedModelSchemaVersion: 1, MetaGraphs: []*corepb.MetaGraphDef{mg}})
}

// VariablesPrefix returns the checkpoint prefix of a SavedModel directory's variables.
func VariablesPrefix(dir string) string { return filepath.Join(dir, VariablesDir, VariablesPrefixName) }

// WriteAtomic makes the SavedModel directory out: fill is called with a temporary directory
// beside out, where it writes the variables (at VariablesPrefix(tmp)) and returns the MetaGraph;
// saved_model.pb is written there and the directory is renamed to out. On any error the
// temporary directory is removed and out is untouched. An existing out is replaced only when
// overwrite is set.
func WriteAtomic(out string, overwrite bool, fill func(tmp string) (MetaGraph, error)) (err error) {
	if _, err := os.Stat(out); err == nil && !overwrite {
		return fmt.Errorf("savedmodel: %s exists (choose another output or overwrite it)", out)
	}
	parent := filepath.Dir(out)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp")
	if err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	m, err := fill(tmp)
	if err != nil {
		return err
	}
	b, err := Marshal(m)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, ModelFile), b, 0o644); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	if _, err := os.Stat(out); err == nil {
		old := tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("savedmodel: replacing %s: %w", out, err)
		}
		if err := os.Rename(tmp, out); err != nil {
			os.Rename(old, out)
			return fmt.Errorf("savedmodel: %w", err)
		}
		return os.RemoveAll(old)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("savedmodel: %w", err)
	}
	return nil
}

// Signature describes one signature of a SavedModel.
type Signature struct {
	Key             string
	Method          string
	Inputs, Outputs []NamedTensor
}

// NamedTensor is a signature entry: its key and tensor.
type NamedTensor struct {
	Key string
	Tensor
}

// Info is what a SavedModel's saved_model.pb says about one of its MetaGraphs.
type Info struct {
	Tags       []string
	Signatures []Signature
	// Variables lists the model's variables with their shapes: from the object graph of a TF2
	// SavedModel (each name once), else the graph's VarHandleOp and VariableV2 nodes.
	Variables []VariableInfo
}

// VariableInfo is a variable's op name and shape.
type VariableInfo struct {
	Name  string
	Shape []int64
}

// ErrBadModel reports a SavedModel directory that cannot be read.
var ErrBadModel = errors.New("savedmodel: bad SavedModel")

// Read parses dir/saved_model.pb and describes each MetaGraph.
func Read(dir string) ([]Info, error) {
	path := filepath.Join(dir, ModelFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	var sm corepb.SavedModel
	if err := proto.Unmarshal(raw, &sm); err != nil {
		return nil, fmt.Errorf("%w: %s: %v (truncated or not a SavedModel)", ErrBadModel, path, err)
	}
	if len(sm.MetaGraphs) == 0 {
		return nil, fmt.Errorf("%w: %s holds no MetaGraph", ErrBadModel, path)
	}
	var out []Info
	for _, mg := range sm.MetaGraphs {
		info := Info{Tags: mg.GetMetaInfoDef().GetTags()}
		keys := make([]string, 0, len(mg.SignatureDef))
		for k := range mg.SignatureDef {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			sd := mg.SignatureDef[k]
			s := Signature{Key: k, Method: sd.MethodName, Inputs: namedTensors(sd.Inputs), Outputs: namedTensors(sd.Outputs)}
			info.Signatures = append(info.Signatures, s)
		}
		seen := map[string]bool{}
		addVars := func(nodes []*nodepb.NodeDef) {
			for _, n := range nodes {
				if (n.Op == "VarHandleOp" || n.Op == "VariableV2") && !seen[n.Name] {
					seen[n.Name] = true
					v := VariableInfo{Name: n.Name}
					if sh := n.Attr["shape"].GetShape(); sh != nil {
						for _, d := range sh.Dim {
							v.Shape = append(v.Shape, d.Size)
						}
					}
					info.Variables = append(info.Variables, v)
				}
			}
		}
		// TF2 SavedModels describe their variables in the object graph (Keras 3 models list some
		// twice: keep each name once); TF1 ones only as graph nodes.
		for _, n := range mg.GetObjectGraphDef().GetNodes() {
			if v := n.GetVariable(); v != nil && !seen[v.Name] {
				seen[v.Name] = true
				vi := VariableInfo{Name: v.Name}
				for _, d := range v.GetShape().GetDim() {
					vi.Shape = append(vi.Shape, d.Size)
				}
				info.Variables = append(info.Variables, vi)
			}
		}
		if len(info.Variables) == 0 {
			addVars(mg.GetGraphDef().GetNode())
		}
		out = append(out, info)
	}
	return out, nil
}

func namedTensors(m map[string]*corepb.TensorInfo) []NamedTensor {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []NamedTensor
	for _, k := range keys {
		ti := m[k]
		t := Tensor{Name: ti.GetName(), DType: ti.Dtype}
		if sh := ti.TensorShape; sh != nil && !sh.UnknownRank {
			t.Shape = []int64{}
			for _, d := range sh.Dim {
				t.Shape = append(t.Shape, d.Size)
			}
		}
		out = append(out, NamedTensor{Key: k, Tensor: t})
	}
	return out
}
