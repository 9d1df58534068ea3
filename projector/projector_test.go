package projector

import (
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/setting"
)

func gray(h, w int, v byte) Image {
	p := make([]byte, h*w)
	for i := range p {
		p[i] = v
	}
	return Image{Pix: p, Shape: loader.Shape{Height: h, Width: w, Channels: 1}}
}

func vectors(n, d int) []float32 {
	v := make([]float32, n*d)
	for i := range v {
		v[i] = float32(i)*0.25 - 1.0/3
	}
	return v
}

func TestSpriteLayout(t *testing.T) {
	for _, tc := range []struct {
		n, w, h         int
		thumbW, spriteW int
		err             string
	}{
		{n: 2500, w: 28, h: 28, thumbW: 28, spriteW: 1400},
		{n: 2500, w: 96, h: 96, thumbW: 96, spriteW: 4800},
		{n: 10000, w: 96, h: 96, thumbW: 81, spriteW: 8100},    // 100 cells of 96 px would be 9600 px
		{n: 5, w: 28, h: 28, thumbW: 28, spriteW: 84},          // a 3×3 grid
		{n: 2_000_000, w: 28, h: 28, thumbW: 5, spriteW: 7075}, // 1415 cells of 5 px
		{n: 5_000_000, w: 28, h: 28, err: "at most 4194304 images fit"},
	} {
		thumb, sprite, err := SpriteLayout(tc.n, tc.w, tc.h)
		if tc.err != "" {
			var se *setting.Error
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.As(err, &se) || se.Flag() == "" || !strings.Contains(se.Flag(), "--projector-limit 5000000") {
				t.Errorf("%d images: %v (want an error on projector_limit saying %q)", tc.n, err, tc.err)
			}
			continue
		}
		if err != nil || thumb.X != tc.thumbW || sprite.X != tc.spriteW || sprite.X != sprite.Y || sprite.X > MaxSpriteSide {
			t.Errorf("%d images of %dx%d: thumb %v sprite %v %v; want %d and %d", tc.n, tc.w, tc.h, thumb, sprite, err, tc.thumbW, tc.spriteW)
		}
	}
}

// configPaths returns the paths the config names, resolved against its directory.
func configPaths(t *testing.T, dir string) []string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)(tensor_path|metadata_path|image_path): "([^"]+)"`).FindAllStringSubmatch(string(raw), -1) {
		out = append(out, filepath.Join(dir, m[2]))
	}
	return out
}

func TestWriteMetadataColumns(t *testing.T) {
	dir := t.TempDir()
	e := Embedding{Name: "ds/test", Vectors: vectors(3, 2), Dim: 2, Index: []int{4, 7, 9}, Labels: []int64{1, 0, 1},
		ClassNames: []string{"cat", "dog\tbig"}, Images: []Image{gray(6, 6, 10), gray(6, 6, 20), gray(6, 6, 30)}}
	res, err := Write(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ := os.ReadFile(filepath.Join(res.Dir, metadataFile))
	if want := "index\tlabel\tclass\n4\t1\tdog big\n7\t0\tcat\n9\t1\tdog big\n"; string(meta) != want {
		t.Errorf("metadata.tsv:\n%q\nwant\n%q", meta, want)
	}
	tens, _ := os.ReadFile(filepath.Join(res.Dir, tensorsFile))
	// Every value reads back as the same float32.
	var got []float32
	for _, line := range strings.Split(strings.TrimSuffix(string(tens), "\n"), "\n") {
		for _, f := range strings.Split(line, "\t") {
			v, err := strconv.ParseFloat(f, 32)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, float32(v))
		}
	}
	if !slices.Equal(got, e.Vectors) {
		t.Errorf("tensors.tsv %q reads as %v, want %v", tens, got, e.Vectors)
	}
	f, err := os.Open(res.Sprite)
	if err != nil {
		t.Fatal(err)
	}
	im, err := png.Decode(f)
	f.Close()
	if err != nil || im.Bounds().Dx() != 12 || im.Bounds().Dy() != 12 {
		t.Fatalf("sprite: %v, %v (want 12x12: a 2x2 grid of 6 px)", im.Bounds(), err)
	}
	// Row-major from the top left: image 2 is the first of the second row; the last cell is empty.
	if r, _, _, _ := im.At(1, 7).RGBA(); r>>8 != 30 {
		t.Errorf("sprite cell 2 has %d, want 30", r>>8)
	}
	for _, p := range configPaths(t, dir) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("config names %s: %v", p, err)
		}
	}

	// Unlabelled: the index alone, one column and so no header; said so.
	e2 := Embedding{Name: "ds/unlabelled", Vectors: vectors(2, 2), Dim: 2, Index: []int{0, 5}}
	res2, err := Write(dir, e2)
	if err != nil {
		t.Fatal(err)
	}
	meta, _ = os.ReadFile(filepath.Join(res2.Dir, metadataFile))
	if string(meta) != "0\n5\n" || len(res2.Notes) != 1 || !strings.Contains(res2.Notes[0], "no labels") {
		t.Errorf("unlabelled: metadata %q, notes %q", meta, res2.Notes)
	}
	// Both embeddings stay in the config.
	raw, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if !strings.Contains(string(raw), `tensor_name: "ds/test"`) || !strings.Contains(string(raw), `tensor_name: "ds/unlabelled"`) {
		t.Errorf("config lost an embedding:\n%s", raw)
	}
}

func TestWriteMixedSizes(t *testing.T) {
	dir := t.TempDir()
	e := Embedding{Name: "mixed", Vectors: vectors(3, 1), Dim: 1, Images: []Image{gray(8, 8, 1), gray(10, 6, 2), gray(8, 8, 3)}}
	res, err := Write(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	if res.Thumb.X != 8 || res.Thumb.Y != 8 || len(res.Notes) < 2 || !strings.Contains(strings.Join(res.Notes, "\n"), "2 sizes") || !strings.Contains(strings.Join(res.Notes, "\n"), "resized to 8x8") {
		t.Errorf("mixed sizes: thumb %v notes %q", res.Thumb, res.Notes)
	}
	if _, err := Write(dir, Embedding{Name: "bad", Vectors: vectors(2, 1), Dim: 1, Images: []Image{gray(8, 8, 1)}}); err == nil || !strings.Contains(err.Error(), "2 rows but 0 indices, 0 labels, 0 files, 1 images") {
		t.Errorf("1 image for 2 rows: %v", err)
	}
}

// TestInterruptedWrite checks that a write that fails before its end, or a crash that left a
// temporary directory, leaves a config naming only complete files.
func TestInterruptedWrite(t *testing.T) {
	dir := t.TempDir()
	e := Embedding{Name: "ds/test", Vectors: vectors(4, 3), Dim: 3, Labels: []int64{0, 1, 0, 1}, Images: []Image{gray(4, 4, 1), gray(4, 4, 2), gray(4, 4, 3), gray(4, 4, 4)}}
	if _, err := Write(dir, e); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	// A crash's leftovers: a half-written temporary directory.
	os.MkdirAll(filepath.Join(dir, DataDir, ".ds_test.2.tmp123"), 0o755)
	os.WriteFile(filepath.Join(dir, DataDir, ".ds_test.2.tmp123", tensorsFile), []byte("1\t2"), 0o644)
	// The rename into place fails: a file holds the name of the next generation.
	os.WriteFile(filepath.Join(dir, DataDir, "ds_test.2"), nil, 0o644)
	if _, err := Write(dir, e); err == nil {
		t.Fatal("write over a blocked name succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if string(after) != string(before) {
		t.Errorf("the failed write changed the config:\n%s", after)
	}
	for _, p := range configPaths(t, dir) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("config names %s: %v", p, err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, DataDir))
	for _, de := range ents {
		if strings.HasPrefix(de.Name(), ".ds_test.2.tmp") && de.Name() != ".ds_test.2.tmp123" {
			t.Errorf("failed write left %s", de.Name())
		}
	}
	// Unblocked, the next write replaces generation 1, which goes.
	os.Remove(filepath.Join(dir, DataDir, "ds_test.2"))
	res, err := Write(dir, e)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(res.Dir) != "ds_test.2" {
		t.Errorf("new generation %s, want ds_test.2", res.Dir)
	}
	if _, err := os.Stat(filepath.Join(dir, DataDir, "ds_test.1")); !os.IsNotExist(err) {
		t.Errorf("replaced generation 1 still there: %v", err)
	}
	for _, p := range configPaths(t, dir) {
		if !strings.Contains(p, "ds_test.2") {
			t.Errorf("config names %s", p)
		}
	}
}
