package augment

import "math"

// blurRadius is the radius of SimCLR's blur kernel for images of the given height: the kernel
// size is height/10 and the radius half of it (integer divisions), so the kernel has 2·r+1 taps.
func blurRadius(height int) int { return height / 10 / 2 }

// blurKernel fills k (2·r+1 values) with the weights exp(−x²/(2σ²)), x = −r … r, normalised to
// sum 1. They are computed in float64 and rounded to float32 (stored as float64 for the
// convolution); SimCLR computes them in float32, which can differ in the last bit.
func blurKernel(k []float64, sigma float32) {
	r := (len(k) - 1) / 2
	s2 := 2 * float64(sigma) * float64(sigma)
	sum := 0.0
	for t := range k {
		x := float64(t - r)
		k[t] = math.Exp(-x * x / s2)
		sum += k[t]
	}
	for t := range k {
		k[t] = float64(float32(k[t] / sum))
	}
}

// gaussianBlur blurs the h×w×c image img in place with SimCLR's separable Gaussian of radius r
// (r = 0: unchanged), horizontally then vertically, with zero padding (padding SAME), then clips
// to [0, 1]. Each output is the sum over the taps in order, every step a fused multiply-add
// rounded to float32: the arithmetic of tf.nn.depthwise_conv2d on x86 CPUs, where TensorFlow runs
// it with oneDNN (with TF_ENABLE_ONEDNN_OPTS=0 TensorFlow rounds each product, a last-bit
// difference). Taps outside the image are skipped, which is adding 0. The loops run over a whole
// row per tap, so that consecutive steps are independent; each output still sees its taps in
// order. Intermediate values are float32 values held in float64, converted once per pass.
func gaussianBlur(img []float32, h, w, c int, sigma float32, r int, sc *extraScratch) {
	if r <= 0 {
		return
	}
	n := 2*r + 1
	if cap(sc.kernel) < n {
		sc.kernel = make([]float64, n)
	}
	k := sc.kernel[:n]
	blurKernel(k, sigma)
	row := w * c
	sc.blur = grow64(sc.blur, len(img)+row)
	tmp, line := sc.blur[:len(img)], sc.blur[len(img):]
	clear(tmp)
	// Horizontal pass into tmp: output x takes tap t from column x+t−r when that is inside.
	for y := 0; y < h; y++ {
		for i, v := range img[y*row : (y+1)*row] {
			line[i] = float64(v)
		}
		out := tmp[y*row : (y+1)*row]
		for t := 0; t < n; t++ {
			x0, x1 := max(0, r-t), min(w, w+r-t) // outputs whose column x+t−r is inside
			if x0 >= x1 {
				continue
			}
			off := (t - r) * c
			fmaRow(out[x0*c:x1*c], line[x0*c+off:x1*c+off], k[t])
		}
	}
	// Vertical pass back into img: output row y takes tap t from row y+t−r when that is inside.
	for y := 0; y < h; y++ {
		clear(line)
		for t := max(0, r-y); t < min(n, h+r-y); t++ {
			src := y + t - r
			fmaRow(line, tmp[src*row:(src+1)*row], k[t])
		}
		out := img[y*row : (y+1)*row]
		for i, v := range line {
			out[i] = clip01(float32(v))
		}
	}
}

// fmaRow sets acc[j] to src[j]·wt + acc[j] rounded once to float32 (all three hold float32
// values): a fused multiply-add, because the product of two float32 values is exact in float64.
func fmaRow(acc, src []float64, wt float64) {
	src = src[:len(acc)]
	for j, a := range acc {
		acc[j] = float64(float32(src[j]*wt + a))
	}
}

func grow64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}
