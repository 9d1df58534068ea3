package loader

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// STL-10 binary release layout: stl10_binary/{train,test,unlabeled}_X.bin hold uint8 images of
// 3x96x96, each image stored channel by channel and each channel column by column (the byte of
// row r, column c, channel k is at k*96*96 + c*96 + r); {train,test}_y.bin hold one label byte
// per image, 1..10; class_names.txt holds one class name a line.
const (
	stl10Side  = 96
	stl10Bytes = 3 * stl10Side * stl10Side
)

// STL10Spec returns the DatasetSpec of tfds's stl10 (version 1.0.0: 96x96x3, 10 classes).
func STL10Spec() DatasetSpec {
	return DatasetSpec{
		Name:        "stl10",
		Version:     "1.0.0",
		Shape:       Shape{stl10Side, stl10Side, 3},
		NumClasses:  10,
		Description: "The STL-10 dataset is an image recognition dataset for developing unsupervised feature learning, deep learning, self-taught learning algorithms.",
		Homepage:    "http://ai.stanford.edu/~acoates/stl10/",
		Citation:    "@inproceedings{coates2011stl10,\n  title={{An Analysis of Single Layer Networks in Unsupervised Feature Learning}},\n  author={Coates, Adam and Ng, Andrew and Lee, Honglak},\n  booktitle={AISTATS},\n  year={2011}\n}",
	}
}

// stl10Splits maps the tfds split names of STL-10 to the binary release's file prefixes.
var stl10Splits = []struct{ split, prefix string }{
	{"train", "train"},
	{"test", "test"},
	{"unlabelled", "unlabeled"},
}

// STL10Source reads one split of the STL-10 binary release in dir (the stl10_binary
// directory): split is "train", "test" or "unlabelled" (tfds's names). Labels are 0-based
// (the files' 1..10 minus one); unlabelled images get -1. Close it when done.
type STL10Source struct {
	f      *os.File
	path   string
	labels []byte
	n      int
}

// OpenSTL10 opens split of the STL-10 binary release in dir.
func OpenSTL10(dir, split string) (*STL10Source, error) {
	prefix := ""
	for _, s := range stl10Splits {
		if s.split == split {
			prefix = s.prefix
		}
	}
	if prefix == "" {
		return nil, fmt.Errorf("loader: stl10: %w %q (want train, test or unlabelled)", ErrUnknownSplit, split)
	}
	xp := filepath.Join(dir, prefix+"_X.bin")
	f, err := os.Open(xp)
	if err != nil {
		return nil, fmt.Errorf("loader: stl10: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("loader: stl10: %w", err)
	}
	if st.Size()%stl10Bytes != 0 {
		f.Close()
		return nil, fmt.Errorf("loader: %s: %w: %d bytes is not a multiple of %d (3x96x96)", xp, ErrBadSource, st.Size(), stl10Bytes)
	}
	s := &STL10Source{f: f, path: xp, n: int(st.Size() / stl10Bytes)}
	if prefix != "unlabeled" {
		yp := filepath.Join(dir, prefix+"_y.bin")
		s.labels, err = os.ReadFile(yp)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("loader: stl10: %w", err)
		}
		if len(s.labels) != s.n {
			f.Close()
			return nil, fmt.Errorf("loader: %s: %w: %d labels for %d images", yp, ErrBadSource, len(s.labels), s.n)
		}
		for i, l := range s.labels {
			if l < 1 || l > 10 {
				f.Close()
				return nil, fmt.Errorf("loader: %s: %w: label %d of image %d (offset %d) not in 1..10", yp, ErrBadSource, l, i, i)
			}
		}
	}
	return s, nil
}

// Len returns the number of images.
func (s *STL10Source) Len() int { return s.n }

// Shape returns 96x96x3.
func (s *STL10Source) Shape() Shape { return Shape{stl10Side, stl10Side, 3} }

// Read decodes image i into dst as HWC and returns its 0-based label (-1 when unlabelled).
// It is safe for concurrent use.
func (s *STL10Source) Read(i int, dst []byte) (int64, error) {
	if i < 0 || i >= s.n || len(dst) != stl10Bytes {
		return 0, fmt.Errorf("loader: %s: image %d of %d into %d bytes", s.path, i, s.n, len(dst))
	}
	var raw [stl10Bytes]byte
	if _, err := s.f.ReadAt(raw[:], int64(i)*stl10Bytes); err != nil {
		return 0, fmt.Errorf("loader: %s: image %d (offset %d): %w", s.path, i, int64(i)*stl10Bytes, err)
	}
	const plane = stl10Side * stl10Side
	for k := range 3 {
		p := raw[k*plane : (k+1)*plane]
		for c := range stl10Side {
			col := p[c*stl10Side : (c+1)*stl10Side]
			for r, v := range col {
				dst[(r*stl10Side+c)*3+k] = v
			}
		}
	}
	if s.labels == nil {
		return -1, nil
	}
	return int64(s.labels[i]) - 1, nil
}

// Close closes the image file. It is safe to call more than once.
func (s *STL10Source) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// ImportSTL10 writes the STL-10 binary release in binDir (the stl10_binary directory) to
// dataDir as tfds's stl10:1.0.0 with splits train (5,000), test (8,000) and unlabelled (100,000
// in the full release), taking class names from class_names.txt when present.
func ImportSTL10(binDir, dataDir string, opts WriterOptions) error {
	spec := STL10Spec()
	if b, err := os.ReadFile(filepath.Join(binDir, "class_names.txt")); err == nil {
		names := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(names) == spec.NumClasses {
			spec.ClassNames = names
		}
	}
	var srcs []*STL10Source
	defer func() {
		for _, s := range srcs {
			s.Close()
		}
	}()
	for _, sp := range stl10Splits {
		s, err := OpenSTL10(binDir, sp.split)
		if err != nil {
			return err
		}
		srcs = append(srcs, s)
	}
	w, err := NewWriter(dataDir, spec, opts)
	if err != nil {
		return err
	}
	for i, sp := range stl10Splits {
		if err := w.WriteSplit(sp.split, srcs[i]); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// FashionMNISTNames are the Fashion-MNIST class names, in label order.
var FashionMNISTNames = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// FashionMNISTSpec returns the DatasetSpec of tfds's fashion_mnist (version 3.0.1: 28x28x1,
// 10 named classes).
func FashionMNISTSpec() DatasetSpec {
	return DatasetSpec{
		Name:        "fashion_mnist",
		Version:     "3.0.1",
		Shape:       Shape{28, 28, 1},
		NumClasses:  10,
		ClassNames:  append([]string(nil), FashionMNISTNames...),
		Description: "Fashion-MNIST is a dataset of Zalando's article images consisting of a training set of 60,000 examples and a test set of 10,000 examples. Each example is a 28x28 grayscale image, associated with a label from 10 classes.",
		Homepage:    "https://github.com/zalandoresearch/fashion-mnist",
		Citation:    "@article{DBLP:journals/corr/abs-1708-07747,\n  author    = {Han Xiao and Kashif Rasul and Roland Vollgraf},\n  title     = {Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms},\n  journal   = {CoRR},\n  volume    = {abs/1708.07747},\n  year      = {2017}\n}",
	}
}

// FashionMNISTDir is where the Debian package dataset-fashion-mnist installs the IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// ReadIDX reads a pair of (optionally gzip-compressed) IDX files: images (magic 0x803, uint8,
// N x rows x cols) and labels (magic 0x801, uint8, N). It returns at most limit examples
// (limit <= 0: all) as a MemorySource of rows x cols x 1 images.
func ReadIDX(imagesPath, labelsPath string, limit int) (*MemorySource, error) {
	ih, ir, err := openIDX(imagesPath, 0x803, 3)
	if err != nil {
		return nil, err
	}
	defer ir.Close()
	lh, lr, err := openIDX(labelsPath, 0x801, 1)
	if err != nil {
		return nil, err
	}
	defer lr.Close()
	n := ih[0]
	if lh[0] != n {
		return nil, fmt.Errorf("loader: %s: %w: %d labels for %d images in %s", labelsPath, ErrBadSource, lh[0], n, imagesPath)
	}
	if limit > 0 && limit < n {
		n = limit
	}
	shape := Shape{ih[1], ih[2], 1}
	if shape.Height <= 0 || shape.Width <= 0 || shape.Height > 1<<12 || shape.Width > 1<<12 {
		return nil, fmt.Errorf("loader: %s: %w: image size %dx%d", imagesPath, ErrBadSource, shape.Height, shape.Width)
	}
	m := &MemorySource{Shp: shape, Images: make([]byte, n*shape.Size()), Labels: make([]int64, n)}
	if _, err := io.ReadFull(ir, m.Images); err != nil {
		return nil, fmt.Errorf("loader: %s: %w: %v", imagesPath, ErrBadSource, err)
	}
	lb := make([]byte, n)
	if _, err := io.ReadFull(lr, lb); err != nil {
		return nil, fmt.Errorf("loader: %s: %w: %v", labelsPath, ErrBadSource, err)
	}
	for i, l := range lb {
		m.Labels[i] = int64(l)
	}
	return m, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

// Close closes the gzip reader (if any) and the file.
func (r readCloser) Close() error { return r.close() }

// openIDX opens an IDX file (gzip-compressed when it starts with the gzip magic), checks its
// magic number and returns its dimensions and a reader positioned at the data.
func openIDX(path string, magic uint32, dims int) ([]int, io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("loader: %w", err)
	}
	br := bufio.NewReader(f)
	var r io.Reader = br
	closeAll := f.Close
	if b, _ := br.Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("loader: %s: %w: %v", path, ErrBadSource, err)
		}
		r = zr
		closeAll = func() error { zr.Close(); return f.Close() }
	}
	hdr := make([]byte, 4+4*dims)
	if _, err := io.ReadFull(r, hdr); err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("loader: %s: %w: header: %v", path, ErrBadSource, err)
	}
	if got := binary.BigEndian.Uint32(hdr); got != magic {
		closeAll()
		return nil, nil, fmt.Errorf("loader: %s: %w: magic 0x%08x, want 0x%08x", path, ErrBadSource, got, magic)
	}
	d := make([]int, dims)
	for i := range d {
		v := binary.BigEndian.Uint32(hdr[4+4*i:])
		if v > 1<<28 {
			closeAll()
			return nil, nil, fmt.Errorf("loader: %s: %w: dimension %d is %d", path, ErrBadSource, i, v)
		}
		d[i] = int(v)
	}
	return d, readCloser{r, closeAll}, nil
}

// ImportFashionMNIST writes the Fashion-MNIST IDX files in dir (train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; "" means
// FashionMNISTDir) to dataDir as tfds's fashion_mnist:3.0.1 with splits train and test. limit > 0
// keeps only the first limit examples of each split.
func ImportFashionMNIST(dir, dataDir string, limit int, opts WriterOptions) error {
	if dir == "" {
		dir = FashionMNISTDir
	}
	files := []struct{ split, prefix string }{{"train", "train"}, {"test", "t10k"}}
	srcs := make([]*MemorySource, len(files))
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	for i, f := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			srcs[i], errs[i] = ReadIDX(idxPath(dir, f.prefix+"-images-idx3-ubyte"), idxPath(dir, f.prefix+"-labels-idx1-ubyte"), limit)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w, err := NewWriter(dataDir, FashionMNISTSpec(), opts)
	if err != nil {
		return err
	}
	for i, f := range files {
		if err := w.WriteSplit(f.split, srcs[i]); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Close()
}

// idxPath returns dir/name.gz, or dir/name when only the uncompressed file exists.
func idxPath(dir, name string) string {
	p := filepath.Join(dir, name+".gz")
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return filepath.Join(dir, name)
		}
	}
	return p
}
