package tfgraph

import (
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// variable is one resource variable of a graph.
type variable struct {
	spec   VarSpec
	dtype  tf.DataType
	handle tf.Output
	read   tf.Output     // the read of the step's forward pass and the metrics
	out    tf.Output     // the read at the boundary (Weights, the saver): read, or read as float32
	in     tf.Output     // placeholder of SetWeights, at the boundary's type
	assign *tf.Operation // assigns in to the variable
	stream uint64        // Init's stream: the variable's place in the model with a probe, from 0
}

// builder builds graph parts under the root scope s for a model of cfg and collects the
// variables it creates, in creation order (the checkpoint's and Init's order).
type builder struct {
	s      *op.Scope
	cfg    ModelConfig
	vars   []*variable
	byName map[string]*variable
	next   uint64 // the next variable's stream
}

func newBuilder(s *op.Scope, cfg ModelConfig) *builder {
	return &builder{s: s, cfg: cfg, byName: map[string]*variable{}}
}

// newVar creates a resource variable named spec.Name with its read, and the placeholder and
// assignment SetWeights feeds. A float64 variable (ModelConfig.testFloat64) is float32 at the
// boundary: its placeholder is float32, cast on assignment, and out is its read cast to float32.
func (b *builder) newVar(spec VarSpec, dtype tf.DataType) *variable {
	s := b.s.SubScope(spec.Name)
	v := &variable{spec: spec, dtype: dtype, stream: b.next}
	b.next++
	v.handle = op.VarHandleOp(s.SubScope("VarHandleOp"), dtype, tf.MakeShape(spec.Shape...), op.VarHandleOpSharedName(spec.Name))
	v.read = op.ReadVariableOp(s.SubScope("read"), v.handle, dtype)
	v.out = v.read
	v.in = op.Placeholder(s.SubScope("in"), v.boundaryType(), op.PlaceholderShape(tf.MakeShape(spec.Shape...)))
	value := v.in
	if dtype != v.boundaryType() {
		value = op.Cast(s.SubScope("in_cast"), v.in, dtype)
		v.out = op.Cast(s.SubScope("out_cast"), v.read, tf.Float)
	}
	v.assign = op.AssignVariableOp(s.SubScope("assign"), v.handle, value)
	b.vars = append(b.vars, v)
	b.byName[spec.Name] = v
	return v
}

// reserve leaves n of Init's streams unused, for variables a model of another configuration
// has at this place (a model without a probe keeps the streams of the model with one).
func (b *builder) reserve(n int) { b.next += uint64(n) }

// boundaryType is the variable's type outside the graph (SetWeights, Weights, checkpoints):
// float32 for a float variable of either precision.
func (v *variable) boundaryType() tf.DataType {
	if v.dtype == tf.Double {
		return tf.Float
	}
	return v.dtype
}

// newVars creates variables of the model's float type for specs.
func (b *builder) newVars(specs []VarSpec) []*variable {
	out := make([]*variable, len(specs))
	for i, sp := range specs {
		out[i] = b.newVar(sp, b.cfg.floatType())
	}
	return out
}

// readAfter reads the variables again, after deps: the values a step's later part sees.
func readAfter(s *op.Scope, vs []*variable, deps ...*tf.Operation) []tf.Output {
	ds := s.WithControlDependencies(deps...)
	out := make([]tf.Output, len(vs))
	for i, v := range vs {
		out[i] = op.ReadVariableOp(ds.SubScope("read"), v.handle, v.dtype)
	}
	return out
}

func reads(vs []*variable) []tf.Output {
	out := make([]tf.Output, len(vs))
	for i, v := range vs {
		out[i] = v.read
	}
	return out
}

// outs are the variables' reads at the boundary (variable.out).
func outs(vs []*variable) []tf.Output {
	out := make([]tf.Output, len(vs))
	for i, v := range vs {
		out[i] = v.out
	}
	return out
}

func f32(s *op.Scope, v float64) tf.Output { return op.Const(s.SubScope("Const"), float32(v)) }

// constOf is the scalar constant v of type dtype: float64 for tf.Double, else float32 (f32).
func constOf(s *op.Scope, dtype tf.DataType, v float64) tf.Output {
	if dtype == tf.Double {
		return op.Const(s.SubScope("Const"), v)
	}
	return f32(s, v)
}

// constLike is the scalar constant v of x's float type, to combine with x: the same graph as
// f32 in a float32 model, float64 constants in a float64 one (ModelConfig.testFloat64).
func constLike(s *op.Scope, x tf.Output, v float64) tf.Output { return constOf(s, x.DataType(), v) }

// constsLike is the vector constant v of x's float type, built in s itself.
func constsLike(s *op.Scope, x tf.Output, v ...float64) tf.Output {
	if x.DataType() == tf.Double {
		return op.Const(s, v)
	}
	v32 := make([]float32, len(v))
	for i, f := range v {
		v32[i] = float32(f)
	}
	return op.Const(s, v32)
}

// castTo is x cast to dtype, or x itself when it has that type already.
func castTo(s *op.Scope, x tf.Output, dtype tf.DataType) tf.Output {
	if x.DataType() == dtype {
		return x
	}
	return op.Cast(s.SubScope("Cast"), x, dtype)
}

// toFloat32 is outs cast to float32 where they are not: a float64 model's fetches at the
// boundary.
func toFloat32(s *op.Scope, outs []tf.Output) []tf.Output {
	res := make([]tf.Output, len(outs))
	for i, o := range outs {
		res[i] = castTo(s, o, tf.Float)
	}
	return res
}

func i32(s *op.Scope, v ...int32) tf.Output {
	if len(v) == 1 {
		return op.Const(s.SubScope("Const"), v[0])
	}
	return op.Const(s.SubScope("Const"), v)
}

// finalize finishes a graph built by build under root: graft panics when an op is built on the
// output of a failed one, so a panic becomes the scope's first error.
func finalize(root *op.Scope, what string, build func() error) (g *tf.Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			if serr := root.Err(); serr != nil {
				r = serr
			}
			g, err = nil, fmt.Errorf("tfgraph: %s: %v", what, r)
		}
	}()
	if err := build(); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", what, err)
	}
	if g, err = root.Finalize(); err != nil {
		return nil, fmt.Errorf("tfgraph: %s: %w", what, err)
	}
	return g, nil
}
