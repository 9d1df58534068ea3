package loader

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrecord"
)

// Source is a random-access source of the images of one split, read in index order by the
// Writer. Read must be safe for concurrent calls with different dst buffers.
type Source interface {
	// Len returns the number of examples.
	Len() int
	// Shape returns the shape of every image.
	Shape() Shape
	// Read writes image i (HWC uint8, Shape().Size() bytes) into dst and returns its label
	// (-1 for unlabelled data).
	Read(i int, dst []byte) (label int64, err error)
}

// Progress receives progress reports from long operations (writing a dataset). Implementations
// must be safe for calls from the goroutine running the operation; they are never called
// concurrently with each other by one operation.
type Progress interface {
	// Progress reports that done of total examples of split are finished.
	Progress(split string, done, total int)
}

// ProgressFunc adapts a function to the Progress interface.
type ProgressFunc func(split string, done, total int)

// Progress calls f.
func (f ProgressFunc) Progress(split string, done, total int) { f(split, done, total) }

// DatasetSpec describes a dataset to write in the tfds layout.
type DatasetSpec struct {
	// Name and Version give the directory <data_dir>/<Name>/<Version>; Name is what tfds.load
	// is given. Use the tfds catalogue's name and version (see STL10Spec, FashionMNISTSpec) so
	// that tfds.load(name, data_dir=...) uses its registered builder on the written files.
	Name, Version string
	Shape         Shape
	NumClasses    int
	// ClassNames, when set (NumClasses of them), are written to label.labels.txt.
	ClassNames []string
	// Filenames adds the "image/filename" Text feature of tfds's ImageFolder to features.json
	// (the records then carry Example.Filename; see WriteRecords).
	Filenames   bool
	Description string
	Homepage    string
	Citation    string
}

// WriterOptions are the knobs of a Writer. The zero value is usable.
type WriterOptions struct {
	// ExamplesPerShard is the most examples in one shard file (0: 10,000).
	ExamplesPerShard int
	// Compression is the PNG compression level (the zero value is png.DefaultCompression).
	Compression png.CompressionLevel
	// Workers is the number of goroutines encoding PNGs (0: GOMAXPROCS).
	Workers int
	// Overwrite replaces an existing version directory; otherwise Close fails if it exists.
	Overwrite bool
	// Progress, when set, is told after each group of examples written.
	Progress Progress
}

// Writer writes a dataset in the tfds layout: TFRecord shards of tf.train.Example records
// ("image": PNG bytes, "label": int64), dataset_info.json, features.json and label.labels.txt,
// readable by tfds.load(name, data_dir=...) and tfds.builder_from_directory. Files are written
// to a temporary "incomplete" directory next to the version directory and moved into place by
// Close, as tfds does. Examples keep the source order (tfds's own writer shuffles them). A
// Writer is not safe for concurrent use.
type Writer struct {
	dataDir string
	spec    DatasetSpec
	opts    WriterOptions
	tmp     string
	splits  []SplitInfo
	extra   map[string][]byte
	closed  bool
}

// NewWriter starts writing the dataset spec under dataDir ("" means DefaultDataDir()).
func NewWriter(dataDir string, spec DatasetSpec, opts WriterOptions) (*Writer, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	if !nameRE.MatchString(spec.Name) || strings.Contains(spec.Name, "/") {
		return nil, fmt.Errorf("loader: dataset name %q: want lower case letters, digits and _", spec.Name)
	}
	if !versionRE.MatchString(spec.Version) {
		return nil, fmt.Errorf("loader: dataset %s: version %q is not X.Y.Z", spec.Name, spec.Version)
	}
	if !spec.Shape.valid() && !spec.Shape.variableValid() {
		return nil, fmt.Errorf("loader: dataset %s: %w: %v", spec.Name, ErrShape, spec.Shape)
	}
	// NumClasses 0 is a dataset of unlabelled images only (every label -1); it needs Filenames,
	// the folder import's datasets.
	if spec.NumClasses < 0 || (spec.NumClasses == 0 && !spec.Filenames) || (spec.ClassNames != nil && len(spec.ClassNames) != spec.NumClasses) {
		return nil, fmt.Errorf("loader: dataset %s: %d classes with %d names", spec.Name, spec.NumClasses, len(spec.ClassNames))
	}
	if opts.ExamplesPerShard <= 0 {
		opts.ExamplesPerShard = 10000
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Compression == 0 {
		opts.Compression = png.DefaultCompression
	}
	root := filepath.Join(dataDir, spec.Name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	tmp, err := os.MkdirTemp(root, "incomplete.*_"+spec.Version)
	if err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	return &Writer{dataDir: dataDir, spec: spec, opts: opts, tmp: tmp}, nil
}

// Dir returns the version directory Close moves the dataset to.
func (w *Writer) Dir() string { return filepath.Join(w.dataDir, w.spec.Name, w.spec.Version) }

// WriteSplit writes all examples of src as split name. Images must have the spec's shape and
// labels must be in [-1, NumClasses).
func (w *Writer) WriteSplit(name string, src Source) error {
	if err := w.checkSplit(name); err != nil {
		return err
	}
	if !w.spec.Shape.Fixed() {
		return fmt.Errorf("loader: split %q: %w: a dataset of images of different sizes is written with WriteRecords", name, ErrShape)
	}
	if src.Shape() != w.spec.Shape {
		return fmt.Errorf("loader: split %q: %w: source images are %v, dataset is %v", name, ErrShape, src.Shape(), w.spec.Shape)
	}
	n := src.Len()
	per := w.opts.ExamplesPerShard
	numShards := max(1, (n+per-1)/per)
	si := SplitInfo{Name: name, FilepathTemplate: DefaultFilepathTemplate}
	for sh := range numShards {
		lo, hi := sh*per, min(n, (sh+1)*per)
		rel, err := ShardPath(DefaultFilepathTemplate, w.spec.Name, name, "tfrecord", sh, numShards)
		if err != nil {
			return err
		}
		size, err := w.writeShard(filepath.Join(w.tmp, rel), name, src, lo, hi, n)
		if err != nil {
			return err
		}
		si.ShardLengths = append(si.ShardLengths, int64(hi-lo))
		si.NumBytes += size
	}
	w.splits = append(w.splits, si)
	return nil
}

// checkSplit checks that split name can be written.
func (w *Writer) checkSplit(name string) error {
	if w.closed {
		return errors.New("loader: split written after Close")
	}
	if name == "" || strings.ContainsAny(name, "/\\{}.") {
		return fmt.Errorf("loader: split name %q", name)
	}
	for _, s := range w.splits {
		if s.Name == name {
			return fmt.Errorf("loader: split %q written twice", name)
		}
	}
	return nil
}

// writeShard encodes examples [lo, hi) of src in parallel and writes them in order to path.
func (w *Writer) writeShard(path, split string, src Source, lo, hi, total int) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("loader: %w", err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	rw := tfrecord.NewWriter(bw)
	window := w.opts.Workers * 16
	recs := make([][]byte, window)
	errs := make([]error, window)
	for start := lo; start < hi; start += window {
		end := min(hi, start+window)
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(w.opts.Workers, end-start) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pix := make([]byte, w.spec.Shape.Size())
				for i := range next {
					recs[i-start], errs[i-start] = w.encode(src, i, pix)
				}
			}()
		}
		for i := start; i < end; i++ {
			next <- i
		}
		close(next)
		wg.Wait()
		for i := start; i < end; i++ {
			if errs[i-start] != nil {
				return 0, fmt.Errorf("loader: split %q example %d: %w", split, i, errs[i-start])
			}
			if err := rw.Write(recs[i-start]); err != nil {
				return 0, err
			}
		}
		if w.opts.Progress != nil {
			w.opts.Progress.Progress(split, end, total)
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("loader: %w", err)
	}
	if err := f.Close(); err != nil {
		return 0, fmt.Errorf("loader: %w", err)
	}
	return rw.Written(), nil
}

func (w *Writer) encode(src Source, i int, pix []byte) ([]byte, error) {
	label, err := src.Read(i, pix)
	if err != nil {
		return nil, err
	}
	if label < -1 || label >= int64(w.spec.NumClasses) {
		return nil, fmt.Errorf("label %d outside [-1, %d)", label, w.spec.NumClasses)
	}
	img, err := EncodePNG(pix, w.spec.Shape, w.opts.Compression)
	if err != nil {
		return nil, err
	}
	return MarshalExample(Example{Image: img, Label: label})
}

// Close writes dataset_info.json, features.json and label.labels.txt and moves the dataset to
// Dir(). It is safe to call more than once; after a failed write call Abort instead.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if len(w.splits) == 0 {
		os.RemoveAll(w.tmp)
		return errors.New("loader: no split written")
	}
	info := DatasetInfo{
		Name:           w.spec.Name,
		Version:        w.spec.Version,
		Description:    w.spec.Description,
		Citation:       w.spec.Citation,
		FileFormat:     "tfrecord",
		Splits:         w.splits,
		SupervisedKeys: json.RawMessage(`{"tuple":{"items":[{"featureKey":"image"},{"featureKey":"label"}]}}`),
	}
	if w.spec.Homepage != "" {
		info.Location = &Location{URLs: []string{w.spec.Homepage}}
	}
	ib, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return w.fail(err)
	}
	fb, err := marshalFeatures(Features{
		Image:     ImageFeature{Shape: w.spec.Shape, Encoding: "png"},
		Label:     LabelFeature{NumClasses: w.spec.NumClasses},
		Filenames: w.spec.Filenames,
	})
	if err != nil {
		return w.fail(err)
	}
	files := map[string][]byte{infoFile: ib, featuresFile: fb}
	if len(w.spec.ClassNames) > 0 {
		files[labelNamesFile] = []byte(strings.Join(w.spec.ClassNames, "\n") + "\n")
	}
	for name, b := range w.extra {
		files[name] = b
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(w.tmp, name), b, 0o644); err != nil {
			return w.fail(err)
		}
	}
	dst := w.Dir()
	var old string
	if _, err := os.Stat(dst); err == nil {
		if !w.opts.Overwrite {
			return w.fail(setting.Errorf("overwrite", nil, "%s exists: set overwrite to replace it", dst))
		}
		// Move the old version aside (a name Open never reads) before the new one takes its
		// place, so that no moment leaves a half-removed version directory.
		old = filepath.Join(filepath.Dir(dst), "replaced."+filepath.Base(w.tmp))
		if err := os.Rename(dst, old); err != nil {
			return w.fail(err)
		}
	}
	if err := os.Rename(w.tmp, dst); err != nil {
		if old != "" {
			os.Rename(old, dst)
		}
		return w.fail(err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

// AddFile adds a file (a name without directories) that Close writes into the version
// directory beside dataset_info.json, so that it appears with the dataset, atomically.
func (w *Writer) AddFile(name string, data []byte) error {
	if name == "" || strings.ContainsAny(name, "/\\") || name == infoFile || name == featuresFile || name == labelNamesFile {
		return fmt.Errorf("loader: extra file name %q", name)
	}
	if w.extra == nil {
		w.extra = map[string][]byte{}
	}
	w.extra[name] = data
	return nil
}

// WriteRecords writes split name from serialized tf.train.Example records that next returns in
// order (nil, nil after the last), streamed to a temporary file and then cut into the number of
// shards tfds's writer would choose for their size and count (NumShards), each holding the
// examples tfds's shard boundaries give it. Memory does not grow with the split.
func (w *Writer) WriteRecords(name string, next func() ([]byte, error)) error {
	if err := w.checkSplit(name); err != nil {
		return err
	}
	tmpPath := filepath.Join(w.tmp, "records-"+name+".tmp")
	f, err := os.Create(tmpPath)
	if err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	defer os.Remove(tmpPath)
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	rw := tfrecord.NewWriter(bw)
	var ends []int64 // end offset of each record in the temporary file
	var payload int64
	for {
		rec, err := next()
		if err != nil {
			return err
		}
		if rec == nil {
			break
		}
		if err := rw.Write(rec); err != nil {
			return fmt.Errorf("loader: split %q: %w", name, err)
		}
		payload += int64(len(rec))
		ends = append(ends, rw.Written())
	}
	if len(ends) == 0 {
		return fmt.Errorf("loader: split %q: %w", name, errNoExamples)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	n := len(ends)
	numShards := NumShards(payload, n)
	si := SplitInfo{Name: name, FilepathTemplate: DefaultFilepathTemplate}
	var from, start int64
	for sh, end := range ShardBoundaries(n, numShards) {
		rel, err := ShardPath(DefaultFilepathTemplate, w.spec.Name, name, "tfrecord", sh, numShards)
		if err != nil {
			return err
		}
		to := ends[end-1]
		if err := copyRange(f, from, to-from, filepath.Join(w.tmp, rel)); err != nil {
			return err
		}
		si.ShardLengths = append(si.ShardLengths, int64(end)-start)
		si.NumBytes += to - from
		from, start = to, int64(end)
	}
	w.splits = append(w.splits, si)
	return nil
}

// errNoExamples reports a split without examples.
var errNoExamples = errors.New("no examples")

// copyRange copies n bytes of f from offset off to a new file at path.
func copyRange(f *os.File, off, n int64, path string) error {
	out, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	if _, err := io.Copy(out, io.NewSectionReader(f, off, n)); err != nil {
		out.Close()
		return fmt.Errorf("loader: %w", err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("loader: %w", err)
	}
	return nil
}

// Shard sizes tfds's writer aims at (tfds's shard_utils: 64 MiB to 1 GiB).
const (
	minShardBytes = 64 << 20
	maxShardBytes = 1024 << 20
	// recordOverhead is the TFRecord framing of one record (length, two CRCs).
	recordOverhead = 16
)

// NumShards returns the number of shards tfds's writer (tensorflow_datasets 4.9's
// ShardConfig.calculate_number_shards) chooses for n examples of payload bytes serialized: a
// power of two from 2 to 1,024 (or a multiple of 1,024) that keeps shards between 64 MiB and
// 1 GiB and no larger than n, else 1.
func NumShards(payload int64, n int) int {
	total := payload + int64(n)*recordOverhead
	maxShards := total / minShardBytes
	minShards := total / maxShardBytes
	if minShards <= 1024 && 1024 <= maxShards && n >= 1024 {
		return 1024
	}
	if minShards > 1024 {
		for k := int64(2); ; k++ {
			if m := 1024 * k; m >= minShards && int64(n) >= m {
				return int(m)
			}
		}
	}
	for _, m := range []int64{512, 256, 128, 64, 32, 16, 8, 4, 2} {
		if minShards <= m && m <= maxShards && int64(n) >= m {
			return int(m)
		}
	}
	return 1
}

// ShardBoundaries returns the end (exclusive) of each of numShards shards of n examples, as
// tfds's get_shard_boundaries rounds them (n·i/numShards, halves to even).
func ShardBoundaries(n, numShards int) []int {
	b := make([]int, numShards)
	for i := range b {
		b[i] = int(math.RoundToEven(float64(n) * float64(i+1) / float64(numShards)))
	}
	return b
}

func (w *Writer) fail(err error) error {
	os.RemoveAll(w.tmp)
	return fmt.Errorf("loader: write dataset %s: %w", w.spec.Name, err)
}

// Abort removes what was written. It is safe to call after Close (then it does nothing).
func (w *Writer) Abort() {
	if !w.closed {
		w.closed = true
		os.RemoveAll(w.tmp)
	}
}

// MemorySource is a Source over images held in memory (NHWC uint8) with their labels.
type MemorySource struct {
	Images []byte
	Labels []int64
	Shp    Shape
}

// Len returns len(Labels).
func (m *MemorySource) Len() int { return len(m.Labels) }

// Shape returns Shp.
func (m *MemorySource) Shape() Shape { return m.Shp }

// Read copies image i into dst.
func (m *MemorySource) Read(i int, dst []byte) (int64, error) {
	n := m.Shp.Size()
	if len(m.Images) < (i+1)*n {
		return 0, fmt.Errorf("loader: memory source: %w: image %d past the end", ErrShape, i)
	}
	copy(dst, m.Images[i*n:(i+1)*n])
	return m.Labels[i], nil
}
