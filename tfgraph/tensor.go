package tfgraph

import (
	"fmt"
	"io"
	"strings"
	"unsafe"

	tf "github.com/wamuir/graft/tensorflow"
	typespb "github.com/wamuir/graft/tensorflow/core/framework/types_go_proto"
)

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
			return nil, fmt.Errorf("tfgraph: tensor shape %v: negative dimension", shape)
		}
		n *= d
	}
	r := &fillReader{fill: func(p []byte) error {
		if int64(len(p)) != 4*n {
			return fmt.Errorf("tfgraph: tensor buffer has %d bytes, want %d", len(p), 4*n)
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
		return nil, fmt.Errorf("tfgraph: new float tensor %v: %w", shape, err)
	}
	return t, nil
}

// Float32s returns a float32 tensor's values, flattened in row-major order.
func Float32s(t *tf.Tensor) ([]float32, error) {
	if t.DataType() != tf.Float {
		return nil, fmt.Errorf("tfgraph: tensor of type %v, want float32", t.DataType())
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
		return nil, fmt.Errorf("tfgraph: reading tensor: %w", err)
	}
	if w.n != len(buf) {
		return nil, fmt.Errorf("tfgraph: tensor gave %d bytes, want %d", w.n, len(buf))
	}
	return out, nil
}

type sliceWriter struct {
	buf []byte
	n   int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	if w.n+len(p) > len(w.buf) {
		return 0, fmt.Errorf("tfgraph: tensor larger than its shape")
	}
	copy(w.buf[w.n:], p)
	w.n += len(p)
	return len(p), nil
}

// NewInt64Tensor returns a 1-D int64 tensor holding a copy of v (labels, for instance).
func NewInt64Tensor(v []int64) (*tf.Tensor, error) {
	t, err := tf.NewTensor(append([]int64(nil), v...))
	if err != nil {
		return nil, fmt.Errorf("tfgraph: int64 tensor: %w", err)
	}
	return t, nil
}

// NewInt32Matrix copies rows (all of one length) into an int32 tensor of shape [len(rows), n]
// (a Batch's SupportPick).
func NewInt32Matrix(rows [][]int32) (*tf.Tensor, error) {
	for _, r := range rows {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("tfgraph: int32 matrix: rows of %d and %d values", len(rows[0]), len(r))
		}
	}
	t, err := tf.NewTensor(rows)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: int32 matrix: %w", err)
	}
	return t, nil
}

// DTypeName returns TensorFlow's name of dt in lower case, e.g. "uint8", "float".
func DTypeName(dt tf.DataType) string {
	return strings.ToLower(strings.TrimPrefix(typespb.DataType(dt).String(), "DT_"))
}
