package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/loader"
)

// imageName is the i-th test image's file name without extension.
func imageName(i int) string { return "img" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }

// writeTestImage writes m to path as JPEG (a .jpg path, default quality) or PNG.
func writeTestImage(t *testing.T, path string, m image.Image) {
	t.Helper()
	var b bytes.Buffer
	if strings.HasSuffix(path, ".jpg") {
		jpeg.Encode(&b, m, nil)
	} else {
		png.Encode(&b, m)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeImageFolder writes DIR/<class>/... with n images of different sizes per class (PNG and
// JPEG; class "dark" darker than class "light"), a .DS_Store and a text file.
func writeImageFolder(t *testing.T, n int) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "photos")
	for c, class := range []string{"dark", "light"} {
		dir := filepath.Join(root, class)
		if err := os.MkdirAll(filepath.Join(dir, "nested"), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			h, w := 12+i%7, 15+(i*3)%11
			m := image.NewRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					v := uint8(40 + 140*c + (x*y+i)%60)
					m.Set(x, y, color.RGBA{v, uint8(int(v) * (x + 1) % 256), 255 - v, 255})
				}
			}
			name := filepath.Join(dir, imageName(i)+".png")
			if i%3 == 0 {
				name = filepath.Join(dir, "nested", imageName(i)+".jpg")
			}
			writeTestImage(t, name, m)
		}
		os.WriteFile(filepath.Join(dir, ".DS_Store"), []byte{0}, 0o644)
		os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
	}
	return root
}

// TestFolderEndToEnd: a user's folder of images of different sizes goes through the whole tool
// unchanged: prepare (and again: nothing to do; a changed option: refused naming it), pretrain
// with --cache (which prepares nothing more), evaluate, embed and export on --dataset NAME.
func TestFolderEndToEnd(t *testing.T) {
	src := writeImageFolder(t, 40)
	dataDir := t.TempDir()
	prep := []string{"--mode", "prepare", "--dataset", "my_photos", "--data-dir", dataDir, "--source", src, "--test-fraction", "0.25", "--seed", "4", "--quiet"}
	var out bytes.Buffer
	if err := run(prep, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"layout classes, 2 classes", "test            20 examples", "train           60 examples", "labels: dark, light", "skipped 4 files that are not images"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("prepare output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(prep, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "already prepared from the same files and options: nothing to do") {
		t.Fatalf("second prepare: %v\n%s", err, out.String())
	}
	err := run(append(prep[:len(prep)-1:len(prep)-1], "--max-side", "14", "--quiet"), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "max_side 0, now 14") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("prepare with another --max-side: %v", err)
	}
	ds, err := loader.Open(dataDir, "my_photos")
	if err != nil || ds.Features.Image.Shape.Fixed() {
		t.Fatalf("open: %v, shape %v: want images of different sizes", err, ds.Features.Image.Shape)
	}

	runDir := filepath.Join(t.TempDir(), "run")
	out.Reset()
	if err := run([]string{"--mode", "pretrain", "--dataset", "my_photos", "--data-dir", dataDir, "--run-dir", runDir, "--cache",
		"--image-size", "32", "--channels", "3", "--width", "8", "--queue-size", "96", "--epochs", "2", "--steps-per-epoch", "2", "--seed", "5", "--quiet"},
		&out, &out); err != nil {
		t.Fatalf("pretrain: %v", err)
	}
	// --cache decodes the train split (also the unlabelled stream's: one cache) and the test
	// split, 60 + 20 images, before the first step.
	if !strings.Contains(out.String(), "cache: 80 images decoded into memory") {
		t.Fatalf("pretrain --cache output: %s", out.String())
	}
	out.Reset()
	evalOut := filepath.Join(t.TempDir(), "eval.json")
	if err := run([]string{"--mode", "evaluate", "--dataset", "my_photos", "--data-dir", dataDir, "--run-dir", runDir, "--out", evalOut, "--linear-epochs", "2", "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if !strings.Contains(out.String(), "my_photos") {
		t.Fatalf("evaluate output: %s", out.String())
	}
	npz := filepath.Join(t.TempDir(), "emb.npz")
	out.Reset()
	if err := run([]string{"--mode", "embed", "--dataset", "my_photos", "--data-dir", dataDir, "--run-dir", runDir, "--split", "test", "--out", npz, "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("embed: %v", err)
	}
	if !strings.Contains(out.String(), "embedded 20 images of my_photos/test into 8 dimensions") {
		t.Fatalf("embed output: %s", out.String())
	}
	model := filepath.Join(t.TempDir(), "model")
	out.Reset()
	if err := run([]string{"--mode", "export", "--run-dir", runDir, "--out", model}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("export: %v", err)
	}
	if !strings.Contains(out.String(), "uint8 [N,32,32,3]") || !strings.Contains(out.String(), "probabilities [N,2]") {
		t.Fatalf("export output: %s", out.String())
	}
}

// TestFolderPreparedByPretrain: pretrain with --source prepares a missing folder dataset first
// (what `make run SOURCE=DIR` does), a flat folder of unlabelled images too, which pretrain then
// trains without the probe (TestFolderUnlabelledOnly checks the rest).
func TestFolderPreparedByPretrain(t *testing.T) {
	src := writeImageFolder(t, 20)
	dataDir := t.TempDir()
	runDir := filepath.Join(t.TempDir(), "run")
	if err := run([]string{"--mode", "pretrain", "--dataset", "mine", "--data-dir", dataDir, "--source", src, "--test-fraction", "0.2", "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2", "--quiet"}, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "mine", loader.FolderVersion, loader.FingerprintFile)); err != nil {
		t.Fatal(err)
	}
	flat := filepath.Join(src, "dark", "nested")
	var out bytes.Buffer
	err := run([]string{"--mode", "pretrain", "--dataset", "flat", "--data-dir", dataDir, "--source", flat, "--run-dir", filepath.Join(t.TempDir(), "r2"),
		"--image-size", "32", "--width", "8", "--queue-size", "96", "--epochs", "1", "--steps-per-epoch", "2", "--quiet"}, &out, &bytes.Buffer{})
	if err != nil || !strings.Contains(out.String(), "no labelled split, so contrastive training only") {
		t.Fatalf("pretrain on unlabelled images only: %v\n%s", err, out.String())
	}
}
