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

// cropScratch holds one worker's sampling tables and, for the image being cropped, its source
// rows interpolated along x (computed once however many output rows read them).
type cropScratch struct {
	ys, xs []axisSample
	rows   []float32 // source row r's ow·c interpolated values at [r·ow·c, (r+1)·ow·c)
	have   []uint32  // rows[r] holds this image's row r when have[r] == gen
	gen    uint32
}

// size prepares the scratch for an h-row source cropped to oh×ow×c.
func (sc *cropScratch) size(h, oh, ow, c int) {
	if cap(sc.ys) < oh {
		sc.ys = make([]axisSample, oh)
	}
	if cap(sc.xs) < ow {
		sc.xs = make([]axisSample, ow)
	}
	sc.ys, sc.xs = sc.ys[:oh], sc.xs[:ow]
	if n := h * ow * c; cap(sc.rows) < n {
		sc.rows = make([]float32, n)
	}
	if cap(sc.have) < h {
		sc.have = make([]uint32, h)
	}
	sc.rows, sc.have = sc.rows[:h*ow*c], sc.have[:h]
	if sc.gen++; sc.gen == 0 { // wrapped: forget every row
		clear(sc.have)
		sc.gen = 1
	}
}

// row returns source row r of src (w×c values a row) interpolated at the output columns sc.xs:
// tf.image.crop_and_resize's top (or bottom) value tl + (tr − tl)·xl for each column and
// channel, 0 for a column outside the image.
func (sc *cropScratch) row(r int, src []uint8, w, c int, lut *scaleLUT) []float32 {
	n := len(sc.xs) * c
	out := sc.rows[r*n : (r+1)*n]
	if sc.have[r] == sc.gen {
		return out
	}
	sc.have[r] = sc.gen
	line := src[r*w*c : (r+1)*w*c]
	if c == 3 {
		sc.row3(out, line, lut)
		return out
	}
	o := 0
	for _, xs := range sc.xs {
		if !xs.valid {
			clear(out[o : o+c])
			o += c
			continue
		}
		l, rr, xl := int(xs.lo)*c, int(xs.hi)*c, xs.lerp
		left, right := line[l:l+c], line[rr:rr+c]
		for k := range c {
			a := lut[left[k]]
			out[o+k] = a + float32(float32(lut[right[k]]-a)*xl)
		}
		o += c
	}
	return out
}

// row3 is row's loop for three channels, unrolled.
func (sc *cropScratch) row3(out []float32, line []uint8, lut *scaleLUT) {
	for i, xs := range sc.xs {
		d := out[3*i : 3*i+3 : 3*i+3]
		if !xs.valid {
			d[0], d[1], d[2] = 0, 0, 0
			continue
		}
		l, r, xl := int(xs.lo)*3, int(xs.hi)*3, xs.lerp
		left, right := line[l:l+3:l+3], line[r:r+3:r+3]
		a0, a1, a2 := lut[left[0]], lut[left[1]], lut[left[2]]
		d[0] = a0 + float32(float32(lut[right[0]]-a0)*xl)
		d[1] = a1 + float32(float32(lut[right[1]]-a1)*xl)
		d[2] = a2 + float32(float32(lut[right[2]]-a2)*xl)
	}
}

// cropResize writes the oh×ow×c bilinear crop of box from the h×w×c uint8 image src (values
// mapped through lut, mirrored horizontally first when flip) to dst, then adds delta and clips to
// [0, 1] when clip is set. Each output value is TensorFlow's top + (bottom − top)·yl of the two
// rows' values along x (cropScratch.row); outside the image it is 0.
func cropResize(dst []float32, src []uint8, h, w, c int, lut *scaleLUT, box Box, flip bool, oh, ow int, delta float32, clip bool, sc *cropScratch) {
	sc.size(h, oh, ow, c)
	sampleAxis(sc.ys, box.Y1, box.Y2, h, false)
	sampleAxis(sc.xs, box.X1, box.X2, w, flip)
	n := ow * c
	for i, ys := range sc.ys {
		d := dst[i*n : (i+1)*n]
		if !ys.valid {
			for k := range d {
				d[k] = finish(0, delta, clip)
			}
			continue
		}
		top, bot, yl := sc.row(int(ys.lo), src, w, c, lut), sc.row(int(ys.hi), src, w, c, lut), ys.lerp
		bot = bot[:len(top)]
		d = d[:len(top)]
		if !clip {
			for k, t := range top {
				d[k] = t + float32(float32(bot[k]-t)*yl)
			}
			continue
		}
		for k, t := range top {
			d[k] = clamp01(float32(t+float32(float32(bot[k]-t)*yl)) + delta)
		}
	}
}

// clamp01 clips v to [0, 1] as min(max(v, 0), 1) does for the values it gets here: finite, and
// never −0 (they come from a non-negative LUT plus a finite delta). It compares the bits as
// integers, which the compiler turns into conditional moves: for a float that is not NaN, the
// int32 order of the bits is the order of the values from +0 up, and every negative one is
// below 0.
func clamp01(v float32) float32 {
	b := int32(math.Float32bits(v))
	return math.Float32frombits(uint32(min(max(b, 0), 0x3F800000)))
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
