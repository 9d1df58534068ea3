package loader

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"sync"

	expb "github.com/wamuir/graft/tensorflow/core/example/example_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

// Shape is the height, width and channel count of an HWC image.
type Shape struct {
	Height, Width, Channels int
}

// Size returns the number of bytes of one uint8 image of this shape.
func (s Shape) Size() int { return s.Height * s.Width * s.Channels }

// String formats the shape as HxWxC.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.Height, s.Width, s.Channels) }

func (s Shape) valid() bool {
	return s.Height > 0 && s.Width > 0 && (s.Channels == 1 || s.Channels == 3)
}

// Fixed reports whether the shape has a known height and width. A dataset whose images differ
// in size has a Shape of height and width 0 and a known channel count (features.json's
// (-1, -1, C), tfds's (None, None, C)).
func (s Shape) Fixed() bool { return s.Height > 0 && s.Width > 0 }

// variableValid reports whether s is a valid shape of unknown height and width.
func (s Shape) variableValid() bool {
	return s.Height == 0 && s.Width == 0 && (s.Channels == 1 || s.Channels == 3)
}

// Example is one tf.train.Example of an image dataset: the encoded image (PNG or JPEG bytes) and
// the label (-1 where the split is unlabelled).
type Example struct {
	Image []byte
	Label int64
	// Filename, when not empty, is written as the "image/filename" bytes feature (tfds's
	// ImageFolder keeps the source file's name there).
	Filename string
}

// Feature keys used by tfds image classification datasets.
const (
	ImageKey    = "image"
	LabelKey    = "label"
	FilenameKey = "image/filename"
)

// ParseExample parses a serialized tf.train.Example holding a bytes_list "image" feature with one
// value and an int64_list "label" feature with one value (a missing label reads as -1). The
// returned Image aliases no part of data. Errors wrap ErrBadExample.
func ParseExample(data []byte) (Example, error) {
	var ex expb.Example
	if err := proto.Unmarshal(data, &ex); err != nil {
		return Example{}, fmt.Errorf("%w: %v", ErrBadExample, err)
	}
	feats := ex.GetFeatures().GetFeature()
	img := feats[ImageKey].GetBytesList().GetValue()
	if len(img) != 1 {
		return Example{}, fmt.Errorf("%w: feature %q has %d bytes values, want 1", ErrBadExample, ImageKey, len(img))
	}
	out := Example{Image: img[0], Label: -1}
	if fn := feats[FilenameKey].GetBytesList().GetValue(); len(fn) == 1 {
		out.Filename = string(fn[0])
	}
	if lf, ok := feats[LabelKey]; ok {
		l := lf.GetInt64List().GetValue()
		if len(l) != 1 {
			return Example{}, fmt.Errorf("%w: feature %q has %d int64 values, want 1", ErrBadExample, LabelKey, len(l))
		}
		out.Label = l[0]
	}
	return out, nil
}

// MarshalExample serializes a tf.train.Example with the "image" bytes and the "label" int64
// features (and "image/filename" when ex.Filename is set), as tfds writes them.
func MarshalExample(ex Example) ([]byte, error) {
	m := &expb.Example{Features: &expb.Features{Feature: map[string]*expb.Feature{
		ImageKey: {Kind: &expb.Feature_BytesList{BytesList: &expb.BytesList{Value: [][]byte{ex.Image}}}},
		LabelKey: {Kind: &expb.Feature_Int64List{Int64List: &expb.Int64List{Value: []int64{ex.Label}}}},
	}}}
	if ex.Filename != "" {
		m.Features.Feature[FilenameKey] = &expb.Feature{Kind: &expb.Feature_BytesList{BytesList: &expb.BytesList{Value: [][]byte{[]byte(ex.Filename)}}}}
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("loader: marshal example: %w", err)
	}
	return b, nil
}

// MaxPixels bounds the pixels (height × width) of an image the package decodes: DecodeImage,
// DecodeImageAny and the folder import refuse an image whose header declares more, before
// decoding it, so that a forged header of a few bytes cannot make them allocate without bound
// (a 100-megapixel RGBA image already takes 400 MB to decode).
const MaxPixels = 100_000_000

// DecodeImage decodes a PNG or JPEG image (recognised by its signature) into dst as uint8 HWC of
// the given shape, the way tf.io.decode_image with channels=shape.Channels does: grayscale is
// replicated into 3 channels, alpha is dropped, 16-bit samples keep their high byte. dst must
// hold shape.Size() bytes. An image whose height or width differs from shape, or a colour image
// where shape has 1 channel, is an ErrShape error; an undecodable one an ErrBadImage error.
//
// PNG decoding is exact. JPEG decoding uses Go's image/jpeg, whose IDCT, chroma upsampling and
// YCbCr conversion are not libjpeg's: pixels can differ from TensorFlow's by a few levels.
func DecodeImage(data []byte, shape Shape, dst []byte) error {
	if !shape.valid() {
		return fmt.Errorf("%w: unsupported target shape %v", ErrShape, shape)
	}
	if len(dst) != shape.Size() {
		return fmt.Errorf("%w: destination holds %d bytes, shape %v needs %d", ErrShape, len(dst), shape, shape.Size())
	}
	img, err := decodePNGJPEG(data, func(cfg image.Config) error {
		if cfg.Height != shape.Height || cfg.Width != shape.Width {
			return fmt.Errorf("%w: image is %dx%d, features declare %v", ErrShape, cfg.Height, cfg.Width, shape)
		}
		return nil
	})
	if err != nil {
		return err
	}
	b := img.Bounds()
	if b.Dy() != shape.Height || b.Dx() != shape.Width {
		return fmt.Errorf("%w: image is %dx%d, features declare %v", ErrShape, b.Dy(), b.Dx(), shape)
	}
	return toHWC(img, shape, dst)
}

// DecodeImageAny decodes a PNG or JPEG image of any size (up to MaxPixels) as DecodeImage does,
// into channels (1 or 3) channels, and returns its pixels and shape. The pixels are written to
// buf when it is large enough (the result then aliases it), else to a new slice.
func DecodeImageAny(data []byte, channels int, buf []byte) ([]byte, Shape, error) {
	if channels != 1 && channels != 3 {
		return nil, Shape{}, fmt.Errorf("%w: %d channels: want 1 or 3", ErrShape, channels)
	}
	img, err := decodePNGJPEG(data, nil)
	if err != nil {
		return nil, Shape{}, err
	}
	b := img.Bounds()
	shape := Shape{Height: b.Dy(), Width: b.Dx(), Channels: channels}
	if cap(buf) < shape.Size() {
		buf = make([]byte, shape.Size())
	}
	buf = buf[:shape.Size()]
	if err := toHWC(img, shape, buf); err != nil {
		return nil, Shape{}, err
	}
	return buf, shape, nil
}

// decodePNGJPEG decodes a PNG or JPEG image after checking its header: check (when not nil)
// and the MaxPixels bound.
func decodePNGJPEG(data []byte, check func(image.Config) error) (image.Image, error) {
	var (
		cfg    image.Config
		decode func([]byte) (image.Image, error)
		err    error
	)
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err = png.DecodeConfig(bytes.NewReader(data))
		decode = func(b []byte) (image.Image, error) { return png.Decode(bytes.NewReader(b)) }
	case bytes.HasPrefix(data, []byte{0xff, 0xd8}):
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(data))
		decode = func(b []byte) (image.Image, error) { return jpeg.Decode(bytes.NewReader(b)) }
	default:
		return nil, fmt.Errorf("%w: neither PNG nor JPEG (%d bytes)", ErrBadImage, len(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	if check != nil {
		if err := check(cfg); err != nil {
			return nil, err
		}
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: image of %dx%d pixels is above the limit of %d", ErrBadImage, cfg.Height, cfg.Width, MaxPixels)
	}
	img, err := decode(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	return img, nil
}

// toHWC copies img into dst as uint8 HWC with shape.Channels channels.
func toHWC(img image.Image, shape Shape, dst []byte) error {
	h, w, c := shape.Height, shape.Width, shape.Channels
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			if c == 1 {
				copy(dst[y*w:], row)
				continue
			}
			o := dst[y*w*3:]
			for x, v := range row {
				o[3*x], o[3*x+1], o[3*x+2] = v, v, v
			}
		}
		return nil
	case *image.NRGBA:
		if c == 3 {
			for y := range h {
				row := m.Pix[y*m.Stride : y*m.Stride+4*w]
				o := dst[y*w*3:]
				for x := range w {
					o[3*x], o[3*x+1], o[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
				}
			}
			return nil
		}
	case *image.RGBA:
		// image/png decodes 8-bit truecolour without alpha to opaque RGBA: copy R, G, B.
		if c == 3 && m.Opaque() {
			for y := range h {
				row := m.Pix[y*m.Stride : y*m.Stride+4*w]
				o := dst[y*w*3 : (y+1)*w*3]
				for x := range w {
					o[3*x], o[3*x+1], o[3*x+2] = row[4*x], row[4*x+1], row[4*x+2]
				}
			}
			return nil
		}
	case *image.Gray16:
		for y := range h {
			for x := range w {
				v := m.Pix[y*m.Stride+2*x] // big endian: high byte first
				for k := range c {
					dst[(y*w+x)*c+k] = v
				}
			}
		}
		return nil
	}
	// General path: colour models other than the fast ones above (paletted, YCbCr, CMYK, 16-bit).
	for y := range h {
		for x := range w {
			px := img.At(b.Min.X+x, b.Min.Y+y)
			o := dst[(y*w+x)*c:]
			if c == 1 {
				g, ok := grayOf(px)
				if !ok {
					return fmt.Errorf("%w: colour image, features declare %d channel", ErrShape, c)
				}
				o[0] = g
				continue
			}
			r, g, b := straightRGB(px)
			o[0], o[1], o[2] = uint8(r>>8), uint8(g>>8), uint8(b>>8)
		}
	}
	return nil
}

// straightRGB returns the colour of px without its alpha (not premultiplied), 16 bits per
// channel. Colours stored with straight alpha keep their values exactly (going through
// premultiplied RGBA would lose them where alpha is small).
func straightRGB(px color.Color) (r, g, b uint16) {
	switch v := px.(type) {
	case color.NRGBA:
		return uint16(v.R) * 0x101, uint16(v.G) * 0x101, uint16(v.B) * 0x101
	case color.NRGBA64:
		return v.R, v.G, v.B
	case color.NYCbCrA:
		r, g, b, _ := v.YCbCr.RGBA()
		return uint16(r), uint16(g), uint16(b)
	}
	n := color.NRGBA64Model.Convert(px).(color.NRGBA64)
	return n.R, n.G, n.B
}

// grayOf returns the gray level of px when px has no colour (R == G == B).
func grayOf(px color.Color) (uint8, bool) {
	switch v := px.(type) {
	case color.Gray:
		return v.Y, true
	case color.Gray16:
		return uint8(v.Y >> 8), true
	}
	r, g, b := straightRGB(px)
	if r != g || g != b {
		return 0, false
	}
	return uint8(r >> 8), true
}

// DecodeExample parses a serialized tf.train.Example (see ParseExample) and decodes its image
// into dst (see DecodeImage). It returns the label.
func DecodeExample(record []byte, shape Shape, dst []byte) (int64, error) {
	ex, err := ParseExample(record)
	if err != nil {
		return 0, err
	}
	if err := DecodeImage(ex.Image, shape, dst); err != nil {
		return 0, err
	}
	return ex.Label, nil
}

// pngPool reuses PNG encoders (each holds a zlib writer of several hundred KB).
type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

var encoderPools sync.Map // png.CompressionLevel -> *pngPool

// hwcImage wraps a uint8 HWC image of shape (1 or 3 channels) as an image.Image for Go's
// encoders: grey as it is, RGB copied into opaque RGBA (both encoders' fast paths).
func hwcImage(pix []byte, shape Shape) image.Image {
	r := image.Rect(0, 0, shape.Width, shape.Height)
	if shape.Channels == 1 {
		return &image.Gray{Pix: pix, Stride: shape.Width, Rect: r}
	}
	m := image.NewRGBA(r)
	for i := range shape.Height * shape.Width {
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = pix[3*i], pix[3*i+1], pix[3*i+2], 255
	}
	return m
}

// EncodePNG encodes a uint8 HWC image of the given shape (1 or 3 channels) as PNG with Go's
// image/png at the given compression level. It is safe for concurrent use.
func EncodePNG(pix []byte, shape Shape, level png.CompressionLevel) ([]byte, error) {
	if !shape.valid() || len(pix) != shape.Size() {
		return nil, fmt.Errorf("loader: encode png: %w: %d bytes for shape %v", ErrShape, len(pix), shape)
	}
	var buf bytes.Buffer
	pool, _ := encoderPools.LoadOrStore(level, &pngPool{})
	enc := png.Encoder{CompressionLevel: level, BufferPool: pool.(*pngPool)}
	if err := enc.Encode(&buf, hwcImage(pix, shape)); err != nil {
		return nil, fmt.Errorf("loader: encode png: %w", err)
	}
	return buf.Bytes(), nil
}
