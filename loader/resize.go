package loader

import (
	"fmt"
	"math"
)

// Resize converts one uint8 HWC image of shape from into dst of shape to (to.Size() bytes): it
// resizes height and width as tf.image.resize(method="bilinear", antialias=False) does
// (half-pixel centres), rounding to the nearest integer, and maps channels: equal counts are
// kept, 1 channel is replicated into to.Channels (e.g. Fashion-MNIST's 28×28×1 to the model's
// 96×96×3), and 3 channels become 1 with tf.image.rgb_to_grayscale's weights. Any other
// channel change is an ErrShape error. The pipeline calls it when BatchConfig.Output or
// Options.Output differs from the dataset's shape.
func Resize(src []byte, from Shape, dst []byte, to Shape) error {
	if err := checkResize(from, to); err != nil {
		return err
	}
	if len(src) != from.Size() || len(dst) != to.Size() {
		return fmt.Errorf("%w: resize %v -> %v with %d and %d bytes", ErrShape, from, to, len(src), len(dst))
	}
	ys := interpWeights(from.Height, to.Height)
	xs := interpWeights(from.Width, to.Width)
	cin, cout := from.Channels, to.Channels
	rowIn, rowOut := from.Width*cin, to.Width*cout
	for oy, wy := range ys {
		top := src[wy.lo*rowIn : (wy.lo+1)*rowIn]
		bot := src[wy.hi*rowIn : (wy.hi+1)*rowIn]
		out := dst[oy*rowOut : (oy+1)*rowOut]
		if cin == 1 {
			// One value per pixel, written to every output channel (Fashion-MNIST's case).
			for ox, wx := range xs {
				v := roundByte(lerp2(top[wx.lo], top[wx.hi], bot[wx.lo], bot[wx.hi], wx.lerp, wy.lerp))
				o := out[ox*cout : (ox+1)*cout]
				for k := range o {
					o[k] = v
				}
			}
			continue
		}
		var px [3]float32
		for ox, wx := range xs {
			l, r := wx.lo*cin, wx.hi*cin
			for k := range cin {
				px[k] = lerp2(top[l+k], top[r+k], bot[l+k], bot[r+k], wx.lerp, wy.lerp)
			}
			if cout == cin {
				o := out[ox*cout : (ox+1)*cout]
				for k := range o {
					o[k] = roundByte(px[k])
				}
			} else { // 3 -> 1
				out[ox] = roundByte(0.2989*px[0] + 0.5870*px[1] + 0.1140*px[2])
			}
		}
	}
	return nil
}

// lerp2 is tf.image.resize's bilinear value from the four neighbours: top = tl + (tr − tl)·x,
// bottom likewise, then top + (bottom − top)·y, in float32 in that order, each product rounded
// before its sum as in TensorFlow's kernel (the conversions keep Go from fusing them into
// multiply-adds, which it does on arm64 and with GOAMD64=v3).
func lerp2(tl, tr, bl, br uint8, x, y float32) float32 {
	t := float32(tl) + float32((float32(tr)-float32(tl))*x)
	b := float32(bl) + float32((float32(br)-float32(bl))*x)
	return t + float32((b-t)*y)
}

func checkResize(from, to Shape) error {
	if from.Height <= 0 || from.Width <= 0 || to.Height <= 0 || to.Width <= 0 || to.Channels <= 0 || (from.Channels != 1 && from.Channels != 3) {
		return fmt.Errorf("%w: cannot resize %v to %v", ErrShape, from, to)
	}
	if from.Channels != to.Channels && from.Channels != 1 && !(from.Channels == 3 && to.Channels == 1) {
		return fmt.Errorf("%w: cannot map %d channels to %d", ErrShape, from.Channels, to.Channels)
	}
	return nil
}

type interp struct {
	lo, hi int
	lerp   float32
}

// interpWeights follows TensorFlow's compute_interpolation_weights with half-pixel centres.
func interpWeights(in, out int) []interp {
	scale := float32(in) / float32(out)
	w := make([]interp, out)
	for i := range w {
		v := (float32(i)+0.5)*scale - 0.5
		f := float32(math.Floor(float64(v)))
		w[i] = interp{
			lo:   max(int(f), 0),
			hi:   min(int(math.Ceil(float64(v))), in-1),
			lerp: v - f,
		}
	}
	return w
}

// roundByte rounds v half to even and clips it to [0, 255]. Adding and taking away 2²³ rounds a
// float32 in [0, 2²²] to an integer, ties to even, as math.RoundToEven does; a negative v comes
// out negative or zero and clips to 0 either way (TestRoundByte checks it against RoundToEven).
func roundByte(v float32) uint8 {
	r := float32(v+0x1p23) - 0x1p23
	if r < 0 {
		return 0
	}
	if r > 255 {
		return 255
	}
	return uint8(r)
}
