package loader

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func testPNG(t testing.TB, h, w int) []byte {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t testing.TB, h, w int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = byte(i * 3)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// hugePNG is a 60-byte PNG whose header declares 20000×20000 pixels.
func hugePNG() []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk := func(typ string, data []byte) {
		binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 20000)
	binary.BigEndian.PutUint32(ihdr[4:], 20000)
	ihdr[8], ihdr[9] = 8, 2
	chunk("IHDR", ihdr)
	chunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})
	chunk("IEND", nil)
	return b.Bytes()
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// noDataset checks that no dataset version and no temporary directory were left under dataDir.
func noDataset(t *testing.T, dataDir, name string) {
	t.Helper()
	ents, _ := os.ReadDir(filepath.Join(dataDir, name))
	for _, e := range ents {
		t.Errorf("left behind: %s", filepath.Join(dataDir, name, e.Name()))
	}
}

// TestImportFolderBadFolder: folders that cannot make a dataset are errors wrapping ErrBadFolder
// that name the folder and the problem, and nothing is written.
func TestImportFolderBadFolder(t *testing.T) {
	cases := []struct {
		name, want string
		setup      func(root string)
	}{
		{"empty folder", "no image files", func(root string) { os.MkdirAll(root, 0o755) }},
		{"only junk", "no image files", func(root string) {
			writeFile(t, filepath.Join(root, ".DS_Store"), []byte("x"))
			writeFile(t, filepath.Join(root, "._a.jpg"), []byte("x"))
		}},
		{"empty class folder", "class folder empty holds no image files", func(root string) {
			writeFile(t, filepath.Join(root, "full", "a.png"), testPNG(t, 4, 4))
			writeFile(t, filepath.Join(root, "empty", "readme.txt"), []byte("x"))
		}},
		{"class name not UTF-8", "not valid UTF-8", func(root string) {
			writeFile(t, filepath.Join(root, "good", "a.png"), testPNG(t, 4, 4))
			writeFile(t, filepath.Join(root, "caf\xe9", "a.png"), testPNG(t, 4, 4))
		}},
		{"images beside class folders", "beside the class folders", func(root string) {
			writeFile(t, filepath.Join(root, "cls", "a.png"), testPNG(t, 4, 4))
			writeFile(t, filepath.Join(root, "stray.jpg"), testJPEG(t, 4, 4))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "src")
			c.setup(root)
			dataDir := t.TempDir()
			_, err := ImportFolder(context.Background(), dataDir, "bad", FolderOptions{Source: root})
			if !errors.Is(err, ErrBadFolder) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrBadFolder with %q", err, c.want)
			}
			noDataset(t, dataDir, "bad")
		})
	}
}

// TestImportFolderBadFiles: each bad file is skipped, counted and listed (in the report and in
// SkippedFile) beside a good image; with Strict it is a *FileError naming it and nothing is
// written.
func TestImportFolderBadFiles(t *testing.T) {
	good := testPNG(t, 5, 7)
	jpg := testJPEG(t, 64, 64)
	corrupt := append([]byte(nil), good...)
	corrupt[len(corrupt)-20] ^= 0xff // inside IDAT: the chunk's CRC no longer matches
	cases := []struct {
		name, file string
		sentinel   error
		want       string
		setup      func(path string)
	}{
		{"zero bytes", "z.png", ErrBadImage, "empty file", func(p string) { writeFile(t, p, nil) }},
		{"truncated jpeg", "t.jpg", ErrBadImage, "truncated or corrupt jpeg", func(p string) { writeFile(t, p, jpg[:len(jpg)-200]) }},
		{"corrupt png", "c.png", ErrBadImage, "truncated or corrupt png", func(p string) { writeFile(t, p, corrupt) }},
		{"not an image", "n.jpg", ErrBadImage, "not a readable", func(p string) { writeFile(t, p, []byte("hello, world")) }},
		{"dangling symlink", "d.png", ErrUnreadable, "dangling symbolic link", func(p string) { os.Symlink(filepath.Join(filepath.Dir(p), "gone.png"), p) }},
		{"symlink loop", "l.png", ErrUnreadable, "symbolic link loop", func(p string) {
			os.Symlink(filepath.Join(filepath.Dir(p), "l2.png"), p)
			os.Symlink(p, filepath.Join(filepath.Dir(p), "l2.png"))
		}},
		{"fifo", "f.png", ErrUnreadable, "not a regular file", func(p string) {
			if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"too many pixels", "h.png", ErrTooManyPixels, "20000x20000 = 400000000 pixels, above the limit of 100000000", func(p string) { writeFile(t, p, hugePNG()) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "src")
			writeFile(t, filepath.Join(root, "cls", "good.png"), good)
			bad := filepath.Join(root, "cls", c.file)
			c.setup(bad)
			dataDir := t.TempDir()
			rep, err := ImportFolder(context.Background(), dataDir, "bad_files", FolderOptions{Source: root})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Splits["train"] != 1 || len(rep.Skipped) == 0 {
				t.Fatalf("splits %v, skipped %v: want the good image written and %s skipped", rep.Splits, rep.Skipped, c.file)
			}
			found := false
			for _, s := range rep.Skipped {
				found = found || (s.Path == bad && strings.Contains(s.Reason, c.want))
			}
			if !found {
				t.Fatalf("skipped %+v, want %s: ...%s...", rep.Skipped, bad, c.want)
			}
			list, err := os.ReadFile(filepath.Join(rep.Dir, SkippedFile))
			if err != nil || !strings.Contains(string(list), bad+"\t") {
				t.Fatalf("%s: %q, %v: want it listing %s", SkippedFile, list, err, bad)
			}
			dataDir = t.TempDir()
			_, err = ImportFolder(context.Background(), dataDir, "bad_files", FolderOptions{Source: root, Strict: true})
			var fe *FileError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Path, strings.TrimSuffix(bad, ".png")) || !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("strict: err = %v, want a *FileError naming %s wrapping %v", err, bad, c.sentinel)
			}
			noDataset(t, dataDir, "bad_files")
		})
	}
}

// TestImportFolderSkipsJunkAndSymlinkedDirs: files that are not images by name are counted and
// not read; a symbolic link to a folder (here a loop back to the root) is listed, not followed;
// a symbolic link to an image is read.
func TestImportFolderSkipsJunkAndSymlinkedDirs(t *testing.T) {
	root := filepath.Join(t.TempDir(), "src")
	writeFile(t, filepath.Join(root, "a", "x.png"), testPNG(t, 3, 3))
	writeFile(t, filepath.Join(root, "a", ".DS_Store"), []byte{0})
	writeFile(t, filepath.Join(root, "a", "._x.png"), []byte{0})
	writeFile(t, filepath.Join(root, "a", "notes.txt"), []byte{0})
	writeFile(t, filepath.Join(root, "b", "y.jpg"), testJPEG(t, 8, 8))
	if err := os.Symlink(root, filepath.Join(root, "b", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "a", "x.png"), filepath.Join(root, "b", "link.png")); err != nil {
		t.Fatal(err)
	}
	rep, err := ImportFolder(context.Background(), t.TempDir(), "junk", FolderOptions{Source: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.NotImages) != 3 || len(rep.SymlinkedDirs) != 1 || rep.SymlinkedDirs[0] != "b/loop" || rep.Splits["train"] != 3 {
		t.Fatalf("not images %v, symlinked dirs %v, splits %v: want 3, [b/loop], train 3", rep.NotImages, rep.SymlinkedDirs, rep.Splits)
	}
}

// TestImportFolderIdempotent: the same folder and options again write nothing and say so; a
// changed file, an added file or another option is refused naming it; Overwrite writes again;
// a cancelled import leaves no dataset version and no temporary directory.
func TestImportFolderIdempotent(t *testing.T) {
	root := filepath.Join(t.TempDir(), "src")
	for i, c := range []string{"a", "b"} {
		for j := range 3 {
			writeFile(t, filepath.Join(root, c, string(rune('p'+j))+".png"), testPNG(t, 3+i, 4+j))
		}
	}
	dataDir := t.TempDir()
	o := FolderOptions{Source: root, Seed: 1}
	rep, err := ImportFolder(context.Background(), dataDir, "same", o)
	if err != nil || rep.Unchanged {
		t.Fatalf("first import: %v, unchanged %v", err, rep != nil && rep.Unchanged)
	}
	info1, _ := os.Stat(filepath.Join(rep.Dir, infoFile))
	rep, err = ImportFolder(context.Background(), dataDir, "same", o)
	if err != nil || !rep.Unchanged || rep.Splits["train"] != 6 {
		t.Fatalf("second import: %v, report %+v: want unchanged with train 6", err, rep)
	}
	if info2, _ := os.Stat(filepath.Join(rep.Dir, infoFile)); !info2.ModTime().Equal(info1.ModTime()) {
		t.Fatal("the unchanged import rewrote dataset_info.json")
	}
	o2 := o
	o2.Seed = 2
	_, err = ImportFolder(context.Background(), dataDir, "same", o2)
	if !errors.Is(err, ErrSourceChanged) || !strings.Contains(err.Error(), "seed 1, now 2") {
		t.Fatalf("other seed: %v", err)
	}
	writeFile(t, filepath.Join(root, "a", "p.png"), testPNG(t, 9, 9))
	writeFile(t, filepath.Join(root, "b", "new.png"), testPNG(t, 9, 9))
	_, err = ImportFolder(context.Background(), dataDir, "same", o)
	if !errors.Is(err, ErrSourceChanged) || !strings.Contains(err.Error(), "1 files added: b/new.png") || !strings.Contains(err.Error(), "1 files modified (size or time): a/p.png") {
		t.Fatalf("changed folder: %v", err)
	}
	o.Writer.Overwrite = true
	rep, err = ImportFolder(context.Background(), dataDir, "same", o)
	if err != nil || rep.Unchanged || rep.Splits["train"] != 7 {
		t.Fatalf("overwrite: %v, %+v", err, rep)
	}
	// Cancelled after the first progress report: nothing of the new dataset is left.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fresh := t.TempDir()
	o.Writer.Workers, o.Writer.Progress = 1, ProgressFunc(func(string, int, int) { cancel() })
	for i := range 40 {
		writeFile(t, filepath.Join(root, "a", "more", string(rune('A'+i))+".png"), testPNG(t, 3, 3))
	}
	if _, err := ImportFolder(ctx, fresh, "same", o); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import: %v", err)
	}
	noDataset(t, fresh, "same")
}

// TestImportFolderUnlabelledAndMaxSide: a flat folder gives an unlabelled split (label -1, no
// classes); --unlabelled beside class folders adds one; MaxSide re-encodes large images (JPEG as
// JPEG) with their aspect kept; greyscale-only folders give 1-channel datasets.
func TestImportFolderUnlabelledAndMaxSide(t *testing.T) {
	flat := filepath.Join(t.TempDir(), "flat")
	g := image.NewGray(image.Rect(0, 0, 40, 10))
	var b bytes.Buffer
	png.Encode(&b, g)
	writeFile(t, filepath.Join(flat, "g.png"), b.Bytes())
	b.Reset()
	gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 6, 6), []color.Color{color.Gray{0}, color.Gray{200}}), nil)
	writeFile(t, filepath.Join(flat, "p.gif"), b.Bytes())
	dataDir := t.TempDir()
	rep, err := ImportFolder(context.Background(), dataDir, "flat", FolderOptions{Source: flat, MaxSide: 20})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Layout != LayoutFlat || rep.Splits[UnlabelledSplit] != 2 || rep.Resized != 1 || rep.Converted != 1 || rep.Channels != 3 {
		t.Fatalf("flat: %+v", rep)
	}
	ds, err := Open(dataDir, "flat")
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := ds.Split(UnlabelledSplit)
	r, err := sp.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range r.Len() {
		_, shape, label, _, err := r.ReadImage(i, nil, nil)
		if err != nil || label != -1 {
			t.Fatalf("example %d: label %d, %v", i, label, err)
		}
		if shape.Width == 20 && shape.Height != 5 {
			t.Fatalf("resized image is %v, want 5x20 (aspect kept)", shape)
		}
	}
	labelled := filepath.Join(t.TempDir(), "lab")
	writeFile(t, filepath.Join(labelled, "x", "big.jpg"), testJPEG(t, 64, 32))
	rep, err = ImportFolder(context.Background(), t.TempDir(), "mixed", FolderOptions{Source: labelled, Unlabelled: flat, MaxSide: 16})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Splits["train"] != 1 || rep.Splits[UnlabelledSplit] != 2 || rep.Resized != 2 {
		t.Fatalf("mixed: %+v", rep)
	}
	grey := filepath.Join(t.TempDir(), "grey")
	writeFile(t, filepath.Join(grey, "c", "g.png"), testPNGGrey(t))
	rep, err = ImportFolder(context.Background(), t.TempDir(), "grey", FolderOptions{Source: grey})
	if err != nil || rep.Channels != 1 {
		t.Fatalf("grey: %v, %+v", err, rep)
	}
}

func testPNGGrey(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 3, 5))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzPrepareImage feeds arbitrary bytes to the folder import's decode path: it must not panic,
// and whatever it accepts must decode with DecodeImageAny to the size it reports.
func FuzzPrepareImage(f *testing.F) {
	f.Add(testPNG(f, 4, 5))
	f.Add(testJPEG(f, 9, 9))
	f.Add(hugePNG())
	var b bytes.Buffer
	gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 3, 2), []color.Color{color.Black, color.White}), nil)
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := prepareImage(data, FolderOptions{MaxSide: 8, MaxPixels: 1 << 20})
		if err != nil {
			return
		}
		c := 3
		if img.grey {
			c = 1
		}
		_, shape, err := DecodeImageAny(img.data, c, nil)
		if err != nil || shape.Height != img.height || shape.Width != img.width {
			t.Fatalf("accepted image decodes to %v (%v), reported %dx%d", shape, err, img.height, img.width)
		}
	})
}

// BenchmarkImportFolder prepares a flat folder of 100,000 small PNG files (32×32 RGB, written
// once before the timer starts) and reports files/s: listing, fingerprinting, reading, checking
// (a full decode) and writing the shards, on GOMAXPROCS workers. make bench runs it once.
func BenchmarkImportFolder(b *testing.B) {
	const n = 100_000
	root := filepath.Join(b.TempDir(), "src")
	pngs := make([][]byte, 64)
	for i := range pngs {
		m := image.NewRGBA(image.Rect(0, 0, 32, 32))
		for k := range m.Pix {
			m.Pix[k] = byte(k*i + k/7)
		}
		var buf bytes.Buffer
		png.Encode(&buf, m)
		pngs[i] = buf.Bytes()
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(root, "img"+strconv.Itoa(i)+".png"), pngs[i%len(pngs)], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		rep, err := ImportFolder(context.Background(), b.TempDir(), "bench", FolderOptions{Source: root})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Splits[UnlabelledSplit] != n {
			b.Fatalf("wrote %v", rep.Splits)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "files/s")
}
