package augment

import (
	"fmt"
	"math"
)

// scaleLUT maps a uint8 to float32(v) * s, the Keras Rescaling layer's arithmetic.
type scaleLUT [256]float32

func newScaleLUT(s float32) *scaleLUT {
	var l scaleLUT
	for i := range l {
		l[i] = float32(i) * s
	}
	return &l
}

// Rescale is the factor of the Keras Rescaling(1/255) layer, as float32.
const Rescale = float32(1.0 / 255.0)

// axisSample is where output coordinate i samples the source along one axis.
type axisSample struct {
	lo, hi int32   // the two source indices
	lerp   float32 // weight of hi
	valid  bool    // false: outside the image, extrapolated as 0
}

// sampleAxis fills s with the sampling positions of tf.image.crop_and_resize (bilinear) along an
// axis of n source pixels for the normalized interval [a, b] and len(s) output pixels:
// in = a·(n−1) + i·(b−a)·(n−1)/(len−1), or the interval's centre when len is 1; positions outside
// [0, n−1] extrapolate. Arithmetic is float32 in TensorFlow's order (explicit conversions keep
// the compiler from fusing multiply-adds). When flip is set the source axis is mirrored first.
func sampleAxis(s []axisSample, a, b float32, n int, flip bool) {
	last := float32(n - 1)
	out := len(s)
	var step float32
	if out > 1 {
		step = float32(float32(b-a)*last) / float32(out-1)
	}
	for i := range s {
		var in float32
		if out > 1 {
			in = float32(a*last) + float32(float32(i)*step)
		} else {
			in = float32(0.5 * float64(a+b) * float64(n-1))
		}
		if in < 0 || in > last {
			s[i] = axisSample{}
			continue
		}
		lo := float32(math.Floor(float64(in)))
		hi := float32(math.Ceil(float64(in)))
		l, h := int32(lo), int32(hi)
		if flip {
			l, h = int32(n-1)-l, int32(n-1)-h
		}
		s[i] = axisSample{lo: l, hi: h, lerp: in - lo, valid: true}
	}
}

// cropScratch holds the per-axis sampling tables of one worker.
type cropScratch struct{ ys, xs []axisSample }

func (sc *cropScratch) size(oh, ow int) {
	if cap(sc.ys) < oh {
		sc.ys = make([]axisSample, oh)
	}
	if cap(sc.xs) < ow {
		sc.xs = make([]axisSample, ow)
	}
	sc.ys, sc.xs = sc.ys[:oh], sc.xs[:ow]
}

// cropResize writes the oh×ow×c bilinear crop of box from the h×w×c uint8 image src (values
// mapped through lut, mirrored horizontally first when flip) to dst, then adds delta and clips to
// [0, 1] when clip is set.
func cropResize(dst []float32, src []uint8, h, w, c int, lut *scaleLUT, box Box, flip bool, oh, ow int, delta float32, clip bool, sc *cropScratch) {
	sc.size(oh, ow)
	sampleAxis(sc.ys, box.Y1, box.Y2, h, false)
	sampleAxis(sc.xs, box.X1, box.X2, w, flip)
	o := 0
	for _, ys := range sc.ys {
		if !ys.valid {
			for k := 0; k < ow*c; k++ {
				dst[o+k] = finish(0, delta, clip)
			}
			o += ow * c
			continue
		}
		top := src[int(ys.lo)*w*c : (int(ys.lo)+1)*w*c]
		bot := src[int(ys.hi)*w*c : (int(ys.hi)+1)*w*c]
		yl := ys.lerp
		for _, xs := range sc.xs {
			if !xs.valid {
				for k := 0; k < c; k++ {
					dst[o+k] = finish(0, delta, clip)
				}
				o += c
				continue
			}
			l, r, xl := int(xs.lo)*c, int(xs.hi)*c, xs.lerp
			for k := 0; k < c; k++ {
				tl, tr := lut[top[l+k]], lut[top[r+k]]
				bl, br := lut[bot[l+k]], lut[bot[r+k]]
				t := tl + float32(float32(tr-tl)*xl)
				b := bl + float32(float32(br-bl)*xl)
				dst[o+k] = finish(t+float32(float32(b-t)*yl), delta, clip)
			}
			o += c
		}
	}
}

func finish(v, delta float32, clip bool) float32 {
	if !clip {
		return v
	}
	v += delta
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// CropAndResize writes to dst (oh·ow·c values) the bilinear crop of box from one h×w×c uint8
// image whose values are first multiplied by scale (1 for raw values, Rescale for [0, 1]),
// exactly as tf.image.crop_and_resize(method="bilinear", extrapolation_value=0) computes it on
// that float32 image.
func CropAndResize(dst []float32, src []uint8, h, w, c int, box Box, oh, ow int, scale float32) error {
	switch {
	case h <= 0 || w <= 0 || c <= 0 || oh <= 0 || ow <= 0:
		return fmt.Errorf("augment: crop and resize: source %d×%d×%d to %d×%d: want positive sizes", h, w, c, oh, ow)
	case len(src) != h*w*c:
		return fmt.Errorf("augment: crop and resize: source has %d values, want %d×%d×%d = %d", len(src), h, w, c, h*w*c)
	case len(dst) != oh*ow*c:
		return fmt.Errorf("augment: crop and resize: destination has %d values, want %d×%d×%d = %d", len(dst), oh, ow, c, oh*ow*c)
	}
	var sc cropScratch
	cropResize(dst, src, h, w, c, newScaleLUT(scale), box, false, oh, ow, 0, false, &sc)
	return nil
}
