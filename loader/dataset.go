package loader

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/nnclr/nnclr/tfrecord"
)

// DefaultDataDir returns the tfds data directory: $TFDS_DATA_DIR when set, else
// ~/tensorflow_datasets (the default of tensorflow_datasets).
func DefaultDataDir() string {
	if d := os.Getenv("TFDS_DATA_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "tensorflow_datasets"
	}
	return filepath.Join(home, "tensorflow_datasets")
}

// Dataset is a tfds dataset directory (<data_dir>/<name>/<version>) opened for reading: its
// dataset_info.json and features.json. A Dataset is immutable and safe for concurrent use.
type Dataset struct {
	// Dir is the version directory holding dataset_info.json, features.json and the shards.
	Dir      string
	Info     DatasetInfo
	Features Features
}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_]*(/[a-zA-Z0-9_.-]+)?$`)
	versionRE = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)
)

// Open opens the dataset called name under dataDir ("" means DefaultDataDir()). name is
// "stl10" (the highest version directory that holds a dataset_info.json), "stl10:1.0.0" (that
// version), or with a builder config, "name/config" and "name/config:1.0.0", as tfds lays them
// out. Errors wrap ErrNotFound when no such dataset or version exists.
func Open(dataDir, name string) (*Dataset, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	base, version, _ := strings.Cut(name, ":")
	if !nameRE.MatchString(base) {
		return nil, fmt.Errorf("loader: dataset name %q: want name, name:X.Y.Z or name/config[:X.Y.Z] (lower case, digits, _)", name)
	}
	if version != "" && !versionRE.MatchString(version) {
		return nil, fmt.Errorf("loader: dataset %q: version %q is not X.Y.Z", name, version)
	}
	root := filepath.Join(dataDir, filepath.FromSlash(base))
	if version == "" {
		v, err := latestVersion(root)
		if err != nil {
			return nil, fmt.Errorf("loader: dataset %q in %s: %w", name, dataDir, err)
		}
		version = v
	}
	dir := filepath.Join(root, version)
	if _, err := os.Stat(filepath.Join(dir, infoFile)); err != nil {
		return nil, fmt.Errorf("loader: dataset %q: %w: no %s in %s", name, ErrNotFound, infoFile, dir)
	}
	return OpenDir(dir)
}

// latestVersion returns the highest X.Y.Z subdirectory of root holding a dataset_info.json.
func latestVersion(root string) (string, error) {
	ents, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%w: %s does not exist", ErrNotFound, root)
		}
		return "", err
	}
	var best string
	var bestKey [3]int
	for _, e := range ents {
		m := versionRE.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, e.Name(), infoFile)); err != nil {
			continue
		}
		var k [3]int
		for i := range k {
			k[i], _ = strconv.Atoi(m[i+1])
		}
		if best == "" || k[0] > bestKey[0] || (k[0] == bestKey[0] && (k[1] > bestKey[1] || (k[1] == bestKey[1] && k[2] > bestKey[2]))) {
			best, bestKey = e.Name(), k
		}
	}
	if best == "" {
		return "", fmt.Errorf("%w: no version directory with %s under %s", ErrNotFound, infoFile, root)
	}
	return best, nil
}

// OpenDir opens the dataset version directory dir (the one holding dataset_info.json).
func OpenDir(dir string) (*Dataset, error) {
	info, err := ReadDatasetInfo(filepath.Join(dir, infoFile))
	if err != nil {
		return nil, err
	}
	feats, err := ReadFeatures(filepath.Join(dir, featuresFile))
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, labelNamesFile)); err == nil {
		names := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if feats.Label.NumClasses == 0 || feats.Label.NumClasses == len(names) {
			feats.Label.Names = names
			feats.Label.NumClasses = len(names)
		}
	}
	return &Dataset{Dir: dir, Info: info, Features: feats}, nil
}

// HasLabels reports whether the dataset has labels (a ClassLabel with classes). A dataset of
// unlabelled images only, such as a flat image folder prepared by ImportFolder (the split
// "unlabelled", every label -1), has none: pretraining on it trains the contrastive part alone,
// without the online probe and validation, and evaluation refuses it.
func (d *Dataset) HasLabels() bool { return d.Features.Label.NumClasses > 0 }

// SplitNames returns the names of the dataset's splits, in dataset_info.json's order.
func (d *Dataset) SplitNames() []string {
	names := make([]string, len(d.Info.Splits))
	for i, s := range d.Info.Splits {
		names[i] = s.Name
	}
	return names
}

// Split returns the named split with its shard files resolved and checked to exist. Errors wrap
// ErrUnknownSplit, ErrMissingShard, ErrPathEscape or ErrBadInfo.
func (d *Dataset) Split(name string) (*Split, error) {
	var si *SplitInfo
	for i := range d.Info.Splits {
		if d.Info.Splits[i].Name == name {
			si = &d.Info.Splits[i]
			break
		}
	}
	if si == nil {
		return nil, fmt.Errorf("loader: %s: %w %q (dataset_info.json lists %s)", d.Dir, ErrUnknownSplit, name, strings.Join(d.SplitNames(), ", "))
	}
	switch d.Info.FileFormat {
	case "", "tfrecord":
	default:
		return nil, fmt.Errorf("loader: %s: %w: file format %q (only tfrecord is supported)", d.Dir, ErrBadInfo, d.Info.FileFormat)
	}
	s := &Split{Name: name, Shape: d.Features.Image.Shape, dataset: d}
	for i, n := range si.ShardLengths {
		rel, err := ShardPath(si.FilepathTemplate, d.Info.Name, name, "tfrecord", i, len(si.ShardLengths))
		if err != nil {
			return nil, fmt.Errorf("loader: %s: split %q: %w", filepath.Join(d.Dir, infoFile), name, err)
		}
		p := filepath.Join(d.Dir, filepath.FromSlash(rel))
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("loader: split %q shard %d of %d: %w: %s", name, i, len(si.ShardLengths), ErrMissingShard, p)
		}
		s.Shards = append(s.Shards, Shard{Path: p, NumExamples: int(n)})
	}
	return s, nil
}

// ShardPath returns the path, relative to the dataset version directory and with forward
// slashes, of shard index of numShards of a split, filled in from a tfds filepathTemplate
// ("" means tfds's default "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"). Shard numbers have
// max(5, digits of numShards) digits, as in tfds. A template naming an unknown variable, or whose
// path is absolute or leaves the version directory, is an error (ErrBadInfo, ErrPathEscape).
func ShardPath(template, dataset, split, fileFormat string, index, numShards int) (string, error) {
	if template == "" {
		template = DefaultFilepathTemplate
	}
	digits := max(5, len(strconv.Itoa(numShards)))
	idx := fmt.Sprintf("%0*d", digits, index)
	num := fmt.Sprintf("%0*d", digits, numShards)
	vars := map[string]string{
		"DATASET":      dataset,
		"SPLIT":        split,
		"FILEFORMAT":   fileFormat,
		"SHARD_INDEX":  idx,
		"NUM_SHARDS":   num,
		"SHARD_X_OF_Y": idx + "-of-" + num,
	}
	var b strings.Builder
	rest := template
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: filepathTemplate %q: unclosed {", ErrBadInfo, template)
		}
		v, ok := vars[rest[i+1:i+j]]
		if !ok {
			return "", fmt.Errorf("%w: filepathTemplate %q: unknown variable {%s}", ErrBadInfo, template, rest[i+1:i+j])
		}
		b.WriteString(rest[:i])
		b.WriteString(v)
		rest = rest[i+j+1:]
	}
	p := b.String()
	clean := filepath.ToSlash(filepath.Clean(filepath.FromSlash(p)))
	if p == "" || strings.HasPrefix(p, "/") || filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("%w: filepathTemplate %q gives %q, outside the dataset directory", ErrPathEscape, template, p)
	}
	return clean, nil
}

// Split is one split of a dataset: its shard files in order. Example i of the split (its "file
// order" index) is record i - (examples of the shards before) of the shard holding it.
type Split struct {
	Name   string
	Shards []Shard
	// Shape is the image shape features.json declares.
	Shape   Shape
	dataset *Dataset
}

// Shard is one TFRecord file of a split and the number of examples dataset_info.json gives it.
type Shard struct {
	Path        string
	NumExamples int
}

// NumExamples returns the number of examples of the split per dataset_info.json.
func (s *Split) NumExamples() int {
	n := 0
	for _, sh := range s.Shards {
		n += sh.NumExamples
	}
	return n
}

// Dataset returns the dataset the split belongs to.
func (s *Split) Dataset() *Dataset { return s.dataset }

// Open indexes the records of every shard (checking each length CRC, that no record is cut off
// and that each shard holds as many records as dataset_info.json says) and returns a reader for
// random access to the split's examples.
func (s *Split) Open() (*SplitReader, error) {
	r := &SplitReader{split: s}
	start := 0
	for _, sh := range s.Shards {
		f, err := os.Open(sh.Path)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("loader: %w: %v", ErrMissingShard, err)
		}
		r.files = append(r.files, f)
		st, err := f.Stat()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("loader: %w", err)
		}
		locs, err := tfrecord.Index(f, st.Size(), sh.Path)
		if err != nil {
			r.Close()
			return nil, err
		}
		if len(locs) != sh.NumExamples {
			r.Close()
			return nil, fmt.Errorf("loader: %s: %w: %d records, dataset_info.json says %d", sh.Path, ErrBadInfo, len(locs), sh.NumExamples)
		}
		r.locs = append(r.locs, locs)
		r.starts = append(r.starts, start)
		start += len(locs)
	}
	r.n = start
	return r, nil
}

// SplitReader reads a split's examples by file-order index. Its methods are safe for concurrent
// use (reads use ReadAt). Close it when done.
type SplitReader struct {
	split  *Split
	files  []*os.File
	locs   [][]tfrecord.Loc
	starts []int
	n      int
	mu     sync.Mutex
	closed bool
}

// Len returns the number of examples.
func (r *SplitReader) Len() int { return r.n }

// Shape returns the decoded image shape.
func (r *SplitReader) Shape() Shape { return r.split.Shape }

// locate maps a file-order index to its shard and record.
func (r *SplitReader) locate(i int) (shard, rec int) {
	shard = sort.Search(len(r.starts), func(k int) bool { return r.starts[k] > i }) - 1
	return shard, i - r.starts[shard]
}

// Record returns the serialized tf.train.Example of example i, read into buf (grown as needed;
// the result aliases it). Errors are *RecordError values naming the shard, record and offset.
func (r *SplitReader) Record(i int, buf []byte) ([]byte, error) {
	if i < 0 || i >= r.n {
		return nil, fmt.Errorf("loader: split %q: example %d out of range [0, %d)", r.split.Name, i, r.n)
	}
	sh, k := r.locate(i)
	loc := r.locs[sh][k]
	data, err := tfrecord.ReadAt(r.files[sh], loc, buf)
	if err != nil {
		return nil, &RecordError{Path: r.split.Shards[sh].Path, Index: k, Offset: loc.Offset, Err: err}
	}
	return data, nil
}

// Read decodes example i into dst (Shape().Size() bytes, HWC) and returns its label. buf is a
// scratch buffer for the record (may be nil); pass the one returned to reuse it. Errors are
// *RecordError values naming the shard, record and offset. A split whose images differ in size
// (Shape().Fixed() is false) is read with ReadImage instead.
func (r *SplitReader) Read(i int, dst, buf []byte) (label int64, newBuf []byte, err error) {
	if !r.split.Shape.Fixed() {
		return 0, buf, fmt.Errorf("loader: split %q: %w: its images differ in size (features declare %v): read them with ReadImage, or give the pipeline an output shape", r.split.Name, ErrShape, r.split.Shape)
	}
	data, err := r.Record(i, buf)
	if err != nil {
		return 0, buf, err
	}
	buf = data[:cap(data)]
	label, err = DecodeExample(data, r.split.Shape, dst)
	if err != nil {
		return 0, buf, r.recordError(i, err)
	}
	return label, buf, nil
}

// Filename returns the source file name example i carries in its "image/filename" feature
// ("" when it has none; see Features.Filenames). buf is as in Read.
func (r *SplitReader) Filename(i int, buf []byte) (name string, newBuf []byte, err error) {
	data, err := r.Record(i, buf)
	if err != nil {
		return "", buf, err
	}
	buf = data[:cap(data)]
	ex, err := ParseExample(data)
	if err != nil {
		return "", buf, r.recordError(i, err)
	}
	return ex.Filename, buf, nil
}

// ReadImage decodes example i at its own size into Shape().Channels channels and returns the
// pixels (written to pix when it is large enough, the result then aliasing it), their shape and
// the label. In a split of fixed shape an image of another size is an ErrShape error. buf is as
// in Read.
func (r *SplitReader) ReadImage(i int, pix, buf []byte) (img []byte, shape Shape, label int64, newBuf []byte, err error) {
	data, err := r.Record(i, buf)
	if err != nil {
		return nil, Shape{}, 0, buf, err
	}
	buf = data[:cap(data)]
	ex, err := ParseExample(data)
	if err == nil {
		img, shape, err = DecodeImageAny(ex.Image, r.split.Shape.Channels, pix)
	}
	if err == nil && r.split.Shape.Fixed() && shape != r.split.Shape {
		err = fmt.Errorf("%w: image is %v, features declare %v", ErrShape, shape, r.split.Shape)
	}
	if err != nil {
		return nil, Shape{}, 0, buf, r.recordError(i, err)
	}
	return img, shape, ex.Label, buf, nil
}

// recordError wraps err as the *RecordError of example i.
func (r *SplitReader) recordError(i int, err error) error {
	sh, k := r.locate(i)
	return &RecordError{Path: r.split.Shards[sh].Path, Index: k, Offset: r.locs[sh][k].Offset, Err: err}
}

// ReadAll decodes every example in file order: images as one NHWC buffer, and the labels. It
// needs a split of fixed shape (see Read).
func (r *SplitReader) ReadAll() (images []byte, labels []int64, err error) {
	size := r.split.Shape.Size()
	images = make([]byte, r.n*size)
	labels = make([]int64, r.n)
	var buf []byte
	for i := range r.n {
		labels[i], buf, err = r.Read(i, images[i*size:(i+1)*size], buf)
		if err != nil {
			return nil, nil, err
		}
	}
	return images, labels, nil
}

// Close closes the shard files. It is safe to call more than once.
func (r *SplitReader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	var first error
	for _, f := range r.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// file names of the tfds layout.
const (
	infoFile       = "dataset_info.json"
	featuresFile   = "features.json"
	labelNamesFile = "label.labels.txt"
)

// DefaultFilepathTemplate is tfds's default shard file name template.
const DefaultFilepathTemplate = "{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"

// ReadDatasetInfo reads a dataset_info.json (the JSON form of tfds's DatasetInfo proto).
func ReadDatasetInfo(path string) (DatasetInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return DatasetInfo{}, fmt.Errorf("loader: %w: %v", ErrNotFound, err)
		}
		return DatasetInfo{}, fmt.Errorf("loader: %w", err)
	}
	return parseDatasetInfo(b, path)
}

// parseDatasetInfo parses the dataset_info.json read from path.
func parseDatasetInfo(b []byte, path string) (DatasetInfo, error) {
	var info DatasetInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return DatasetInfo{}, fmt.Errorf("loader: %s: %w: %v", path, ErrBadInfo, err)
	}
	if len(info.Splits) == 0 {
		return DatasetInfo{}, fmt.Errorf("loader: %s: %w: no splits", path, ErrBadInfo)
	}
	for _, s := range info.Splits {
		for _, n := range s.ShardLengths {
			if n < 0 || n > 1<<40 {
				return DatasetInfo{}, fmt.Errorf("loader: %s: %w: split %q shard length %d", path, ErrBadInfo, s.Name, n)
			}
		}
	}
	return info, nil
}

// ReadFeatures reads a features.json and returns its image and label features.
func ReadFeatures(path string) (Features, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Features{}, fmt.Errorf("loader: %w", err)
	}
	f, err := parseFeatures(b)
	if err != nil {
		return Features{}, fmt.Errorf("loader: %s: %w", path, err)
	}
	return f, nil
}
