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
// difference). A float32 product is exact in float64, so float64 multiply-add rounded to float32
// is that fused operation.
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
	sc.blur = grow32(sc.blur, len(img))
	tmp := sc.blur
	row := w * c
	// Horizontal pass into tmp: taps t with 0 <= x+t−r < w.
	for y := 0; y < h; y++ {
		in, out := img[y*row:(y+1)*row], tmp[y*row:(y+1)*row]
		for x := 0; x < w; x++ {
			t0, t1 := max(0, r-x), min(n-1, w-1-x+r)
			for ch := 0; ch < c; ch++ {
				base := (x-r)*c + ch
				acc := 0.0
				for t := t0; t <= t1; t++ {
					acc = float64(float32(float64(in[base+t*c])*k[t] + acc))
				}
				out[x*c+ch] = float32(acc)
			}
		}
	}
	// Vertical pass back into img: taps t with 0 <= y+t−r < h.
	for y := 0; y < h; y++ {
		t0, t1 := max(0, r-y), min(n-1, h-1-y+r)
		out := img[y*row : (y+1)*row]
		for i := range out {
			acc := 0.0
			for t := t0; t <= t1; t++ {
				acc = float64(float32(float64(tmp[(y-r+t)*row+i])*k[t] + acc))
			}
			out[i] = clip01(float32(acc))
		}
	}
}
