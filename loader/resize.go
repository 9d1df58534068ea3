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
	cin := from.Channels
	var px [3]float32
	for oy, wy := range ys {
		top := src[wy.lo*from.Width*cin:]
		bot := src[wy.hi*from.Width*cin:]
		for ox, wx := range xs {
			for k := range cin {
				tl := float32(top[wx.lo*cin+k])
				tr := float32(top[wx.hi*cin+k])
				bl := float32(bot[wx.lo*cin+k])
				br := float32(bot[wx.hi*cin+k])
				t := tl + (tr-tl)*wx.lerp
				b := bl + (br-bl)*wx.lerp
				px[k] = t + (b-t)*wy.lerp
			}
			o := dst[(oy*to.Width+ox)*to.Channels:]
			switch {
			case cin == to.Channels:
				for k := range cin {
					o[k] = roundByte(px[k])
				}
			case cin == 1:
				v := roundByte(px[0])
				for k := range to.Channels {
					o[k] = v
				}
			default: // 3 -> 1
				o[0] = roundByte(0.2989*px[0] + 0.5870*px[1] + 0.1140*px[2])
			}
		}
	}
	return nil
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

func roundByte(v float32) uint8 {
	r := math.RoundToEven(float64(v))
	if r < 0 {
		return 0
	}
	if r > 255 {
		return 255
	}
	return uint8(r)
}
