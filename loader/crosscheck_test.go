package loader

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// readSplitFileOrder reads a split with the Go reader, in file order.
func readSplitFileOrder(t *testing.T, ds *Dataset, split string) ([]byte, []int64, *Split) {
	t.Helper()
	s, err := ds.Split(split)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	images, labels, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return images, labels, s
}

// permute returns images/labels reordered by order (file-order indices).
func permute(images []byte, labels []int64, size int, order []int) ([]byte, []int64) {
	oi := make([]byte, 0, len(images))
	ol := make([]int64, 0, len(labels))
	for _, i := range order {
		oi = append(oi, images[i*size:(i+1)*size]...)
		ol = append(ol, labels[i])
	}
	return oi, ol
}

func compareSplit(t *testing.T, what string, gotImages []byte, gotLabels []int64, wantImages []byte, wantLabels []int64) {
	t.Helper()
	if len(gotLabels) != len(wantLabels) {
		t.Fatalf("%s: %d examples, want %d", what, len(gotLabels), len(wantLabels))
	}
	for i := range wantLabels {
		if gotLabels[i] != wantLabels[i] {
			t.Errorf("%s: label %d = %d, want %d", what, i, gotLabels[i], wantLabels[i])
		}
	}
	if !bytes.Equal(gotImages, wantImages) {
		n := len(gotImages) / max(1, len(gotLabels))
		for i := range wantLabels {
			if !bytes.Equal(gotImages[i*n:(i+1)*n], wantImages[i*n:(i+1)*n]) {
				t.Errorf("%s: image %d differs", what, i)
				break
			}
		}
		t.Fatalf("%s: images differ", what)
	}
}

// TestCrossCheckTFDSWritesGoReads: tfds's own writer (a GeneratorBasedBuilder named stl10 with
// the stl10 feature spec) writes a small dataset; the Go reader must read what tfds reads.
func TestCrossCheckTFDSWritesGoReads(t *testing.T) {
	dir := t.TempDir()
	data, dump := filepath.Join(dir, "data"), filepath.Join(dir, "dump")
	runRef(t, "build", "--data-dir", data, "--name", "stl10", "--version", "1.0.0", "--shape", "96,96,3",
		"--splits", "train=4,test=3,unlabelled=5", "--seed", "11", "--dump", dump)
	want := loadDump(t, dump)
	for _, name := range []string{"stl10", "stl10:1.0.0"} {
		ds, err := Open(data, name)
		if err != nil {
			t.Fatal(err)
		}
		if ds.Features.Image.Shape != (Shape{96, 96, 3}) || ds.Features.Label.NumClasses != 10 {
			t.Fatalf("features %+v", ds.Features)
		}
		for split, n := range map[string]int{"train": 4, "test": 3, "unlabelled": 5} {
			images, labels, s := readSplitFileOrder(t, ds, split)
			if s.NumExamples() != n {
				t.Errorf("%s: %d examples, want %d", split, s.NumExamples(), n)
			}
			wi, wl, _ := want.split(t, split)
			compareSplit(t, name+"/"+split, images, labels, wi, wl)
		}
	}
}

// TestCrossCheckSTL10GoWritesTFDSReads: an STL-10 binary release made by the reference script is
// imported by the Go importer and writer (several shards per split); the images must equal those
// the real tfds STL-10 builder decodes from the same files, and tfds.load / builder_from_directory
// must read the Go-written dataset identically (tfds.load in its default interleaved order).
func TestCrossCheckSTL10GoWritesTFDSReads(t *testing.T) {
	dir := t.TempDir()
	bin, data := filepath.Join(dir, "bin"), filepath.Join(dir, "data")
	counts := map[string]int{"train": 20, "test": 7, "unlabelled": 40}
	runRef(t, "stl10-bin", "--out", bin, "--counts", "train=20,test=7,unlabeled=40", "--seed", "5", "--dump", filepath.Join(dir, "ref"))
	var reports int
	err := ImportSTL10(filepath.Join(bin, "stl10_binary"), data, WriterOptions{
		ExamplesPerShard: 17,
		Workers:          2,
		Progress:         ProgressFunc(func(split string, done, total int) { reports++ }),
	})
	if err != nil {
		t.Fatal(err)
	}
	if reports == 0 {
		t.Error("no progress reported")
	}
	ds, err := Open(data, "stl10")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Features.Label.Names) != 10 || ds.Features.Label.Names[0] != "airplane" {
		t.Errorf("class names %v", ds.Features.Label.Names)
	}
	ref := loadDump(t, filepath.Join(dir, "ref"))
	goRead := map[string][]byte{}
	goLabels := map[string][]int64{}
	shards := map[string][]int{}
	for split, n := range counts {
		images, labels, s := readSplitFileOrder(t, ds, split)
		if s.NumExamples() != n || len(s.Shards) != (n+16)/17 {
			t.Fatalf("%s: %d examples in %d shards", split, s.NumExamples(), len(s.Shards))
		}
		wi, wl, _ := ref.split(t, split)
		compareSplit(t, "go import vs tfds stl10 builder/"+split, images, labels, wi, wl)
		goRead[split], goLabels[split] = images, labels
		for _, sh := range s.Shards {
			shards[split] = append(shards[split], sh.NumExamples)
		}
	}

	runRef(t, "read", "--data-dir", data, "--name", "stl10", "--dir", ds.Dir, "--via", "load,dir",
		"--splits", "train,test,unlabelled", "--dump", filepath.Join(dir, "tfds"))
	load := loadDump(t, filepath.Join(dir, "tfds", "load"))
	fromDir := loadDump(t, filepath.Join(dir, "tfds", "dir"))
	size := ds.Features.Image.Shape.Size()
	for split := range counts {
		// tfds.load reads shards through interleave(cycle_length=16, block_length=16).
		oi, ol := permute(goRead[split], goLabels[split], size, InterleaveOrder(shards[split], nil, 16, 16))
		li, ll, _ := load.split(t, split)
		compareSplit(t, "tfds.load/"+split, oi, ol, li, ll)
		di, dl, _ := fromDir.split(t, split)
		compareSplit(t, "builder_from_directory/"+split, oi, ol, di, dl)
	}
}

// TestCrossCheckFashionMNIST uses 64 real images of each Fashion-MNIST split from the Debian
// package: the Go importer writes them (4 shards per split); numpy's decoding of the IDX files is
// the reference for pixels and labels, tfds.load must read the Go-written files identically,
// and the Go reader must read what tfds's own writer wrote from the same images.
func TestCrossCheckFashionMNIST(t *testing.T) {
	if _, err := os.Stat(filepath.Join(FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Fatalf("Fashion-MNIST is not installed (%v): run `make setup` (apt package dataset-fashion-mnist)", err)
	}
	const n = 64
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if err := ImportFashionMNIST("", data, n, WriterOptions{ExamplesPerShard: 20}); err != nil {
		t.Fatal(err)
	}
	ds, err := Open(data, "fashion_mnist:3.0.1")
	if err != nil {
		t.Fatal(err)
	}
	runRef(t, "idx", "--dir", FashionMNISTDir, "--n", "64", "--dump", filepath.Join(dir, "numpy"))
	runRef(t, "read", "--data-dir", data, "--name", "fashion_mnist", "--splits", "train,test", "--dump", filepath.Join(dir, "tfds"))
	ref := loadDump(t, filepath.Join(dir, "numpy"))
	load := loadDump(t, filepath.Join(dir, "tfds", "load"))
	for _, split := range []string{"train", "test"} {
		images, labels, s := readSplitFileOrder(t, ds, split)
		wi, wl, shape := ref.split(t, split)
		if shape != (Shape{28, 28, 1}) {
			t.Fatalf("numpy shape %v", shape)
		}
		compareSplit(t, "go vs numpy/"+split, images, labels, wi, wl)
		var lens []int
		for _, sh := range s.Shards {
			lens = append(lens, sh.NumExamples)
		}
		oi, ol := permute(images, labels, shape.Size(), InterleaveOrder(lens, nil, 16, 16))
		li, ll, _ := load.split(t, split)
		compareSplit(t, "tfds.load/"+split, oi, ol, li, ll)
	}

	// The other direction: tfds's writer, Go's reader.
	tdata := filepath.Join(dir, "tfdsdata")
	runRef(t, "build", "--data-dir", tdata, "--name", "fashion_mnist", "--version", "3.0.1", "--shape", "28,28,1",
		"--source", "fashion", "--idx-images", filepath.Join(FashionMNISTDir, "train-images-idx3-ubyte.gz"),
		"--idx-labels", filepath.Join(FashionMNISTDir, "train-labels-idx1-ubyte.gz"),
		"--splits", "train=64", "--dump", filepath.Join(dir, "built"))
	tds, err := Open(tdata, "fashion_mnist")
	if err != nil {
		t.Fatal(err)
	}
	if len(tds.Features.Label.Names) != 10 || tds.Features.Label.Names[9] != "Ankle boot" {
		t.Errorf("class names %v", tds.Features.Label.Names)
	}
	images, labels, _ := readSplitFileOrder(t, tds, "train")
	bi, bl, _ := loadDump(t, filepath.Join(dir, "built")).split(t, "train")
	compareSplit(t, "tfds writer, go reader", images, labels, bi, bl)
}
