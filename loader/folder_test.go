package loader

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testpy"
)

// runFolderRef runs pyref/folder_ref.py with args and fails the test on error.
func runFolderRef(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testpy.Interpreter(t), append([]string{filepath.Join("pyref", "folder_ref.py")}, args...)...)
	cmd.Env = append(os.Environ(), "TF_CPP_MIN_LOG_LEVEL=2", "TFDS_DISABLE_GCS=1", "NO_GCE_CHECK=true")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("folder_ref.py %v: %v\n%s", args, err, tail(out.Bytes(), 4000))
	}
}

type folderCheck struct {
	Names      []string `json:"names"`
	ImageShape []int    `json:"image_shape"`
	Splits     map[string][]struct {
		Filename string `json:"filename"`
		Label    int64  `json:"label"`
		Shape    []int  `json:"shape"`
		Hex      string `json:"hex"`
		Resized  string `json:"resized"`
	} `json:"splits"`
	RefNames  []string         `json:"ref_names"`
	RefLabels map[string]int64 `json:"ref_labels"`
}

type expectedPixels map[string]struct {
	Shape []int  `json:"shape"`
	Hex   string `json:"hex"`
}

// genFolder writes the fixture folder of layout into a temporary directory (pyref/folder_ref.py
// gen, Pillow) and returns it with the pixels the conversion rule must give.
func genFolder(t *testing.T, layout string) (string, expectedPixels) {
	dir := t.TempDir()
	root := filepath.Join(dir, "src")
	runFolderRef(t, "gen", "--out", root, "--layout", layout)
	b, err := os.ReadFile(filepath.Join(dir, "src.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp expectedPixels
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return root, exp
}

func checkFolder(t *testing.T, dataDir, name, root, layout string) folderCheck {
	out := filepath.Join(t.TempDir(), "check.json")
	runFolderRef(t, "check", "--data-dir", dataDir, "--name", name, "--root", root, "--layout", layout, "--size", "16", "--out", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var c folderCheck
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportFolderReadByTFDS imports a folder of class folders (14 images of many sizes and
// formats per class, and files that are not images) with a test fraction, and reads it back
// with the real tfds.builder_from_directory: Features.Filenames is set and every example's
// SplitReader.Filename is the image/filename tfds reads, the class names are Keras's
// (image_dataset_from_directory's indexing), every example's label is its source folder's and
// Keras's, every image file is written once, the test split is stratified, JPEG and 8-bit PNG
// bytes are the source file's, the converted images' pixels are the stated rule's (computed by
// Pillow/NumPy), the loader's pixels equal tfds's (PNG) or are close (JPEG: Go's
// decoder vs libjpeg), and the pipeline's resize of these images of different sizes equals
// tf.image.resize(bilinear) within one level, with and without the cache.
func TestImportFolderReadByTFDS(t *testing.T) {
	root, exp := genFolder(t, "classes")
	dataDir := t.TempDir()
	rep, err := ImportFolder(context.Background(), dataDir, "my_images", FolderOptions{Source: root, TestFraction: 0.25, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stored != 18 || rep.Converted != 24 || rep.Resized != 0 || len(rep.NotImages) != 9 || len(rep.Skipped) != 0 {
		t.Fatalf("report: %d stored, %d converted, %d resized, %d not images, %d skipped; want 18, 24, 0, 9, 0",
			rep.Stored, rep.Converted, rep.Resized, len(rep.NotImages), len(rep.Skipped))
	}
	if rep.Splits["train"] != 30 || rep.Splits["test"] != 12 || rep.Channels != 3 {
		t.Fatalf("splits %v, channels %d: want train 30, test 12 (round(0.25·14) = 4 per class), 3 channels", rep.Splits, rep.Channels)
	}
	c := checkFolder(t, dataDir, "my_images", root, "classes")
	if !slices.Equal(c.Names, []string{"cat", "dog", "zebra"}) || !slices.Equal(c.Names, c.RefNames) || !slices.Equal(c.Names, rep.ClassNames) {
		t.Fatalf("label names: tfds %v, Keras %v, report %v", c.Names, c.RefNames, rep.ClassNames)
	}
	if !slices.Equal(c.ImageShape, []int{-1, -1, 3}) {
		t.Fatalf("tfds image shape %v, want [-1 -1 3]", c.ImageShape)
	}
	ds, err := Open(dataDir, "my_images")
	if err != nil {
		t.Fatal(err)
	}
	if !ds.Features.Filenames {
		t.Error("Features.Filenames is false for a folder import (features.json declares image/filename)")
	}
	seen := map[string]bool{}
	var jpegMax, jpegN int
	var jpegSum float64
	for _, split := range []string{"train", "test"} {
		rows := c.Splits[split]
		perClass := map[int64]int{}
		sp, err := ds.Split(split)
		if err != nil {
			t.Fatal(err)
		}
		r, err := sp.Open()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if r.Len() != len(rows) {
			t.Fatalf("%s: Go reads %d examples, tfds %d", split, r.Len(), len(rows))
		}
		for i, row := range rows {
			fn := row.Filename
			if seen[fn] {
				t.Fatalf("%s written twice", fn)
			}
			seen[fn] = true
			perClass[row.Label]++
			class, _, _ := strings.Cut(fn, "/")
			if want := int64(slices.Index(c.Names, class)); row.Label != want {
				t.Errorf("%s: label %d, its folder is class %d", fn, row.Label, want)
			}
			if ref, ok := c.RefLabels[fn]; ok && ref != row.Label {
				t.Errorf("%s: label %d, Keras gives %d", fn, row.Label, ref)
			}
			if got, _, err := r.Filename(i, nil); err != nil || got != fn {
				t.Errorf("%s example %d: Filename %q, %v; tfds reads %q", split, i, got, err, fn)
			}
			rec, err := r.Record(i, nil)
			if err != nil {
				t.Fatal(err)
			}
			ex, err := ParseExample(rec)
			if err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(filepath.Join(root, fn))
			if err != nil {
				t.Fatal(err)
			}
			ext := strings.ToLower(filepath.Ext(fn))
			stored := (ext == ".jpg" || ext == ".jpeg" || strings.HasPrefix(filepath.Base(fn), "a_") || strings.HasPrefix(filepath.Base(fn), "d_")) && !strings.Contains(fn, "cmyk")
			if stored != bytes.Equal(ex.Image, src) {
				t.Errorf("%s: stored bytes equal to the source's: %v, want %v", fn, !stored, stored)
			}
			tfpix, err := hex.DecodeString(row.Hex)
			if err != nil {
				t.Fatal(err)
			}
			gopix, shape, _, _, err := r.ReadImage(i, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if want := (Shape{row.Shape[0], row.Shape[1], row.Shape[2]}); shape != want {
				t.Fatalf("%s: Go decodes %v, tfds %v", fn, shape, want)
			}
			if e, ok := exp[fn]; ok {
				want, _ := hex.DecodeString(e.Hex)
				if e.Shape[2] == 1 {
					want = replicate(want)
				}
				if !bytes.Equal(tfpix, want) {
					t.Errorf("%s: tfds's pixels of the converted image differ from the rule's (Pillow/NumPy)", fn)
				}
			}
			if bytes.HasPrefix(ex.Image, []byte{0xff, 0xd8}) {
				m, sum := maxAbsDiff(gopix, tfpix)
				jpegMax, jpegSum, jpegN = max(jpegMax, m), jpegSum+sum, jpegN+len(tfpix)
			} else if !bytes.Equal(gopix, tfpix) {
				t.Errorf("%s: Go's PNG pixels differ from tfds's", fn)
			}
			if strings.Contains(fn, "m_exif") && shape.Width <= shape.Height {
				t.Errorf("%s: %v: the EXIF orientation must be ignored (the file's pixels are wider than high)", fn, shape)
			}
		}
		if split == "test" {
			for l, n := range perClass {
				if n != 4 {
					t.Errorf("test split: class %d has %d examples, want 4 (stratified)", l, n)
				}
			}
		}
		// The pipeline at 16×16×3: tfds's images resized by tf.image.resize, within one level
		// (rounding at exact halves); the cache gives the same batches.
		cache := NewImageCache(r.Len(), Shape{16, 16, 3})
		for pass := range 2 {
			it, err := NewBatchIterator(r, BatchConfig{BatchSize: 5, Output: Shape{16, 16, 3}, Cache: cache, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			k := 0
			for {
				b, err := it.Next()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				for j := range b.Len() {
					want, _ := hex.DecodeString(rows[k].Resized)
					if m, _ := maxAbsDiff(b.Image(j), want); m > 1 && !strings.HasSuffix(strings.ToLower(rows[k].Filename), "jpg") && !strings.HasSuffix(rows[k].Filename, "jpeg") {
						t.Errorf("pass %d: %s resized differs from tf.image.resize by %d levels", pass, rows[k].Filename, m)
					}
					if b.Labels[j] != rows[k].Label {
						t.Errorf("pass %d: example %d label %d, tfds %d", pass, k, b.Labels[j], rows[k].Label)
					}
					k++
				}
			}
			it.Close()
			if k != len(rows) {
				t.Fatalf("pipeline gave %d examples, want %d", k, len(rows))
			}
		}
	}
	if len(seen) != 42 {
		t.Fatalf("%d images written, want 42", len(seen))
	}
	t.Logf("JPEG pixels, Go's image/jpeg vs TensorFlow's libjpeg: max |diff| %d levels, mean %.3f over %d values", jpegMax, jpegSum/float64(jpegN), jpegN)
	if jpegMax > jpegMaxDiff || jpegSum/float64(jpegN) > jpegMeanDiff {
		t.Errorf("JPEG pixels differ from TensorFlow's by up to %d levels (mean %.3f), more than %d (mean %g)", jpegMax, jpegSum/float64(jpegN), jpegMaxDiff, jpegMeanDiff)
	}
}

// The difference between Go's and libjpeg's decoding of the fixture JPEGs (small 4:2:0 images
// with sharp detail, where chroma upsampling differs most) the test accepts.
const (
	jpegMaxDiff  = 16
	jpegMeanDiff = 2.0
)

func replicate(g []byte) []byte {
	out := make([]byte, 3*len(g))
	for i, v := range g {
		out[3*i], out[3*i+1], out[3*i+2] = v, v, v
	}
	return out
}

func maxAbsDiff(a, b []byte) (int, float64) {
	m, s := 0, 0.0
	for i := range min(len(a), len(b)) {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
		s += float64(d)
	}
	if len(a) != len(b) {
		m = 256
	}
	return m, s
}

// TestImportFolderSplitsMatchImageFolder imports DIR/<split>/<class>/... (train has cat, dog,
// zebra; test has dog and ant) and compares with tfds.folder_dataset.ImageFolder on the same
// folder: the same label names (the sorted union) and the same label for every file both read.
func TestImportFolderSplitsMatchImageFolder(t *testing.T) {
	root, _ := genFolder(t, "splits")
	dataDir := t.TempDir()
	rep, err := ImportFolder(context.Background(), dataDir, "split_images", FolderOptions{Source: root, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Layout != LayoutSplits || rep.Splits["train"] != 42 || rep.Splits["test"] != 28 {
		t.Fatalf("layout %s, splits %v: want splits, train 42, test 28", rep.Layout, rep.Splits)
	}
	c := checkFolder(t, dataDir, "split_images", root, "splits")
	if !slices.Equal(c.Names, c.RefNames) || !slices.Equal(c.Names, []string{"ant", "cat", "dog", "zebra"}) {
		t.Fatalf("label names: ours %v, ImageFolder %v", c.Names, c.RefNames)
	}
	compared := 0
	for _, rows := range c.Splits {
		for _, row := range rows {
			if ref, ok := c.RefLabels[row.Filename]; ok {
				compared++
				if ref != row.Label {
					t.Errorf("%s: label %d, ImageFolder %d", row.Filename, row.Label, ref)
				}
			}
		}
	}
	junk := 0 // ImageFolder also lists the AppleDouble files ._*.jpg, which nnclr skips
	for f := range c.RefLabels {
		if strings.HasPrefix(filepath.Base(f), "._") {
			junk++
		}
	}
	if compared != len(c.RefLabels)-junk || compared < 30 {
		t.Fatalf("compared %d files of ImageFolder's %d", compared, len(c.RefLabels))
	}
}
