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
	read   tf.Output     // the read of the step's forward pass, the metrics and the saver
	in     tf.Output     // placeholder of SetWeights
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
// assignment SetWeights feeds.
func (b *builder) newVar(spec VarSpec, dtype tf.DataType) *variable {
	s := b.s.SubScope(spec.Name)
	v := &variable{spec: spec, dtype: dtype, stream: b.next}
	b.next++
	v.handle = op.VarHandleOp(s.SubScope("VarHandleOp"), dtype, tf.MakeShape(spec.Shape...), op.VarHandleOpSharedName(spec.Name))
	v.read = op.ReadVariableOp(s.SubScope("read"), v.handle, dtype)
	v.in = op.Placeholder(s.SubScope("in"), dtype, op.PlaceholderShape(tf.MakeShape(spec.Shape...)))
	v.assign = op.AssignVariableOp(s.SubScope("assign"), v.handle, v.in)
	b.vars = append(b.vars, v)
	b.byName[spec.Name] = v
	return v
}

// reserve leaves n of Init's streams unused, for variables a model of another configuration
// has at this place (a model without a probe keeps the streams of the model with one).
func (b *builder) reserve(n int) { b.next += uint64(n) }

// newVars creates float32 variables for specs.
func (b *builder) newVars(specs []VarSpec) []*variable {
	out := make([]*variable, len(specs))
	for i, sp := range specs {
		out[i] = b.newVar(sp, tf.Float)
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

func f32(s *op.Scope, v float64) tf.Output { return op.Const(s.SubScope("Const"), float32(v)) }

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
