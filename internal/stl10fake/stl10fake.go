// Package stl10fake writes small archives in the format of the STL-10 binary release
// (stl10_binary.tar.gz) from generated images, for tests of the import and download code.
package stl10fake

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"math/rand/v2"
)

// ClassNames are STL-10's class names, in label order.
var ClassNames = []string{"airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"}

// Archive returns a .tar.gz holding stl10_binary/{train,test}_{X,y}.bin with n images each,
// unlabeled_X.bin with 2n images (random pixels, 3×96×96 column-major per image, 1-based uint8
// labels) and class_names.txt; the same seed gives the same bytes.
func Archive(n int, seed uint64) ([]byte, error) {
	r := rand.New(rand.NewPCG(seed, 8))
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: "stl10_binary/" + name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	img := func(k int) []byte {
		b := make([]byte, k*3*96*96)
		for i := range b {
			b[i] = uint8(r.IntN(256))
		}
		return b
	}
	lab := func(k int) []byte {
		b := make([]byte, k)
		for i := range b {
			b[i] = uint8(1 + r.IntN(10))
		}
		return b
	}
	names := ""
	for _, c := range ClassNames {
		names += c + "\n"
	}
	for _, m := range []struct {
		name string
		data []byte
	}{
		{"class_names.txt", []byte(names)},
		{"train_X.bin", img(n)}, {"train_y.bin", lab(n)},
		{"test_X.bin", img(n)}, {"test_y.bin", lab(n)},
		{"unlabeled_X.bin", img(2 * n)},
	} {
		if err := add(m.name, m.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
