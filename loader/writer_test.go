package loader

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriterRoundTrip(t *testing.T) {
	dir := t.TempDir()
	shape := Shape{3, 5, 3}
	ds := writeSynth(t, dir, shape, map[string]int{"a": 7, "b": 1}, 3)
	for split, n := range map[string]int{"a": 7, "b": 1} {
		images, labels, s := readSplitFileOrder(t, ds, split)
		if len(s.Shards) != (n+2)/3 {
			t.Errorf("%s: %d shards", split, len(s.Shards))
		}
		for i := range n {
			if !bytes.Equal(images[i*shape.Size():(i+1)*shape.Size()], synthImage(split, i, shape)) || labels[i] != int64(i%10) {
				t.Fatalf("%s: example %d changed", split, i)
			}
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "synth"))
	if len(ents) != 1 || ents[0].Name() != "1.0.0" {
		t.Fatalf("left in the dataset dir: %v", ents)
	}
	// Writing the same version again fails unless Overwrite is set.
	spec := DatasetSpec{Name: "synth", Version: "1.0.0", Shape: shape, NumClasses: 10}
	src := &MemorySource{Shp: shape, Images: make([]byte, shape.Size()), Labels: []int64{1}}
	for _, overwrite := range []bool{false, true} {
		w, err := NewWriter(dir, spec, WriterOptions{Overwrite: overwrite})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteSplit("c", src); err != nil {
			t.Fatal(err)
		}
		err = w.Close()
		if (err == nil) != overwrite {
			t.Fatalf("overwrite=%v: Close: %v", overwrite, err)
		}
	}
	ds2, err := Open(dir, "synth")
	if err != nil || len(ds2.SplitNames()) != 1 {
		t.Fatalf("after overwrite: %v %v", ds2, err)
	}
}

func TestWriterErrors(t *testing.T) {
	shape := Shape{2, 2, 1}
	good := DatasetSpec{Name: "x", Version: "1.0.0", Shape: shape, NumClasses: 3}
	specs := map[string]func(*DatasetSpec){
		"bad name":      func(s *DatasetSpec) { s.Name = "../x" },
		"upper name":    func(s *DatasetSpec) { s.Name = "X" },
		"bad version":   func(s *DatasetSpec) { s.Version = "1.0" },
		"bad shape":     func(s *DatasetSpec) { s.Shape = Shape{2, 2, 4} },
		"no classes":    func(s *DatasetSpec) { s.NumClasses = 0 },
		"names/classes": func(s *DatasetSpec) { s.ClassNames = []string{"a"} },
	}
	for name, edit := range specs {
		t.Run(name, func(t *testing.T) {
			spec := good
			edit(&spec)
			if _, err := NewWriter(t.TempDir(), spec, WriterOptions{}); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	dir := t.TempDir()
	w, err := NewWriter(dir, good, WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ok := &MemorySource{Shp: shape, Images: make([]byte, 8), Labels: []int64{0, -1}}
	if err := w.WriteSplit("train", ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		split string
		src   Source
		want  string
	}{
		"twice":       {"train", ok, "twice"},
		"bad name":    {"a/b", ok, "split name"},
		"wrong shape": {"s1", &MemorySource{Shp: Shape{2, 3, 1}, Images: make([]byte, 6), Labels: []int64{0}}, "wrong image shape"},
		"label":       {"s2", &MemorySource{Shp: shape, Images: make([]byte, 4), Labels: []int64{3}}, "label 3 outside [-1, 3)"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := w.WriteSplit(c.split, c.src); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
	w.Abort()
	w.Abort()
	if ents, _ := os.ReadDir(filepath.Join(dir, "x")); len(ents) != 0 {
		t.Fatalf("Abort left %v", ents)
	}
}

// TestSTL10Layout checks the documented byte layout on one hand-made image (the cross-check
// against tfds's own STL-10 builder is TestCrossCheckSTL10GoWritesTFDSReads).
func TestSTL10Layout(t *testing.T) {
	dir := t.TempDir()
	x := make([]byte, 2*stl10Bytes)
	for i := range x {
		x[i] = byte(i*31 + i/7)
	}
	os.WriteFile(filepath.Join(dir, "train_X.bin"), x, 0o644)
	os.WriteFile(filepath.Join(dir, "train_y.bin"), []byte{1, 10}, 0o644)
	os.WriteFile(filepath.Join(dir, "unlabeled_X.bin"), x[:stl10Bytes], 0o644)
	s, err := OpenSTL10(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	dst := make([]byte, stl10Bytes)
	for img, wantLabel := range []int64{0, 9} {
		label, err := s.Read(img, dst)
		if err != nil || label != wantLabel {
			t.Fatalf("image %d: label %d, %v", img, label, err)
		}
		for _, p := range [][3]int{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}, {5, 17, 2}, {95, 3, 1}, {95, 95, 2}} {
			r, c, k := p[0], p[1], p[2]
			want := x[img*stl10Bytes+k*96*96+c*96+r]
			if got := dst[(r*96+c)*3+k]; got != want {
				t.Fatalf("image %d row %d col %d ch %d: %d, want %d", img, r, c, k, got, want)
			}
		}
	}
	u, err := OpenSTL10(dir, "unlabelled")
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	if l, err := u.Read(0, dst); err != nil || l != -1 {
		t.Fatalf("unlabelled label %d, %v", l, err)
	}
}

func TestSTL10Errors(t *testing.T) {
	tests := []struct {
		name  string
		x     int // bytes of train_X.bin
		y     []byte
		split string
		want  error
		msg   string
	}{
		{"partial image", stl10Bytes + 5, []byte{1}, "train", ErrBadSource, "not a multiple"},
		{"label count", stl10Bytes, []byte{1, 2}, "train", ErrBadSource, "2 labels for 1 images"},
		{"label 0", stl10Bytes * 2, []byte{3, 0}, "train", ErrBadSource, "label 0 of image 1"},
		{"label 11", stl10Bytes, []byte{11}, "train", ErrBadSource, "train_y.bin"},
		{"split", stl10Bytes, []byte{1}, "validation", ErrUnknownSplit, "validation"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "train_X.bin"), make([]byte, tc.x), 0o644)
			os.WriteFile(filepath.Join(dir, "train_y.bin"), tc.y, 0o644)
			_, err := OpenSTL10(dir, tc.split)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v with %q", err, tc.want, tc.msg)
			}
		})
	}
	if err := ImportSTL10(t.TempDir(), t.TempDir(), WriterOptions{}); err == nil {
		t.Fatal("import of an empty directory succeeded")
	}
}

func idxFile(magic uint32, dims []uint32, data []byte, gz bool) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(data)
	if !gz {
		return b.Bytes()
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b.Bytes())
	w.Close()
	return z.Bytes()
}

func TestReadIDX(t *testing.T) {
	img := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	tests := []struct {
		name           string
		images, labels []byte
		limit          int
		want           error
		n              int
	}{
		{"gzip", idxFile(0x803, []uint32{2, 2, 3}, img, true), idxFile(0x801, []uint32{2}, []byte{4, 7}, true), 0, nil, 2},
		{"plain, limit", idxFile(0x803, []uint32{2, 2, 3}, img, false), idxFile(0x801, []uint32{2}, []byte{4, 7}, false), 1, nil, 1},
		{"magic", idxFile(0x801, []uint32{2, 2, 3}, img, true), idxFile(0x801, []uint32{2}, []byte{4, 7}, true), 0, ErrBadSource, 0},
		{"count", idxFile(0x803, []uint32{2, 2, 3}, img, true), idxFile(0x801, []uint32{3}, []byte{4, 7, 1}, true), 0, ErrBadSource, 0},
		{"short data", idxFile(0x803, []uint32{2, 2, 3}, img[:10], true), idxFile(0x801, []uint32{2}, []byte{4, 7}, true), 0, ErrBadSource, 0},
		{"short header", []byte{0, 0, 8}, idxFile(0x801, []uint32{2}, []byte{4, 7}, true), 0, ErrBadSource, 0},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, idxFile(0x801, []uint32{2}, []byte{4, 7}, true), 0, ErrBadSource, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ip, lp := filepath.Join(dir, "i"), filepath.Join(dir, "l")
			os.WriteFile(ip, tc.images, 0o644)
			os.WriteFile(lp, tc.labels, 0o644)
			m, err := ReadIDX(ip, lp, tc.limit)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("got %v, want %v naming the file", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Len() != tc.n || m.Shape() != (Shape{2, 3, 1}) || !bytes.Equal(m.Images, img[:tc.n*6]) || m.Labels[0] != 4 {
				t.Fatalf("got %+v", m)
			}
		})
	}
}
