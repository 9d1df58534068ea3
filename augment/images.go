package augment

import "fmt"

// Images is a batch of uint8 images, NHWC, row-major and contiguous: pixel (n, y, x, c) is
// Pix[((n*H+y)*W+x)*C+c].
type Images struct {
	Pix        []uint8
	N, H, W, C int
}

// Validate checks that the dimensions are positive and agree with len(Pix).
func (im Images) Validate() error {
	switch {
	case im.N <= 0:
		return fmt.Errorf("augment: images: batch size N = %d: want > 0", im.N)
	case im.H <= 0 || im.W <= 0:
		return fmt.Errorf("augment: images: size %d×%d: want a non-empty image", im.H, im.W)
	case im.C != 1 && im.C != 3:
		return fmt.Errorf("augment: images: %d channels: want 1 or 3", im.C)
	case len(im.Pix) != im.N*im.H*im.W*im.C:
		return fmt.Errorf("augment: images: %d bytes for shape [%d %d %d %d]: want %d",
			len(im.Pix), im.N, im.H, im.W, im.C, im.N*im.H*im.W*im.C)
	}
	return nil
}

// Box is a crop box in normalized coordinates, as tf.image.crop_and_resize takes it: the crop
// spans rows y1·(H−1) … y2·(H−1) and columns x1·(W−1) … x2·(W−1) of the source image.
type Box struct{ Y1, X1, Y2, X2 float32 }

// FullBox is the whole image.
var FullBox = Box{0, 0, 1, 1}
