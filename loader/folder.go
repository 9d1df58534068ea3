package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nnclr/nnclr/internal/rng"
	"github.com/nnclr/nnclr/setting"
)

// Layouts of an image folder (FolderReport.Layout).
const (
	// LayoutClasses is DIR/<class>/... as Keras's image_dataset_from_directory reads it.
	LayoutClasses = "classes"
	// LayoutSplits is DIR/<split>/<class>/... as tfds's ImageFolder reads it.
	LayoutSplits = "splits"
	// LayoutFlat is DIR/... without class folders: unlabelled images.
	LayoutFlat = "flat"
)

// UnlabelledSplit is the name of the split of unlabelled images (label -1), as in tfds's stl10.
const UnlabelledSplit = "unlabelled"

// FolderVersion is the version ImportFolder writes when the dataset name has none.
const FolderVersion = "1.0.0"

// Files the folder import writes into the version directory beside dataset_info.json.
const (
	// FingerprintFile records what the dataset was made from (see ImportFolder).
	FingerprintFile = "nnclr_source.json"
	// SkippedFile lists the image files that were skipped, one "path<TAB>reason" per line.
	SkippedFile = "nnclr_skipped.tsv"
)

// splitFolderNames are the top-level folder names that make a folder the split layout.
var splitFolderNames = []string{"train", "test", "validation", "val", UnlabelledSplit}

// imageExts are the file name extensions (lower case) the folder import reads as images: those
// of Keras's image_dataset_from_directory, and WebP and TIFF, which golang.org/x/image decodes.
var imageExts = []string{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}

// FolderOptions configures ImportFolder. Setting names (for *setting.Error) are "source",
// "unlabelled", "test_fraction", "max_side" and "max_pixels".
type FolderOptions struct {
	// Source is the image folder: DIR/<class>/..., DIR/<split>/<class>/..., or a flat folder
	// of unlabelled images.
	Source string
	// Unlabelled, when set, is a folder of unlabelled images (read recursively, without class
	// folders) written as the split "unlabelled" beside Source's labelled splits.
	Unlabelled string
	// TestFraction (in [0, 1)) moves that fraction of each class (rounded, at least one image
	// left in train) to a split "test", drawn from Seed; only for the classes layout.
	TestFraction float64
	// Seed fixes the test split and the order the examples are written in.
	Seed uint64
	// MaxSide, when > 0, re-encodes images whose longer side exceeds it, resized (bilinear,
	// aspect kept) so that the longer side is MaxSide.
	MaxSide int
	// MaxPixels is the largest height × width accepted from an image's header (0: MaxPixels).
	MaxPixels int64
	// Strict makes a file that cannot be read or decoded an error instead of skipping it.
	Strict bool
	// Writer configures the writing (Overwrite, Workers, Progress).
	Writer WriterOptions
}

// FolderReport says what ImportFolder found and did.
type FolderReport struct {
	// Dir is the dataset version directory.
	Dir string
	// Unchanged is true when the dataset was already prepared from the same files and options
	// and nothing was written.
	Unchanged bool
	Layout    string
	// ClassNames are the labels' names (label i is ClassNames[i]).
	ClassNames []string
	// Splits are the examples written per split.
	Splits map[string]int
	// Channels is 1 when every image is greyscale, else 3.
	Channels int
	// Stored images are kept byte for byte; Converted were re-encoded as PNG (a format or
	// depth TensorFlow's decoder does not read as a dataset needs); Resized were re-encoded
	// smaller because of MaxSide.
	Stored, Converted, Resized int
	// NotImages are files skipped for their name (no image extension, .DS_Store, ._*), as
	// paths relative to their folder.
	NotImages []string
	// SymlinkedDirs are symbolic links to directories, not followed.
	SymlinkedDirs []string
	// Skipped are image files that could not be read or decoded (listed in SkippedFile).
	Skipped []SkippedImage
}

// SkippedImage is an image file the folder import skipped, and why.
type SkippedImage struct {
	Path   string
	Reason string
}

// FileError is an error about one file of an image folder.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("loader: %s: %v", e.Path, e.Err) }

// Unwrap returns the cause.
func (e *FileError) Unwrap() error { return e.Err }

// SourceChangedError reports that a dataset was prepared from other files or options than
// those of a new ImportFolder without Overwrite. Changes name what differs.
type SourceChangedError struct {
	Dir     string
	Changes []string
}

func (e *SourceChangedError) Error() string {
	return fmt.Sprintf("loader: %s was prepared from other files or options (%s): give overwrite (--overwrite) to write it again",
		e.Dir, strings.Join(e.Changes, "; "))
}

// Is makes errors.Is(err, ErrSourceChanged) true.
func (e *SourceChangedError) Is(target error) bool { return target == ErrSourceChanged }

// folderFile is one image file found in a folder.
type folderFile struct {
	rel   string // the name recorded: slash path relative to its folder ("u:" prefix for Unlabelled)
	path  string // the path to read
	size  int64
	mtime int64
	label int
	split string
}

// scan is what the scan of the folders found.
type scan struct {
	layout     string
	classNames []string
	files      []folderFile
	notImages  []string
	symDirs    []string
}

// ImportFolder writes the images of a folder (o.Source, and o.Unlabelled) as the tfds dataset
// name (optionally name:X.Y.Z, default FolderVersion) under dataDir:
//
//   - Layout: DIR/<class>/... (labels are the sorted class-folder names, images found
//     recursively inside each class folder); DIR/<split>/<class>/... when every top-level folder
//     is one of train, test, validation, val and unlabelled and train is one of them (split
//     names kept; labels are the sorted union of the class names over the splits; a split
//     "unlabelled" may hold images without class folders); or a folder without class folders,
//     whose images form the split "unlabelled" with label -1. Folders and files whose names
//     start with "." are skipped; symbolic links to directories are not followed (and listed);
//     symbolic links to files are read.
//   - Images: files with an image extension (.jpg, .jpeg, .png, .gif, .bmp, .webp, .tif,
//     .tiff, any case). JPEG (greyscale or YCbCr) and 8-bit greyscale, RGB and RGBA PNG are
//     stored byte for byte; every other image is decoded and stored as PNG (alpha dropped,
//     16-bit samples to their high byte, palettes expanded, CMYK converted). The EXIF
//     orientation is ignored, as TensorFlow's decoder ignores it. With MaxSide, an image whose
//     longer side exceeds it is resized with Resize (aspect kept) and re-encoded (JPEG quality
//     90 for JPEG sources, else PNG).
//   - Features: image (uint8, height and width unknown, 1 channel when every image is
//     greyscale, else 3), label (a ClassLabel with the class names), image/filename (the path
//     relative to the folder).
//   - Order: each split's examples in a shuffled order drawn from o.Seed (so that batches mix
//     the classes). With TestFraction, a stratified test split.
//
// Files are read, checked and encoded by o.Writer.Workers goroutines, streamed: memory holds
// the list of paths, not the images. A file that cannot be read (a dangling symbolic link, a
// symbolic link loop, a named pipe), an empty, truncated or corrupt image, or one whose header
// declares more than MaxPixels pixels is skipped and listed in the report and in SkippedFile,
// or with o.Strict is an error (a *FileError). An empty folder, an empty class folder, a name
// that is not UTF-8 or images beside class folders are errors wrapping ErrBadFolder.
//
// The dataset is written atomically (see Writer). FingerprintFile beside dataset_info.json
// records the files (names, sizes, modification times) and the options that shape the result:
// the same folder and options again leave the dataset as it is (report.Unchanged); other ones
// are a *SourceChangedError naming what changed, unless o.Writer.Overwrite.
func ImportFolder(ctx context.Context, dataDir, name string, o FolderOptions) (*FolderReport, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	base, version, _ := strings.Cut(name, ":")
	if version == "" {
		version = FolderVersion
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	sc, err := scanFolders(o)
	if err != nil {
		return nil, err
	}
	rep := &FolderReport{Dir: filepath.Join(dataDir, base, version), Layout: sc.layout, ClassNames: sc.classNames,
		NotImages: sc.notImages, SymlinkedDirs: sc.symDirs, Splits: map[string]int{}}
	fp := newFingerprint(sc, o)
	if done, err := checkFingerprint(rep.Dir, fp, o.Writer.Overwrite); err != nil || done {
		if done {
			rep.Unchanged = true
			if ds, err := OpenDir(rep.Dir); err == nil {
				rep.Channels = ds.Features.Image.Shape.Channels
				for _, s := range ds.Info.Splits {
					rep.Splits[s.Name] = int(s.NumExamples())
				}
			}
		}
		return rep, err
	}
	splits := assignSplits(sc, o)
	spec := DatasetSpec{Name: base, Version: version, Shape: Shape{Channels: 3}, NumClasses: len(sc.classNames),
		ClassNames: sc.classNames, Filenames: true,
		Description: fmt.Sprintf("Images of the folder %s, prepared by nnclr (layout %s).", o.Source, sc.layout)}
	if len(sc.classNames) == 0 {
		spec.ClassNames = nil
	}
	w, err := NewWriter(dataDir, spec, o.Writer)
	if err != nil {
		return nil, err
	}
	defer w.Abort()
	grey := true
	names := make([]string, 0, len(splits))
	for s := range splits {
		names = append(names, s)
	}
	sort.Strings(names)
	for _, s := range names {
		files := splits[s]
		g, err := writeFolderSplit(ctx, w, s, files, o, rep)
		if errors.Is(err, errNoExamples) {
			continue // every image of the split was skipped: the split is left out
		}
		if err != nil {
			return nil, err
		}
		grey = grey && g
	}
	if len(rep.Splits) == 0 {
		return nil, fmt.Errorf("loader: %s: %w: none of its %d image files could be read (%s lists them)", o.Source, ErrBadFolder, len(sc.files), SkippedFile)
	}
	if grey {
		rep.Channels = 1
	} else {
		rep.Channels = 3
	}
	w.spec.Shape.Channels = rep.Channels
	fb, err := json.MarshalIndent(fp, "", " ")
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if err := w.AddFile(FingerprintFile, fb); err != nil {
		return nil, err
	}
	if len(rep.Skipped) > 0 {
		var b strings.Builder
		for _, s := range rep.Skipped {
			fmt.Fprintf(&b, "%s\t%s\n", s.Path, s.Reason)
		}
		if err := w.AddFile(SkippedFile, []byte(b.String())); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return rep, nil
}

func (o FolderOptions) validate() error {
	if o.Source == "" {
		return setting.Errorf("source", o.Source, "give the image folder")
	}
	if !(o.TestFraction >= 0 && o.TestFraction < 1) {
		return setting.Errorf("test_fraction", o.TestFraction, "want a fraction in [0, 1)")
	}
	if o.MaxSide < 0 {
		return setting.Errorf("max_side", o.MaxSide, "want >= 0 (0: keep every size)")
	}
	if o.MaxPixels < 0 || o.MaxPixels > MaxPixels {
		return setting.Errorf("max_pixels", o.MaxPixels, "want 0 (the default, %d) up to %d", MaxPixels, MaxPixels)
	}
	return nil
}

func (o FolderOptions) maxPixels() int64 {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return MaxPixels
}

// isImageName reports whether a file name is read as an image (by extension), and whether it
// is a file the import skips silently (macOS metadata).
func isImageName(name string) bool {
	if name == ".DS_Store" || strings.HasPrefix(name, "._") || strings.HasPrefix(name, ".") {
		return false
	}
	return slices.Contains(imageExts, strings.ToLower(filepath.Ext(name)))
}

// badFolder returns an ErrBadFolder error about path.
func badFolder(path, format string, args ...any) error {
	return fmt.Errorf("loader: %s: %w: %s", path, ErrBadFolder, fmt.Sprintf(format, args...))
}

// checkName refuses a file or folder name that is not valid UTF-8 (tfds stores class names and
// file names as text).
func checkName(path, name string) error {
	if !utf8.ValidString(name) {
		return badFolder(filepath.Dir(path), "the name %q is not valid UTF-8: rename it", name)
	}
	return nil
}

// listDir returns the subfolders (not hidden, not symbolic links) and the other entries of dir.
func listDir(dir string) (dirs, files []os.DirEntry, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("loader: %w: %v", ErrBadFolder, err)
	}
	for _, e := range ents {
		if err := checkName(filepath.Join(dir, e.Name()), e.Name()); err != nil {
			return nil, nil, err
		}
		if e.IsDir() {
			if !strings.HasPrefix(e.Name(), ".") {
				dirs = append(dirs, e)
			}
			continue
		}
		files = append(files, e)
	}
	return dirs, files, nil
}

// walkImages appends the image files under dir (recursively, in sorted order) to sc.files with
// the given label and split; rel prefixes their recorded names. It returns how many it found.
func (sc *scan) walkImages(dir, rel string, label int, split string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("loader: %w: %v", ErrBadFolder, err)
		}
		if err := checkName(path, d.Name()); err != nil {
			return err
		}
		r, _ := filepath.Rel(dir, path)
		name := rel + filepath.ToSlash(r)
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(path); err == nil && fi.IsDir() {
				sc.symDirs = append(sc.symDirs, name)
				return nil
			}
		}
		if !isImageName(d.Name()) {
			sc.notImages = append(sc.notImages, name)
			return nil
		}
		f := folderFile{rel: name, path: path, label: label, split: split, size: -1}
		if fi, err := os.Stat(path); err == nil {
			f.size, f.mtime = fi.Size(), fi.ModTime().UnixNano()
		}
		sc.files = append(sc.files, f)
		n++
		return nil
	})
	return n, err
}

// scanFolders finds the layout, the classes and the image files of o.Source and o.Unlabelled.
func scanFolders(o FolderOptions) (*scan, error) {
	sc := &scan{}
	fi, err := os.Stat(o.Source)
	if err != nil || !fi.IsDir() {
		return nil, setting.Errorf("source", o.Source, "not a folder")
	}
	dirs, files, err := listDir(o.Source)
	if err != nil {
		return nil, err
	}
	var topImages []string
	for _, f := range files {
		if isImageName(f.Name()) {
			topImages = append(topImages, f.Name())
		}
	}
	isSplits := len(dirs) > 0
	hasTrain := false
	for _, d := range dirs {
		isSplits = isSplits && slices.Contains(splitFolderNames, d.Name())
		hasTrain = hasTrain || d.Name() == "train"
	}
	isSplits = isSplits && hasTrain
	switch {
	case len(dirs) == 0:
		sc.layout = LayoutFlat
		if _, err := sc.walkImages(o.Source, "", -1, UnlabelledSplit); err != nil {
			return nil, err
		}
		if len(sc.files) == 0 {
			return nil, badFolder(o.Source, "no image files (%s) in it or its subfolders", strings.Join(imageExts, " "))
		}
		if o.Unlabelled != "" {
			return nil, setting.Errorf("unlabelled", o.Unlabelled, "the source %s has no class folders: its images are unlabelled already", o.Source)
		}
	case len(topImages) > 0:
		return nil, badFolder(o.Source, "%d image files (%s, ...) beside the class folders: move them into a class folder, or into a folder given as the unlabelled folder",
			len(topImages), topImages[0])
	case isSplits:
		sc.layout = LayoutSplits
		classes := map[string]bool{}
		for _, sd := range dirs {
			cdirs, _, err := listDir(filepath.Join(o.Source, sd.Name()))
			if err != nil {
				return nil, err
			}
			for _, c := range cdirs {
				classes[c.Name()] = true
			}
		}
		for c := range classes {
			sc.classNames = append(sc.classNames, c)
		}
		sort.Strings(sc.classNames)
		for _, sd := range dirs {
			split := sd.Name()
			sdir := filepath.Join(o.Source, split)
			cdirs, cfiles, err := listDir(sdir)
			if err != nil {
				return nil, err
			}
			if len(cdirs) == 0 && split == UnlabelledSplit {
				n, err := sc.walkImages(sdir, split+"/", -1, split)
				if err != nil {
					return nil, err
				}
				if n == 0 {
					return nil, badFolder(sdir, "no image files in the split folder")
				}
				continue
			}
			for _, f := range cfiles {
				if isImageName(f.Name()) {
					return nil, badFolder(sdir, "image file %s beside the class folders of split %s: move it into a class folder", f.Name(), split)
				}
			}
			if len(cdirs) == 0 {
				return nil, badFolder(sdir, "split folder %s has no class folders", split)
			}
			for _, c := range cdirs {
				label, _ := slices.BinarySearch(sc.classNames, c.Name())
				n, err := sc.walkImages(filepath.Join(sdir, c.Name()), split+"/"+c.Name()+"/", label, split)
				if err != nil {
					return nil, err
				}
				if n == 0 {
					return nil, badFolder(filepath.Join(sdir, c.Name()), "class folder %s of split %s holds no image files", c.Name(), split)
				}
			}
		}
	default:
		sc.layout = LayoutClasses
		for i, c := range dirs {
			sc.classNames = append(sc.classNames, c.Name())
			n, err := sc.walkImages(filepath.Join(o.Source, c.Name()), c.Name()+"/", i, "train")
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, badFolder(filepath.Join(o.Source, c.Name()), "class folder %s holds no image files", c.Name())
			}
		}
	}
	if o.TestFraction > 0 && sc.layout != LayoutClasses {
		return nil, setting.Errorf("test_fraction", o.TestFraction, "applies to a folder of class folders; %s has layout %s", o.Source, sc.layout)
	}
	if o.Unlabelled != "" {
		if sc.layout == LayoutSplits && slices.ContainsFunc(dirs, func(d os.DirEntry) bool { return d.Name() == UnlabelledSplit }) {
			return nil, setting.Errorf("unlabelled", o.Unlabelled, "the source %s has an unlabelled split folder already", o.Source)
		}
		if fi, err := os.Stat(o.Unlabelled); err != nil || !fi.IsDir() {
			return nil, setting.Errorf("unlabelled", o.Unlabelled, "not a folder")
		}
		n, err := sc.walkImages(o.Unlabelled, "unlabelled:", -1, UnlabelledSplit)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, badFolder(o.Unlabelled, "no image files in the unlabelled folder")
		}
	}
	return sc, nil
}

// assignSplits groups the files by split (a stratified test split when o.TestFraction > 0) and
// shuffles each split's order, all from o.Seed.
func assignSplits(sc *scan, o FolderOptions) map[string][]folderFile {
	splits := map[string][]folderFile{}
	for _, f := range sc.files {
		splits[f.split] = append(splits[f.split], f)
	}
	if o.TestFraction > 0 {
		byClass := make([][]folderFile, len(sc.classNames))
		for _, f := range splits["train"] {
			byClass[f.label] = append(byClass[f.label], f)
		}
		var train, test []folderFile
		for c, fs := range byClass {
			k := min(int(math.Round(o.TestFraction*float64(len(fs)))), len(fs)-1)
			perm := rng.New(o.Seed, rng.Name("folder_test_split"), uint64(c)).Perm(len(fs))
			for i, p := range perm {
				if i < k {
					test = append(test, fs[p])
				} else {
					train = append(train, fs[p])
				}
			}
		}
		splits["train"] = train
		if len(test) > 0 {
			splits["test"] = test
		}
	}
	for name, fs := range splits {
		sort.Slice(fs, func(i, j int) bool { return fs[i].rel < fs[j].rel })
		r := rng.New(o.Seed, rng.Name("folder_order"), rng.Name(name))
		r.Shuffle(len(fs), func(i, j int) { fs[i], fs[j] = fs[j], fs[i] })
	}
	return splits
}

// writeFolderSplit writes one split's files, read and encoded in parallel, in order. It
// returns whether every image written is greyscale.
func writeFolderSplit(ctx context.Context, w *Writer, split string, files []folderFile, o FolderOptions, rep *FolderReport) (bool, error) {
	workers := o.Writer.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := workers * 32
	type result struct {
		rec  []byte
		img  folderImage
		err  error
		file folderFile
	}
	results := make([]result, 0, window)
	pos, next, written := 0, 0, 0
	grey := true
	fill := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(len(files), pos+window)
		results = results[:end-pos]
		var wg sync.WaitGroup
		jobs := make(chan int)
		for range min(workers, end-pos) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					f := files[i]
					r := result{file: f}
					r.img, r.err = readFolderImage(f.path, o)
					if r.err == nil {
						r.rec, r.err = MarshalExample(Example{Image: r.img.data, Label: int64(f.label), Filename: f.rel})
					}
					results[i-pos] = r
				}
			}()
		}
		for i := pos; i < end; i++ {
			jobs <- i
		}
		close(jobs)
		wg.Wait()
		pos, next = end, 0
		return nil
	}
	err := w.WriteRecords(split, func() ([]byte, error) {
		for {
			if next == len(results) {
				if o.Writer.Progress != nil && pos > 0 {
					o.Writer.Progress.Progress(split, pos, len(files))
				}
				if pos == len(files) {
					return nil, nil
				}
				if err := fill(); err != nil {
					return nil, err
				}
			}
			r := results[next]
			next++
			if r.err != nil {
				if o.Strict {
					return nil, &FileError{Path: r.file.path, Err: r.err}
				}
				rep.Skipped = append(rep.Skipped, SkippedImage{Path: r.file.path, Reason: r.err.Error()})
				continue
			}
			switch r.img.action {
			case actionStored:
				rep.Stored++
			case actionConverted:
				rep.Converted++
			case actionResized:
				rep.Resized++
			}
			grey = grey && r.img.grey
			written++
			return r.rec, nil
		}
	})
	if errors.Is(err, errNoExamples) {
		return grey, errNoExamples
	}
	if err == nil {
		rep.Splits[split] = written
	}
	return grey, err
}

// fingerprint is the content of FingerprintFile: the options that shape the dataset and the
// files it was made from.
type fingerprint struct {
	Format  int               `json:"format"`
	SHA256  string            `json:"sha256"`
	Options map[string]string `json:"options"`
	// Files are [name, size, modification time in ns since 1970] per image file.
	Files [][3]any `json:"files"`
}

func newFingerprint(sc *scan, o FolderOptions) fingerprint {
	fp := fingerprint{Format: 1, Options: map[string]string{
		"layout":        sc.layout,
		"unlabelled":    strconv.FormatBool(o.Unlabelled != ""),
		"test_fraction": strconv.FormatFloat(o.TestFraction, 'g', -1, 64),
		"seed":          strconv.FormatUint(o.Seed, 10),
		"max_side":      strconv.Itoa(o.MaxSide),
		"max_pixels":    strconv.FormatInt(o.maxPixels(), 10),
		"strict":        strconv.FormatBool(o.Strict),
		"classes":       strings.Join(sc.classNames, "/"),
	}}
	files := slices.Clone(sc.files)
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	h := sha256.New()
	for _, k := range slices.Sorted(maps.Keys(fp.Options)) {
		fmt.Fprintf(h, "%s=%s\n", k, fp.Options[k])
	}
	for _, f := range files {
		fmt.Fprintf(h, "%q %d %d\n", f.rel, f.size, f.mtime)
		fp.Files = append(fp.Files, [3]any{f.rel, f.size, f.mtime})
	}
	fp.SHA256 = hex.EncodeToString(h.Sum(nil))
	return fp
}

// checkFingerprint compares fp with the fingerprint of the dataset at dir: done when they are
// equal (nothing to write); a *SourceChangedError naming the changes when they differ and
// overwrite is off.
func checkFingerprint(dir string, fp fingerprint, overwrite bool) (done bool, err error) {
	if _, err := os.Stat(filepath.Join(dir, infoFile)); err != nil {
		return false, nil // no dataset yet
	}
	b, rerr := os.ReadFile(filepath.Join(dir, FingerprintFile))
	var old fingerprint
	if rerr == nil {
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber() // sizes and times as their exact digits
		rerr = d.Decode(&old)
	}
	if rerr == nil && old.SHA256 == fp.SHA256 {
		return true, nil
	}
	if overwrite {
		return false, nil
	}
	if rerr != nil {
		return false, &SourceChangedError{Dir: dir, Changes: []string{fmt.Sprintf("it has no readable %s (%v): it was not prepared from a folder by nnclr", FingerprintFile, rerr)}}
	}
	var changes []string
	for _, k := range slices.Sorted(maps.Keys(fp.Options)) {
		if old.Options[k] != fp.Options[k] {
			changes = append(changes, fmt.Sprintf("%s %s, now %s", k, old.Options[k], fp.Options[k]))
		}
	}
	type meta struct{ size, mtime string }
	index := func(files [][3]any) map[string]meta {
		m := map[string]meta{}
		for _, f := range files {
			m[fmt.Sprint(f[0])] = meta{fmt.Sprint(f[1]), fmt.Sprint(f[2])}
		}
		return m
	}
	was, now := index(old.Files), index(fp.Files)
	var added, removed, modified []string
	for n, m := range now {
		if o, ok := was[n]; !ok {
			added = append(added, n)
		} else if o != m {
			modified = append(modified, n)
		}
	}
	for n := range was {
		if _, ok := now[n]; !ok {
			removed = append(removed, n)
		}
	}
	for _, c := range []struct {
		what  string
		files []string
	}{{"added", added}, {"removed", removed}, {"modified (size or time)", modified}} {
		if len(c.files) == 0 {
			continue
		}
		sort.Strings(c.files)
		ex := c.files[:min(3, len(c.files))]
		more := ""
		if len(c.files) > 3 {
			more = ", ..."
		}
		changes = append(changes, fmt.Sprintf("%d files %s: %s%s", len(c.files), c.what, strings.Join(ex, ", "), more))
	}
	if len(changes) == 0 {
		changes = []string{"its fingerprint differs"}
	}
	return false, &SourceChangedError{Dir: dir, Changes: changes}
}
