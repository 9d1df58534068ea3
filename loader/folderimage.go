package loader

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // GIF sources of the folder import
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"syscall"

	_ "golang.org/x/image/bmp"  // BMP sources of the folder import
	_ "golang.org/x/image/tiff" // TIFF sources of the folder import
	_ "golang.org/x/image/webp" // WebP sources of the folder import
)

// What the folder import did with an image.
const (
	actionStored    = iota // kept byte for byte
	actionConverted        // decoded and stored as PNG
	actionResized          // re-encoded smaller (FolderOptions.MaxSide)
)

// ResizedJPEGQuality is the quality JPEG sources are re-encoded at when FolderOptions.MaxSide
// makes them smaller.
const ResizedJPEGQuality = 90

// folderImage is one image file made ready to store.
type folderImage struct {
	data   []byte // the bytes stored in the example's "image" feature (PNG or JPEG)
	grey   bool   // decodes to one channel
	action int
	height int // of the stored image
	width  int
}

// readFolderImage reads and checks the image file at path and returns what to store (see
// ImportFolder for the rules). Errors wrap ErrUnreadable, ErrBadImage or ErrTooManyPixels.
func readFolderImage(path string, o FolderOptions) (img folderImage, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		var reason string
		switch {
		case errors.Is(err, syscall.ELOOP):
			reason = "symbolic link loop"
		case errors.Is(err, fs.ErrNotExist):
			reason = "dangling symbolic link (its target does not exist)"
		default:
			reason = err.Error()
		}
		return img, fmt.Errorf("%w: %s", ErrUnreadable, reason)
	}
	if !fi.Mode().IsRegular() {
		return img, fmt.Errorf("%w: not a regular file (%v)", ErrUnreadable, fi.Mode().Type())
	}
	if fi.Size() == 0 {
		return img, fmt.Errorf("%w: empty file (0 bytes)", ErrBadImage)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return img, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return prepareImage(data, o)
}

// prepareImage checks and converts one encoded image (see ImportFolder). It never panics.
func prepareImage(data []byte, o FolderOptions) (img folderImage, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = folderImage{}, fmt.Errorf("%w: the decoder failed (%v)", ErrBadImage, r)
		}
	}()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return img, fmt.Errorf("%w: not a readable JPEG, PNG, GIF, BMP, WebP or TIFF image (%v)", ErrBadImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return img, fmt.Errorf("%w: header declares %dx%d pixels", ErrBadImage, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > o.maxPixels() {
		return img, fmt.Errorf("%w: %s header declares %dx%d = %d pixels, above the limit of %d", ErrTooManyPixels, format, cfg.Width, cfg.Height, px, o.maxPixels())
	}
	m, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return img, fmt.Errorf("%w: truncated or corrupt %s (%v)", ErrBadImage, format, err)
	}
	b := m.Bounds()
	h, w := b.Dy(), b.Dx()
	if h != cfg.Height || w != cfg.Width {
		return img, fmt.Errorf("%w: %s decodes to %dx%d, its header declares %dx%d", ErrBadImage, format, w, h, cfg.Width, cfg.Height)
	}
	keep := false
	switch format {
	case "jpeg":
		switch m.(type) {
		case *image.Gray:
			keep, img.grey = true, true
		case *image.YCbCr:
			keep = true
		} // CMYK and YCCK JPEGs are converted
	case "png":
		// IHDR: bit depth at byte 24, colour type at byte 25.
		depth, ct := data[24], data[25]
		keep = depth == 8 && (ct == 0 || ct == 2 || ct == 6)
		img.grey = ct == 0 || ct == 4
	}
	switch m.(type) {
	case *image.Gray, *image.Gray16:
		img.grey = true
	}
	img.height, img.width = h, w
	resize := o.MaxSide > 0 && max(h, w) > o.MaxSide
	if keep && !resize {
		img.data, img.action = data, actionStored
		return img, nil
	}
	c := 3
	if img.grey {
		c = 1
	}
	from := Shape{Height: h, Width: w, Channels: c}
	pix := make([]byte, from.Size())
	if err := toHWC(m, from, pix); err != nil {
		return img, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	to := from
	img.action = actionConverted
	if resize {
		img.action = actionResized
		if h >= w {
			to.Height, to.Width = o.MaxSide, max(1, int(float64(w)*float64(o.MaxSide)/float64(h)+0.5))
		} else {
			to.Height, to.Width = max(1, int(float64(h)*float64(o.MaxSide)/float64(w)+0.5)), o.MaxSide
		}
		small := make([]byte, to.Size())
		if err := Resize(pix, from, small, to); err != nil {
			return img, err
		}
		pix = small
	}
	img.height, img.width = to.Height, to.Width
	if resize && format == "jpeg" {
		img.data, err = encodeJPEG(pix, to)
	} else {
		img.data, err = EncodePNG(pix, to, png.DefaultCompression)
	}
	return img, err
}

// encodeJPEG encodes a uint8 HWC image (1 or 3 channels) with Go's image/jpeg at
// ResizedJPEGQuality.
func encodeJPEG(pix []byte, shape Shape) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, hwcImage(pix, shape), &jpeg.Options{Quality: ResizedJPEGQuality}); err != nil {
		return nil, fmt.Errorf("loader: encode jpeg: %w", err)
	}
	return buf.Bytes(), nil
}
