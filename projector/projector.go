package projector

import (
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/loader"
	"github.com/nnclr/nnclr/setting"
)

// Files and limits.
const (
	// ConfigFile is the name the projector plugin looks for in a log or run directory.
	ConfigFile = "projector_config.pbtxt"
	// DataDir is the subdirectory of the log directory that holds the embeddings' files.
	DataDir = "projector"
	// MaxSpriteSide is the largest sprite width and height TensorBoard's projector loads (pixels).
	MaxSpriteSide = 8192
	// MinThumb is the smallest thumbnail side Write shrinks to before it refuses a sprite.
	MinThumb     = 4
	entryFile    = "entry.json"
	tensorsFile  = "tensors.tsv"
	metadataFile = "metadata.tsv"
	spriteFile   = "sprite.png"
)

// Image is one thumbnail source: a uint8 HWC image of Shape (1 or 3 channels).
type Image struct {
	Pix   []byte
	Shape loader.Shape
}

// Embedding is one point cloud for the projector. Vectors holds N rows of Dim float32 values;
// every other slice is empty or has N entries.
type Embedding struct {
	// Name is the tensor name the projector lists (e.g. "fashion_mnist/test"); a later Write of
	// the same name in the same directory replaces it, other names are kept.
	Name    string
	Vectors []float32
	Dim     int
	// Index is each example's index in its split (metadata column "index").
	Index []int
	// Labels are the class indices (metadata column "label"); nil when the split has none.
	// ClassNames maps a label to its name (column "class"); nil when unknown.
	Labels     []int64
	ClassNames []string
	// Files are the examples' source file names (column "file"), where the dataset has them.
	Files []string
	// Images are the sprite's thumbnails; nil writes no sprite.
	Images []Image
}

// Result says what Write wrote.
type Result struct {
	Config   string   // the projector_config.pbtxt written
	Dir      string   // the embedding's directory
	Rows     int      // points
	Columns  []string // metadata columns (a header row is written when there are two or more)
	Sprite   string   // the sprite's path ("" when none)
	Thumb    image.Point
	SpriteWH image.Point
	// Notes are what the caller should tell the user: images resized to a common size, smaller
	// thumbnails, no labels.
	Notes []string
}

// entry is an embedding directory's record (entry.json), from which the config is rebuilt.
type entry struct {
	Format     string `json:"format"` // "nnclr-projector-entry"
	Version    int    `json:"version"`
	Name       string `json:"name"`
	Generation int    `json:"generation"`
	Rows       int    `json:"rows"`
	Dim        int    `json:"dim"`
	Metadata   bool   `json:"metadata"`
	Sprite     bool   `json:"sprite"`
	ThumbW     int    `json:"thumb_width,omitempty"`
	ThumbH     int    `json:"thumb_height,omitempty"`
	dir        string // directory name under DataDir
}

const entryFormat = "nnclr-projector-entry"

// Validate checks an embedding's sizes and values.
func (e Embedding) Validate() error {
	n := 0
	if e.Dim > 0 {
		n = len(e.Vectors) / e.Dim
	}
	switch {
	case strings.TrimSpace(e.Name) == "":
		return errors.New("projector: embedding has no name")
	case e.Dim <= 0 || len(e.Vectors) == 0 || len(e.Vectors) != n*e.Dim:
		return fmt.Errorf("projector: embedding %s: %d values of dimension %d: want a positive whole number of rows", e.Name, len(e.Vectors), e.Dim)
	case e.Index != nil && len(e.Index) != n, e.Labels != nil && len(e.Labels) != n,
		e.Files != nil && len(e.Files) != n, e.Images != nil && len(e.Images) != n:
		return fmt.Errorf("projector: embedding %s: %d rows but %d indices, %d labels, %d files, %d images", e.Name, n, len(e.Index), len(e.Labels), len(e.Files), len(e.Images))
	}
	for i, v := range e.Vectors {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("projector: embedding %s: row %d value %d is %v", e.Name, i/e.Dim, i%e.Dim, v)
		}
	}
	for i, im := range e.Images {
		if im.Shape.Height <= 0 || im.Shape.Width <= 0 || (im.Shape.Channels != 1 && im.Shape.Channels != 3) || len(im.Pix) != im.Shape.Size() {
			return fmt.Errorf("projector: embedding %s: image %d: %d bytes of shape %v: want 1 or 3 channels", e.Name, i, len(im.Pix), im.Shape)
		}
	}
	return nil
}

// SpriteLayout returns the thumbnail size and the sprite size for n thumbnails of w×h pixels in
// TensorBoard's square grid of ceil(√n) × ceil(√n) cells: the thumbnails are shrunk (keeping
// their aspect) until neither side of the sprite exceeds MaxSpriteSide. A grid that would need
// thumbnails under MinThumb pixels is refused, naming the largest n that fits (a
// *setting.Error on projector_limit).
func SpriteLayout(n, w, h int) (thumb, sprite image.Point, err error) {
	grid := int(math.Ceil(math.Sqrt(float64(n))))
	for grid*grid < n {
		grid++
	}
	side := max(w, h)
	if grid*side > MaxSpriteSide {
		s := float64(MaxSpriteSide/grid) / float64(side)
		w, h = int(math.Floor(float64(w)*s)), int(math.Floor(float64(h)*s))
	}
	if min(w, h) < MinThumb {
		most := (MaxSpriteSide / MinThumb) * (MaxSpriteSide / MinThumb)
		return thumb, sprite, setting.Errorf("projector_limit", n, "a sprite of %d images is a %dx%d grid: within TensorBoard's %d px per side its thumbnails would be under %d px; at most %d images fit",
			n, grid, grid, MaxSpriteSide, MinThumb, most)
	}
	return image.Pt(w, h), image.Pt(grid*w, grid*h), nil
}

// Write writes e for the projector under logdir (created if needed) and rebuilds logdir's
// projector_config.pbtxt from every embedding written there (the newest of each name).
func Write(logdir string, e Embedding) (Result, error) {
	if err := e.Validate(); err != nil {
		return Result{}, err
	}
	n := len(e.Vectors) / e.Dim
	data := filepath.Join(logdir, DataDir)
	if err := os.MkdirAll(data, 0o755); err != nil {
		return Result{}, fmt.Errorf("projector: %w", err)
	}
	entries, err := readEntries(data)
	if err != nil {
		return Result{}, err
	}
	gen := 1
	for _, x := range entries {
		gen = max(gen, x.Generation+1)
	}
	ent := entry{Format: entryFormat, Version: 1, Name: e.Name, Generation: gen, Rows: n, Dim: e.Dim}
	ent.dir = fmt.Sprintf("%s.%d", slug(e.Name), gen)
	tmp, err := os.MkdirTemp(data, "."+ent.dir+".tmp")
	if err != nil {
		return Result{}, fmt.Errorf("projector: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return Result{}, fmt.Errorf("projector: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	res := Result{Dir: filepath.Join(data, ent.dir), Rows: n}
	if err := writeTensors(filepath.Join(tmp, tensorsFile), e); err != nil {
		return Result{}, err
	}
	cols, rows := metadata(e)
	res.Columns = cols
	if len(cols) > 0 {
		ent.Metadata = true
		if err := writeLines(filepath.Join(tmp, metadataFile), cols, rows); err != nil {
			return Result{}, err
		}
	}
	if e.Labels == nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s has no labels: the metadata has no label or class column", e.Name))
	}
	if e.Images != nil {
		thumb, sprite, notes, err := writeSprite(filepath.Join(tmp, spriteFile), e.Images)
		if err != nil {
			return Result{}, err
		}
		ent.Sprite, ent.ThumbW, ent.ThumbH = true, thumb.X, thumb.Y
		res.Thumb, res.SpriteWH, res.Sprite = thumb, sprite, filepath.Join(res.Dir, spriteFile)
		res.Notes = append(res.Notes, notes...)
	}
	if err := writeJSON(filepath.Join(tmp, entryFile), ent); err != nil {
		return Result{}, err
	}
	if err := os.Rename(tmp, res.Dir); err != nil {
		return Result{}, fmt.Errorf("projector: %w", err)
	}
	done = true
	// The newest entry of each name goes into the config; older ones are removed after it.
	keep := map[string]entry{}
	for _, x := range append(entries, ent) {
		if old, ok := keep[x.Name]; !ok || x.Generation > old.Generation {
			keep[x.Name] = x
		}
	}
	var live []entry
	for _, x := range keep {
		live = append(live, x)
	}
	slices.SortFunc(live, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	res.Config = filepath.Join(logdir, ConfigFile)
	if err := atomicfile.Write(res.Config, func(w io.Writer) error { return writeConfig(w, live) }); err != nil {
		return Result{}, fmt.Errorf("projector: %w", err)
	}
	for _, x := range entries {
		if keep[x.Name].dir != x.dir {
			if err := os.RemoveAll(filepath.Join(data, x.dir)); err != nil {
				return res, fmt.Errorf("projector: removing the replaced %s: %w", x.dir, err)
			}
		}
	}
	return res, nil
}

// readEntries reads the complete embedding directories under data (hidden temporary ones are
// left out: an interrupted write).
func readEntries(data string) ([]entry, error) {
	des, err := os.ReadDir(data)
	if err != nil {
		return nil, fmt.Errorf("projector: %w", err)
	}
	var out []entry
	for _, de := range des {
		if !de.IsDir() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(data, de.Name(), entryFile))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("projector: %w", err)
		}
		var x entry
		if err := json.Unmarshal(raw, &x); err != nil || x.Format != entryFormat {
			return nil, fmt.Errorf("projector: %s: not an nnclr projector entry (%v)", filepath.Join(data, de.Name(), entryFile), err)
		}
		x.dir = de.Name()
		out = append(out, x)
	}
	return out, nil
}

// slug turns a name into a directory name: letters, digits, '-' and '_' kept, the rest '_'.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 128 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, s)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("projector: %w", err)
	}
	return write(path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

func write(path string, f func(io.Writer) error) error {
	if err := atomicfile.Write(path, f); err != nil {
		return fmt.Errorf("projector: %w", err)
	}
	return nil
}

// writeTensors writes the vectors as TSV: one row per line, values in the shortest form that
// reads back as the same float32.
func writeTensors(path string, e Embedding) error {
	return write(path, func(w io.Writer) error {
		var line []byte
		for i := 0; i < len(e.Vectors); i += e.Dim {
			line = line[:0]
			for j, v := range e.Vectors[i : i+e.Dim] {
				if j > 0 {
					line = append(line, '\t')
				}
				line = strconv.AppendFloat(line, float64(v), 'g', -1, 32)
			}
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
}

// metadata returns the metadata columns and rows: index, label, class and file, those the
// embedding has.
func metadata(e Embedding) ([]string, [][]string) {
	n := len(e.Vectors) / e.Dim
	type col struct {
		name string
		at   func(i int) string
	}
	var cols []col
	if e.Index != nil {
		cols = append(cols, col{"index", func(i int) string { return strconv.Itoa(e.Index[i]) }})
	}
	if e.Labels != nil {
		cols = append(cols, col{"label", func(i int) string { return strconv.FormatInt(e.Labels[i], 10) }})
		if e.ClassNames != nil {
			cols = append(cols, col{"class", func(i int) string {
				if l := e.Labels[i]; l >= 0 && l < int64(len(e.ClassNames)) {
					return e.ClassNames[l]
				}
				return strconv.FormatInt(e.Labels[i], 10)
			}})
		}
	}
	if e.Files != nil {
		cols = append(cols, col{"file", func(i int) string { return e.Files[i] }})
	}
	names := make([]string, len(cols))
	for j, c := range cols {
		names[j] = c.name
	}
	rows := make([][]string, n)
	for i := range rows {
		rows[i] = make([]string, len(cols))
		for j, c := range cols {
			rows[i][j] = c.at(i)
		}
	}
	return names, rows
}

// cell makes a metadata value safe for one TSV cell: tabs and line breaks become spaces, and
// an empty value a single space (the projector would drop an empty single-column row).
func cell(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
	if s == "" {
		return " "
	}
	return s
}

// writeLines writes the metadata TSV: a header row when there are two or more columns (the
// projector reads a first line with a tab as the header), none for one column.
func writeLines(path string, cols []string, rows [][]string) error {
	return write(path, func(w io.Writer) error {
		var b strings.Builder
		if len(cols) > 1 {
			b.WriteString(strings.Join(cols, "\t") + "\n")
		}
		for _, r := range rows {
			for j, v := range r {
				if j > 0 {
					b.WriteByte('\t')
				}
				b.WriteString(cell(v))
			}
			b.WriteByte('\n')
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}

// writeSprite lays the images out in the projector's square grid, row by row from the top left,
// each resized to the layout's thumbnail size.
func writeSprite(path string, ims []Image) (thumb, sprite image.Point, notes []string, err error) {
	// The common size is the most frequent one (the first of equally frequent sizes).
	count := map[[2]int]int{}
	var order [][2]int
	channels := 1
	for _, im := range ims {
		k := [2]int{im.Shape.Width, im.Shape.Height}
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
		channels = max(channels, im.Shape.Channels)
	}
	common := order[0]
	for _, k := range order {
		if count[k] > count[common] {
			common = k
		}
	}
	thumb, sprite, err = SpriteLayout(len(ims), common[0], common[1])
	if err != nil {
		return thumb, sprite, nil, err
	}
	if len(order) > 1 {
		var sizes []string
		for _, k := range order {
			sizes = append(sizes, fmt.Sprintf("%dx%d (%d)", k[0], k[1], count[k]))
		}
		notes = append(notes, fmt.Sprintf("sprite: the images have %d sizes, width x height (count) %s: all resized to %dx%d",
			len(order), strings.Join(sizes, ", "), thumb.X, thumb.Y))
	} else if thumb.X != common[0] || thumb.Y != common[1] {
		notes = append(notes, fmt.Sprintf("sprite: thumbnails reduced from %dx%d to %dx%d to keep the %dx%d-cell grid within %d px",
			common[0], common[1], thumb.X, thumb.Y, sprite.X/thumb.X, sprite.Y/thumb.Y, MaxSpriteSide))
	}
	to := loader.Shape{Height: thumb.Y, Width: thumb.X, Channels: channels}
	var img image.Image
	var gray *image.Gray
	var rgb *image.NRGBA
	if channels == 1 {
		gray = image.NewGray(image.Rect(0, 0, sprite.X, sprite.Y))
		img = gray
	} else {
		rgb = image.NewNRGBA(image.Rect(0, 0, sprite.X, sprite.Y))
		img = rgb
	}
	grid := sprite.X / thumb.X
	px := make([]byte, to.Size())
	for i, im := range ims {
		if err := loader.Resize(im.Pix, im.Shape, px, to); err != nil {
			return thumb, sprite, nil, fmt.Errorf("projector: sprite image %d: %w", i, err)
		}
		x0, y0 := (i%grid)*thumb.X, (i/grid)*thumb.Y
		for y := range thumb.Y {
			for x := range thumb.X {
				o := (y*thumb.X + x) * channels
				if gray != nil {
					gray.SetGray(x0+x, y0+y, color.Gray{Y: px[o]})
				} else {
					rgb.SetNRGBA(x0+x, y0+y, color.NRGBA{R: px[o], G: px[o+1], B: px[o+2], A: 255})
				}
			}
		}
	}
	err = write(path, func(w io.Writer) error { return png.Encode(w, img) })
	return thumb, sprite, notes, err
}

// writeConfig writes the ProjectorConfig text protobuf naming the entries' files (paths
// relative to the config, which the plugin resolves against the config's directory).
func writeConfig(w io.Writer, live []entry) error {
	var b strings.Builder
	b.WriteString("# Written by nnclr for TensorBoard's projector; rewritten at each write.\n")
	for _, x := range live {
		rel := DataDir + "/" + x.dir + "/"
		b.WriteString("embeddings {\n")
		fmt.Fprintf(&b, "  tensor_name: %s\n", quote(x.Name))
		fmt.Fprintf(&b, "  tensor_shape: %d\n  tensor_shape: %d\n", x.Rows, x.Dim)
		fmt.Fprintf(&b, "  tensor_path: %s\n", quote(rel+tensorsFile))
		if x.Metadata {
			fmt.Fprintf(&b, "  metadata_path: %s\n", quote(rel+metadataFile))
		}
		if x.Sprite {
			fmt.Fprintf(&b, "  sprite {\n    image_path: %s\n    single_image_dim: %d\n    single_image_dim: %d\n  }\n",
				quote(rel+spriteFile), x.ThumbW, x.ThumbH)
		}
		b.WriteString("}\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// quote writes s as a text-format string literal: backslash, quote and control bytes escaped
// (octal), other bytes (UTF-8 included) as they are.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, "\\%03o", c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
