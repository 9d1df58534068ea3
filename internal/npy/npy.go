// Package npy reads and writes NumPy .npy arrays and .npz archives (zip of .npy members) for the
// dtypes nnclr exchanges with Python: float32, float64, int64, int32, uint8 and bool.
package npy

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/nnclr/nnclr/internal/atomicfile"
)

// Array is an n-dimensional array in C order. Data is one of []float32, []float64, []int64,
// []int32, []uint8 or []bool, with as many elements as the shape's product.
type Array struct {
	Shape []int
	Data  any
}

// Len returns the number of elements the shape describes.
func (a Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

func descr(data any) (string, int, error) {
	switch v := data.(type) {
	case []float32:
		return "<f4", len(v), nil
	case []float64:
		return "<f8", len(v), nil
	case []int64:
		return "<i8", len(v), nil
	case []int32:
		return "<i4", len(v), nil
	case []uint8:
		return "|u1", len(v), nil
	case []bool:
		return "|b1", len(v), nil
	}
	return "", 0, fmt.Errorf("npy: unsupported data type %T", data)
}

// Encode writes a as a .npy (format 1.0) stream.
func Encode(w io.Writer, a Array) error {
	d, n, err := descr(a.Data)
	if err != nil {
		return err
	}
	if n != a.Len() {
		return fmt.Errorf("npy: %d elements for shape %v", n, a.Shape)
	}
	dims := make([]string, len(a.Shape))
	for i, s := range a.Shape {
		dims[i] = strconv.Itoa(s)
	}
	shape := strings.Join(dims, ", ")
	if len(a.Shape) == 1 {
		shape += ","
	}
	header := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", d, shape)
	// Pad with spaces so magic + version + length + header + newline is a multiple of 64.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	var pre bytes.Buffer
	pre.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&pre, binary.LittleEndian, uint16(len(header)))
	pre.WriteString(header)
	if _, err := w.Write(pre.Bytes()); err != nil {
		return err
	}
	return binary.Write(w, binary.LittleEndian, a.Data)
}

var (
	descrRe   = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	fortranRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe   = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// ErrFormat reports input that is not a .npy array nnclr can read.
var ErrFormat = errors.New("npy: bad format")

// Decode reads one .npy stream.
func Decode(r io.Reader) (Array, error) {
	var magic [8]byte
	if _, err := io.ReadFull(r, magic[:]); err != nil {
		return Array{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	if string(magic[:6]) != "\x93NUMPY" {
		return Array{}, fmt.Errorf("%w: no NUMPY magic", ErrFormat)
	}
	var hlen int
	switch magic[6] {
	case 1:
		var l uint16
		if err := binary.Read(r, binary.LittleEndian, &l); err != nil {
			return Array{}, fmt.Errorf("%w: header length: %v", ErrFormat, err)
		}
		hlen = int(l)
	case 2, 3:
		var l uint32
		if err := binary.Read(r, binary.LittleEndian, &l); err != nil {
			return Array{}, fmt.Errorf("%w: header length: %v", ErrFormat, err)
		}
		if l > 1<<20 {
			return Array{}, fmt.Errorf("%w: header of %d bytes", ErrFormat, l)
		}
		hlen = int(l)
	default:
		return Array{}, fmt.Errorf("%w: version %d.%d", ErrFormat, magic[6], magic[7])
	}
	h := make([]byte, hlen)
	if _, err := io.ReadFull(r, h); err != nil {
		return Array{}, fmt.Errorf("%w: header: %v", ErrFormat, err)
	}
	hs := string(h)
	dm, fm, sm := descrRe.FindStringSubmatch(hs), fortranRe.FindStringSubmatch(hs), shapeRe.FindStringSubmatch(hs)
	if dm == nil || fm == nil || sm == nil {
		return Array{}, fmt.Errorf("%w: header %q", ErrFormat, strings.TrimSpace(hs))
	}
	if fm[1] == "True" {
		return Array{}, fmt.Errorf("%w: Fortran-order arrays are not supported", ErrFormat)
	}
	var a Array
	for _, f := range strings.Split(sm[1], ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return Array{}, fmt.Errorf("%w: shape %q", ErrFormat, sm[1])
		}
		a.Shape = append(a.Shape, n)
	}
	n := 1
	for _, d := range a.Shape {
		if d > 0 && n > (1<<40)/d {
			return Array{}, fmt.Errorf("%w: shape %v too large", ErrFormat, a.Shape)
		}
		n *= d
	}
	size := map[string]int{"<f4": 4, "<f8": 8, "<i8": 8, "<i4": 4, "|u1": 1, "<u1": 1, "|b1": 1}[dm[1]]
	if size == 0 {
		return Array{}, fmt.Errorf("%w: dtype %s not supported", ErrFormat, dm[1])
	}
	// Read what is there before allocating the typed array: a lying header cannot make us
	// allocate more than the stream holds.
	raw, err := io.ReadAll(io.LimitReader(r, int64(n)*int64(size)))
	if err != nil || len(raw) != n*size {
		return Array{}, fmt.Errorf("%w: data of shape %v: %d of %d bytes", ErrFormat, a.Shape, len(raw), n*size)
	}
	switch dm[1] {
	case "<f4":
		a.Data = make([]float32, n)
	case "<f8":
		a.Data = make([]float64, n)
	case "<i8":
		a.Data = make([]int64, n)
	case "<i4":
		a.Data = make([]int32, n)
	case "|u1", "<u1":
		a.Data = make([]uint8, n)
	case "|b1":
		a.Data = make([]bool, n)
	}
	if _, err := binary.Decode(raw, binary.LittleEndian, a.Data); err != nil {
		return Array{}, fmt.Errorf("%w: data of shape %v: %v", ErrFormat, a.Shape, err)
	}
	return a, nil
}

// WriteNPZ writes arrays to path as an uncompressed .npz, atomically (a temporary file renamed
// into place).
func WriteNPZ(path string, arrays map[string]Array) error {
	names := make([]string, 0, len(arrays))
	for n := range arrays {
		names = append(names, n)
	}
	slices.Sort(names)
	err := atomicfile.Write(path, func(out io.Writer) error {
		zw := zip.NewWriter(out)
		for _, n := range names {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: n + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if err := Encode(w, arrays[n]); err != nil {
				return fmt.Errorf("array %s: %w", n, err)
			}
		}
		return zw.Close()
	})
	if err != nil {
		return fmt.Errorf("npy: %w", err)
	}
	return nil
}

// ReadNPZ reads every array of the .npz at path, keyed by member name without ".npy".
func ReadNPZ(path string) (map[string]Array, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("npy: %s: %w", path, err)
	}
	defer zr.Close()
	out := map[string]Array{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("npy: %s: member %s: %w", path, f.Name, err)
		}
		a, err := Decode(rc)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("npy: %s: member %s: %w", path, f.Name, err)
		}
		out[strings.TrimSuffix(f.Name, ".npy")] = a
	}
	return out, nil
}
