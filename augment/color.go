package augment

// The paper's optional colour augmentations, on one float32 image in place. The arithmetic is
// that of TensorFlow's CPU kernels (AdjustContrastv2, AdjustSaturation, AdjustHue, and the
// tensordot of rgb_to_grayscale), in float32 and in their order; explicit float32 conversions
// keep the compiler from fusing multiply-adds that TensorFlow rounds separately.

// scratch holds one worker's buffers.
type scratch struct {
	crop  cropScratch
	extra extraScratch
}

// extraScratch holds one worker's buffers for the paper's options.
type extraScratch struct {
	sum    []float32 // contrast: the halving sums
	blur   []float64 // blur: the horizontal pass and one row
	kernel []float64 // blur: the weights (float32 values)
}

func grow32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// paperOps applies the drawn optional augmentations to one Height×Width×c output image in
// place: jitter, grayscale, blur, solarization, as drawn.
func (a *Augmenter) paperOps(img []float32, c int, d *Draw, sc *extraScratch) {
	h, w := a.cfg.Height, a.cfg.Width
	if d.Jitter {
		colorJitter(img, h*w, c, d, &a.cfg, sc)
	}
	if d.Grayscale {
		grayscale(img)
	}
	if d.Blur {
		gaussianBlur(img, h, w, c, d.BlurSigma, blurRadius(h), sc)
	}
	if d.Solarize {
		solarize(img)
	}
}

// solarize is BYOL's solarization of a [0, 1] image: tf.where(x < 0.5, x, 1 − x).
func solarize(img []float32) {
	for i, v := range img {
		if !(v < 0.5) {
			img[i] = 1 - v
		}
	}
}

// colorJitter applies the four jitter steps in d.JitterOrder, each followed by a clip to [0, 1],
// skipping a step whose strength in cfg is 0. Saturation and hue need c = 3.
func colorJitter(img []float32, hw, c int, d *Draw, cfg *Config, sc *extraScratch) {
	for _, op := range d.JitterOrder {
		switch op {
		case OpBrightness:
			if cfg.JitterBrightness != 0 {
				addClip(img, d.JitterBrightness)
			}
		case OpContrast:
			if cfg.JitterContrast != 0 {
				adjustContrast(img, hw, c, d.JitterContrast, sc)
			}
		case OpSaturation:
			if cfg.JitterSaturation != 0 {
				adjustSaturation(img, d.JitterSaturation)
			}
		case OpHue:
			if cfg.JitterHue != 0 {
				adjustHue(img, d.JitterHue)
			}
		}
	}
}

// addClip is tf.image.adjust_brightness followed by a clip to [0, 1].
func addClip(img []float32, delta float32) {
	for i, v := range img {
		img[i] = clip01(v + delta)
	}
}

// adjustContrast is TensorFlow's AdjustContrastv2 on one hw×c image, followed by a clip to
// [0, 1]: mean + factor·(x − mean) with the per-channel mean of the image. The kernel sums by
// repeatedly adding the second half of the pixels onto the first (the middle pixel of an odd
// count stays), then multiplies by 1/hw; the same order is kept here.
func adjustContrast(img []float32, hw, c int, factor float32, sc *extraScratch) {
	right := hw / 2
	left := hw - right
	sc.sum = grow32(sc.sum, left*c)
	s := sc.sum
	lo, hi := img[:right*c], img[left*c:left*c+right*c]
	for j := range lo {
		s[j] = hi[j] + lo[j]
	}
	copy(s[right*c:left*c], img[right*c:left*c])
	for n := left; n > 1; {
		right = n / 2
		left = n - right
		a, b := s[:right*c], s[left*c:left*c+right*c]
		for j := range a {
			a[j] += b[j]
		}
		n = left
	}
	scale := 1 / float32(hw)
	var mean [3]float32
	for k := 0; k < c; k++ {
		mean[k] = s[k] * scale
	}
	if c == 3 {
		m0, m1, m2 := mean[0], mean[1], mean[2]
		for i := 0; i+2 < len(img); i += 3 {
			p := img[i : i+3 : i+3]
			p[0] = clip01(m0 + float32(factor*(p[0]-m0)))
			p[1] = clip01(m1 + float32(factor*(p[1]-m1)))
			p[2] = clip01(m2 + float32(factor*(p[2]-m2)))
		}
		return
	}
	for i := 0; i < len(img); i += c {
		for k := 0; k < c; k++ {
			img[i+k] = clip01(mean[k] + float32(factor*(img[i+k]-mean[k])))
		}
	}
}

// stdMax and stdMin are C++'s std::max and std::min for float (ties and signed zeros go to a).
func stdMax(a, b float32) float32 {
	if a < b {
		return b
	}
	return a
}

func stdMin(a, b float32) float32 {
	if b < a {
		return b
	}
	return a
}

// adjustSaturation is TensorFlow's AdjustSaturation CPU kernel (RGB → HSV, s ← clip(s·scale,
// 0, 1), HSV → RGB with its own float helpers) followed by a clip to [0, 1]. c must be 3.
func adjustSaturation(img []float32, scale float32) {
	for i := 0; i+2 < len(img); i += 3 {
		p := img[i : i+3 : i+3]
		h, s, v := rgbToHSV(p[0], p[1], p[2])
		s = stdMin(1, stdMax(0, s*scale))
		r, g, b := hsvToRGB(h, s, v)
		p[0], p[1], p[2] = clip01(r), clip01(g), clip01(b)
	}
}

// rgbToHSV is the saturation kernel's RGB → HSV, h in [0, 1). Its hue offsets 2/6 and 4/6 are
// double constants, so the sum is formed in float64 and rounded once.
func rgbToHSV(r, g, b float32) (h, s, v float32) {
	v = stdMax(r, stdMax(g, b))
	rng := v - stdMin(r, stdMin(g, b))
	if v > 0 {
		s = rng / v
	}
	norm := 1 / (6 * rng)
	switch {
	case r == v:
		h = norm * (g - b)
	case g == v:
		h = float32(float64(float32(norm*(b-r))) + 2.0/6.0)
	default:
		h = float32(float64(float32(norm*(r-g))) + 4.0/6.0)
	}
	if rng <= 0 {
		h = 0
	}
	if h < 0 {
		h++
	}
	return h, s, v
}

// hsvToRGB is the saturation kernel's HSV → RGB (a sector index of 6, possible when h rounds to
// 1, gives the gray m, m, m as the kernel's default case does).
func hsvToRGB(h, s, v float32) (r, g, b float32) {
	c := float32(s * v)
	m := v - c
	dh := h * 6
	sector := int(dh)
	f := dh
	for f <= 0 {
		f += 2
	}
	for f >= 2 {
		f -= 2
	}
	x := float32(c * (1 - abs32(f-1)))
	switch sector {
	case 0:
		r, g, b = c, x, 0
	case 1:
		r, g, b = x, c, 0
	case 2:
		r, g, b = 0, c, x
	case 3:
		r, g, b = 0, x, c
	case 4:
		r, g, b = x, 0, c
	case 5:
		r, g, b = c, 0, x
	}
	return r + m, g + m, b + m
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// adjustHue is TensorFlow's AdjustHue CPU kernel (hue in [0, 6) from the sorted channels, plus
// 6·delta, wrapped into [0, 6) by adding or subtracting 6, back to RGB with the same minimum and
// maximum) followed by a clip to [0, 1]. c must be 3.
func adjustHue(img []float32, delta float32) {
	for i := 0; i+2 < len(img); i += 3 {
		p := img[i : i+3 : i+3]
		h, lo, hi := rgbToHueRange(p[0], p[1], p[2])
		h += float32(delta * 6)
		for h < 0 {
			h += 6
		}
		for h >= 6 {
			h -= 6
		}
		r, g, b := hueRangeToRGB(h, lo, hi)
		p[0], p[1], p[2] = clip01(r), clip01(g), clip01(b)
	}
}

// rgbToHueRange returns the hue in [0, 6) and the smallest and largest channel, with the hue
// kernel's comparisons (ties may fall on either side of a sector boundary, as in the kernel).
func rgbToHueRange(r, g, b float32) (h, lo, hi float32) {
	var mid float32
	var sector int
	if r < g {
		switch {
		case b < r:
			hi, mid, lo, sector = g, r, b, 1
		case b > g:
			hi, mid, lo, sector = b, g, r, 3
		default:
			hi, mid, lo, sector = g, b, r, 2
		}
	} else {
		switch {
		case b < g:
			hi, mid, lo, sector = r, g, b, 0
		case b > r:
			hi, mid, lo, sector = b, r, g, 4
		default:
			hi, mid, lo, sector = r, b, g, 5
		}
	}
	if hi == lo {
		return 0, lo, hi
	}
	ratio := (mid - lo) / (hi - lo)
	if sector&1 != 0 {
		ratio = 1 - ratio
	}
	return float32(sector) + ratio, lo, hi
}

// hueRangeToRGB inverts rgbToHueRange.
func hueRangeToRGB(h, lo, hi float32) (r, g, b float32) {
	sector := int(h)
	ratio := h - float32(sector)
	if sector&1 != 0 {
		ratio = 1 - ratio
	}
	mid := lo + float32(ratio*(hi-lo))
	switch sector {
	case 0:
		return hi, mid, lo
	case 1:
		return mid, hi, lo
	case 2:
		return lo, hi, mid
	case 3:
		return lo, mid, hi
	case 4:
		return mid, lo, hi
	}
	return hi, lo, mid
}

// The float32 weights of tf.image.rgb_to_grayscale.
const (
	lumaR float32 = 0.2989
	lumaG float32 = 0.5870
	lumaB float32 = 0.1140
)

// grayscale replaces each RGB pixel by (R·0.2989 + G·0.5870) + B·0.1140 in all three channels,
// the sum order of the tensordot in tf.image.rgb_to_grayscale. c must be 3. No clip is needed:
// the weights sum to less than 1.
func grayscale(img []float32) {
	for i := 0; i+2 < len(img); i += 3 {
		p := img[i : i+3 : i+3]
		y := float32(float32(p[0]*lumaR)+float32(p[1]*lumaG)) + float32(p[2]*lumaB)
		p[0], p[1], p[2] = y, y, y
	}
}
