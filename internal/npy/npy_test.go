package npy

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/testpy"
)

func known() map[string]Array {
	f32 := make([]float32, 24)
	for i := range f32 {
		f32[i] = float32(i) / 7
	}
	u8 := make([]uint8, 256)
	for i := range u8 {
		u8[i] = uint8(i)
	}
	return map[string]Array{
		"f32":    {Shape: []int{2, 3, 4}, Data: f32},
		"f64":    {Shape: []int{5}, Data: []float64{-1, -0.5, 0, 0.5, 1}},
		"i64":    {Shape: []int{3}, Data: []int64{-(1 << 40), 0, 7}},
		"i32":    {Shape: []int{2, 2}, Data: []int32{1, -2, 3, 4}},
		"u8":     {Shape: []int{256}, Data: u8},
		"b":      {Shape: []int{3}, Data: []bool{true, false, true}},
		"scalar": {Shape: nil, Data: []float32{3.5}},
		"empty":  {Shape: []int{0, 4}, Data: []float32{}},
	}
}

func equal(a, b Array) bool {
	if !slices.Equal(a.Shape, b.Shape) {
		return false
	}
	switch x := a.Data.(type) {
	case []float32:
		y, ok := b.Data.([]float32)
		return ok && slices.Equal(x, y)
	case []float64:
		y, ok := b.Data.([]float64)
		return ok && slices.Equal(x, y)
	case []int64:
		y, ok := b.Data.([]int64)
		return ok && slices.Equal(x, y)
	case []int32:
		y, ok := b.Data.([]int32)
		return ok && slices.Equal(x, y)
	case []uint8:
		y, ok := b.Data.([]uint8)
		return ok && slices.Equal(x, y)
	case []bool:
		y, ok := b.Data.([]bool)
		return ok && slices.Equal(x, y)
	}
	return false
}

// TestNumPyRoundTrip: NumPy reads what Go writes, and Go reads what NumPy writes.
func TestNumPyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	goFile := filepath.Join(dir, "go.npz")
	if err := WriteNPZ(goFile, known()); err != nil {
		t.Fatal(err)
	}
	if out := testpy.Run(t, "testdata/numpy_check.py", "check", goFile); strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy check: %s", out)
	}
	pyFile := filepath.Join(dir, "py.npz")
	testpy.Run(t, "testdata/numpy_check.py", "write", pyFile)
	got, err := ReadNPZ(pyFile)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range known() {
		if !equal(got[k], want) {
			t.Errorf("%s: got %+v, want %+v", k, got[k], want)
		}
	}
}

func TestDecodeBadInput(t *testing.T) {
	var good bytes.Buffer
	if err := Encode(&good, Array{Shape: []int{2}, Data: []float32{1, 2}}); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header"},
		{"no magic", []byte("NOTNUMPY\x00\x00"), "no NUMPY magic"},
		{"version", append([]byte("\x93NUMPY\x09\x00"), g[8:]...), "version 9.0"},
		{"truncated data", g[:len(g)-3], "data of shape [2]"},
		{"dtype", bytes.Replace(g, []byte("<f4"), []byte("<c8"), 1), "dtype <c8"},
		{"fortran", bytes.Replace(g, []byte("False"), []byte("True "), 1), "Fortran"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(bytes.NewReader(tc.data))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	var b bytes.Buffer
	Encode(&b, Array{Shape: []int{2, 2}, Data: []int64{1, 2, 3, 4}})
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Decode(bytes.NewReader(data))
		if err == nil {
			var out bytes.Buffer
			if err := Encode(&out, a); err != nil {
				t.Fatalf("decoded array does not encode: %v", err)
			}
		}
	})
}
