package tfrun

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

// Tensors are closed explicitly: graft frees a tensor's memory only by finalizer otherwise, and
// the garbage collector, which does not see TensorFlow's allocations, runs too seldom to keep the
// allocator from growing. The constructors here and Session.Run count the tensors they hand out;
// Close counts them back. OpenTensors is that count, which tests use to find leaks.

// openTensors is the number of tensors handed out by this package and not closed yet.
var openTensors atomic.Int64

func opened(n int) { openTensors.Add(int64(n)) }

// OpenTensors returns how many tensors made by this package's constructors or fetched by
// Session.Run (and Trace) have not been closed by Close.
func OpenTensors() int64 { return openTensors.Load() }

// ErrClosedTwice reports a tensor closed a second time: two owners thought they held it.
var ErrClosedTwice = errors.New("tfrun: tensor closed twice")

// Close releases the memory of each tensor (nil ones are skipped) at once. It returns
// ErrClosedTwice, naming how many, when some tensor was already closed.
func Close(ts ...*tf.Tensor) error {
	twice := 0
	for _, t := range ts {
		if t == nil {
			continue
		}
		if t.Close() != nil {
			twice++
			continue
		}
		openTensors.Add(-1)
	}
	if twice > 0 {
		return fmt.Errorf("%w (%d of %d tensors)", ErrClosedTwice, twice, len(ts))
	}
	return nil
}

// NewTensor converts a Go value (a scalar, or a slice or array of them) to a tensor, as
// graft's NewTensor does, counted for Close.
func NewTensor(v any) (*tf.Tensor, error) {
	t, err := tf.NewTensor(v)
	if err != nil {
		return nil, fmt.Errorf("tfrun: tensor of %T: %w", v, err)
	}
	opened(1)
	return t, nil
}

// fillReader hands the tensor's own memory to fill, so the data is written once, in place.
type fillReader struct {
	fill func([]byte) error
	done bool
}

func (r *fillReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	r.done = true
	if err := r.fill(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// NewFloatTensor allocates a float32 tensor of shape and lets fill write its values directly into
// the tensor's memory (no intermediate copy). fill must write every value; the slice must not be
// kept after fill returns. The tensor belongs to the caller.
func NewFloatTensor(shape []int64, fill func([]float32) error) (*tf.Tensor, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return nil, fmt.Errorf("tfrun: tensor shape %v: negative dimension", shape)
		}
		n *= d
	}
	r := &fillReader{fill: func(p []byte) error {
		if int64(len(p)) != 4*n {
			return fmt.Errorf("tfrun: tensor buffer has %d bytes, want %d", len(p), 4*n)
		}
		if n == 0 {
			return fill(nil)
		}
		return fill(unsafe.Slice((*float32)(unsafe.Pointer(&p[0])), n))
	}}
	if n == 0 {
		r.done = true
		if err := fill(nil); err != nil {
			return nil, err
		}
	}
	t, err := tf.ReadTensor(tf.Float, shape, r)
	if err != nil {
		return nil, fmt.Errorf("tfrun: new float tensor %v: %w", shape, err)
	}
	opened(1)
	return t, nil
}

// Float32s returns a float32 tensor's values, flattened in row-major order.
func Float32s(t *tf.Tensor) ([]float32, error) {
	if t.DataType() != tf.Float {
		return nil, fmt.Errorf("tfrun: tensor of type %v, want float32", t.DataType())
	}
	n := int64(1)
	for _, d := range t.Shape() {
		n *= d
	}
	out := make([]float32, n)
	if n == 0 {
		return out, nil
	}
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n)
	w := &sliceWriter{buf: buf}
	if _, err := t.WriteContentsTo(w); err != nil {
		return nil, fmt.Errorf("tfrun: reading tensor: %w", err)
	}
	if w.n != len(buf) {
		return nil, fmt.Errorf("tfrun: tensor gave %d bytes, want %d", w.n, len(buf))
	}
	return out, nil
}

type sliceWriter struct {
	buf []byte
	n   int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > len(w.buf) {
		return 0, fmt.Errorf("tfrun: tensor larger than its shape")
	}
	copy(w.buf[w.n:], p)
	w.n += len(p)
	return len(p), nil
}

// NewInt64Tensor returns a 1-D int64 tensor holding a copy of v (labels, for instance).
func NewInt64Tensor(v []int64) (*tf.Tensor, error) {
	return NewTensor(append([]int64(nil), v...))
}

// NewInt32Matrix copies rows (all of one length) into an int32 tensor of shape [len(rows), n]
// (a Batch's SupportPick).
func NewInt32Matrix(rows [][]int32) (*tf.Tensor, error) {
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("tfrun: int32 matrix: rows of %d and %d values", len(rows[0]), len(r))
		}
	}
	return NewTensor(rows)
}

// DTypeName returns TensorFlow's name of dt in lower case, e.g. "uint8", "float".
func DTypeName(dt tf.DataType) string {
	return strings.ToLower(strings.TrimPrefix(typespb.DataType(dt).String(), "DT_"))
}

// Array is a tensor's value in Go: its shape and row-major values (Float for float32 tensors,
// Int for int64 ones).
type Array struct {
	Shape []int64
	Float []float32
	Int   []int64
}

// Size returns the number of values of a's shape.
func (a Array) Size() int64 {
	n := int64(1)
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// TensorArray copies a float32 or int64 tensor into an Array.
func TensorArray(t *tf.Tensor) (Array, error) {
	a := Array{Shape: slices.Clone(t.Shape())}
	switch t.DataType() {
	case tf.Float:
		f, err := Float32s(t)
		a.Float = f
		return a, err
	case tf.Int64:
		switch v := t.Value().(type) {
		case int64:
			a.Int = []int64{v}
		case []int64:
			a.Int = v
		default:
			return a, fmt.Errorf("tfrun: unexpected int64 tensor of shape %v", a.Shape)
		}
		return a, nil
	}
	return a, fmt.Errorf("tfrun: tensor of type %s: want float32 or int64", DTypeName(t.DataType()))
}

// ArrayTensor makes a tensor of a's shape and values (float32 when a.Int is nil, else int64),
// checking that they agree.
func ArrayTensor(a Array) (*tf.Tensor, error) {
	if a.Int != nil {
		if int64(len(a.Int)) != a.Size() {
			return nil, fmt.Errorf("tfrun: %d int64 values for shape %v", len(a.Int), a.Shape)
		}
		if len(a.Shape) == 0 {
			return NewTensor(a.Int[0])
		}
		t, err := NewTensor(a.Int)
		if err == nil {
			if err = t.Reshape(a.Shape); err != nil {
				Close(t)
				return nil, fmt.Errorf("tfrun: int64 tensor %v: %w", a.Shape, err)
			}
		}
		return t, err
	}
	if int64(len(a.Float)) != a.Size() {
		return nil, fmt.Errorf("tfrun: %d float32 values for shape %v", len(a.Float), a.Shape)
	}
	return NewFloatTensor(a.Shape, func(dst []float32) error { copy(dst, a.Float); return nil })
}
