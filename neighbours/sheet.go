package neighbours

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/nnclr/nnclr/internal/atomicfile"
	"github.com/nnclr/nnclr/loader"
)

// Sheet is what Draw draws: the result of Find and the images of its queries and neighbours.
type Sheet struct {
	Result Result
	// QueryImages[i] is query i's image; NeighbourImages[i][j] its neighbour j's. Images are
	// uint8 HWC of Shape (1 or 3 channels).
	QueryImages     [][]byte
	NeighbourImages [][][]byte
	Shape           loader.Shape
	// ClassNames names the labels (nil: the label numbers are shown); Title heads the sheet.
	ClassNames []string
	Title      string
}

// Layout constants of the sheet, in pixels.
const (
	minCell = 64 // thumbnails are scaled up by a whole factor to at least this side
	frame   = 3  // the coloured frame of a neighbour
	gap     = 6  // between cells
	textH   = 28 // two lines of 7×13 text under a cell
	gapQ    = 14 // between the query and its neighbours
)

var (
	colSame  = color.RGBA{0, 160, 60, 255}
	colOther = color.RGBA{220, 30, 30, 255}
	colQuery = color.RGBA{40, 90, 220, 255}
	colText  = color.RGBA{20, 20, 20, 255}
	colBack  = color.RGBA{255, 255, 255, 255}
)

// Draw renders the sheet.
func Draw(s Sheet) (*image.RGBA, error) {
	r := s.Result
	if len(r.Queries) == 0 || len(s.QueryImages) != len(r.Queries) || len(s.NeighbourImages) != len(r.Queries) {
		return nil, fmt.Errorf("neighbours: %d queries, %d query images and %d neighbour rows", len(r.Queries), len(s.QueryImages), len(s.NeighbourImages))
	}
	if s.Shape.Height <= 0 || s.Shape.Width <= 0 || (s.Shape.Channels != 1 && s.Shape.Channels != 3) {
		return nil, fmt.Errorf("neighbours: image shape %v: want 1 or 3 channels", s.Shape)
	}
	k := len(r.Queries[0].Neighbours)
	scale := max(1, (minCell+max(s.Shape.Height, s.Shape.Width)-1)/max(s.Shape.Height, s.Shape.Width))
	cw, ch := s.Shape.Width*scale+2*frame, s.Shape.Height*scale+2*frame
	top := 22
	width := gap + cw + gapQ + k*(cw+gap)
	height := top + len(r.Queries)*(ch+textH+gap) + gap
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBack), image.Point{}, draw.Src)
	title := s.Title
	if title == "" {
		title = "query | nearest neighbours by cosine similarity"
	}
	text(img, gap, 15, title+fmt.Sprintf("  (green: same class, red: other class; %d of %d same class)", r.SameClass, r.Drawn))
	name := func(l int64) string {
		if l >= 0 && l < int64(len(s.ClassNames)) {
			return s.ClassNames[l]
		}
		return fmt.Sprint(l)
	}
	for i, q := range r.Queries {
		if len(q.Neighbours) != k || len(s.NeighbourImages[i]) != k {
			return nil, fmt.Errorf("neighbours: query %d has %d neighbours and %d images, want %d", i, len(q.Neighbours), len(s.NeighbourImages[i]), k)
		}
		y := top + i*(ch+textH+gap)
		x := gap
		if err := cell(img, x, y, cw, ch, scale, s.QueryImages[i], s.Shape, colQuery); err != nil {
			return nil, err
		}
		label(img, x, y+ch, cw, name(q.Label), fmt.Sprintf("query %d", q.Index))
		x += cw + gapQ
		for j, nb := range q.Neighbours {
			c := colSame
			if nb.Label != q.Label {
				c = colOther
			}
			if err := cell(img, x, y, cw, ch, scale, s.NeighbourImages[i][j], s.Shape, c); err != nil {
				return nil, err
			}
			label(img, x, y+ch, cw, name(nb.Label), fmt.Sprintf("%.3f", nb.Similarity))
			x += cw + gap
		}
	}
	return img, nil
}

// cell draws one image scaled by a whole factor (nearest neighbour) inside a frame of colour c.
func cell(img *image.RGBA, x, y, cw, ch, scale int, pix []byte, s loader.Shape, c color.RGBA) error {
	if len(pix) != s.Size() {
		return fmt.Errorf("neighbours: image of %d bytes, want %d (%v)", len(pix), s.Size(), s)
	}
	draw.Draw(img, image.Rect(x, y, x+cw, y+ch), image.NewUniform(c), image.Point{}, draw.Src)
	for py := range s.Height * scale {
		for px := range s.Width * scale {
			o := ((py/scale)*s.Width + px/scale) * s.Channels
			v := color.RGBA{pix[o], pix[o], pix[o], 255}
			if s.Channels == 3 {
				v.G, v.B = pix[o+1], pix[o+2]
			}
			img.SetRGBA(x+frame+px, y+frame+py, v)
		}
	}
	return nil
}

// label writes two lines under a cell, cut to its width.
func label(img *image.RGBA, x, y, w int, l1, l2 string) {
	chars := max(1, w/7)
	for i, s := range []string{l1, l2} {
		if r := []rune(s); len(r) > chars {
			s = string(r[:chars-1]) + "~"
		}
		text(img, x, y+12+i*13, s)
	}
}

func text(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(colText), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// WritePNG writes img to path atomically.
func WritePNG(path string, img image.Image) error {
	if err := atomicfile.Write(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return fmt.Errorf("neighbours: %w", err)
	}
	return nil
}
