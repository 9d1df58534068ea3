package augment

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// chiSquare returns Pearson's statistic of counts against equal expected counts.
func chiSquare(counts []int) float64 {
	n := 0
	for _, c := range counts {
		n += c
	}
	e := float64(n) / float64(len(counts))
	x := 0.0
	for _, c := range counts {
		x += (float64(c) - e) * (float64(c) - e) / e
	}
	return x
}

// chiCritical23 is the χ² critical value with 23 degrees of freedom (24 orders) at α = 0.001.
const chiCritical23 = 49.728

// TestJitterOrder: the 24 indices give the 24 permutations, each once, index 0 the natural order.
func TestJitterOrder(t *testing.T) {
	seen := map[[4]ColorOp]int{}
	for k := 0; k < 24; k++ {
		o := JitterOrder(k)
		s := slices.Clone(o[:])
		slices.Sort(s)
		if !slices.Equal(s, []ColorOp{OpBrightness, OpContrast, OpSaturation, OpHue}) {
			t.Fatalf("JitterOrder(%d) = %v: not a permutation", k, o)
		}
		if j, ok := seen[o]; ok {
			t.Fatalf("JitterOrder(%d) = JitterOrder(%d) = %v", k, j, o)
		}
		seen[o] = k
	}
	if o := JitterOrder(0); o != [4]ColorOp{OpBrightness, OpContrast, OpSaturation, OpHue} {
		t.Fatalf("JitterOrder(0) = %v", o)
	}
	if JitterOrder(-1) != JitterOrder(23) || JitterOrder(24) != JitterOrder(0) {
		t.Fatal("indices outside [0, 24) are not taken modulo 24")
	}
}

// TestPaperDrawLaws checks with fixed seeds that the optional augmentations' probabilities hold
// within 4 standard deviations, that the brightness and hue deltas, the contrast and saturation
// factors (including a strength above 1, whose range starts at 0) and the blur σ follow their
// uniform laws (KS at α = 0.001), and that the 24 jitter orders are uniform (χ² at α = 0.001).
func TestPaperDrawLaws(t *testing.T) {
	const n = 24000
	cfg := ContrastiveConfig(96, 96)
	cfg.JitterProb, cfg.GrayscaleProb, cfg.BlurProb, cfg.SolarizeProb = 0.8, 0.2, 0.5, 0.2
	cfg.JitterBrightness, cfg.JitterContrast, cfg.JitterSaturation, cfg.JitterHue = 0.4, 0.4, 1.5, 0.1
	cfg.BlurSigmaLo, cfg.BlurSigmaHi = 0.1, 2.0
	a, err := New(cfg, 77)
	if err != nil {
		t.Fatal(err)
	}
	var bright, contrast, sat, hue, sigma []float64
	var jit, gray, blur, sol int
	orders := make([]int, 24)
	index := map[[4]ColorOp]int{}
	for k := 0; k < 24; k++ {
		index[JitterOrder(k)] = k
	}
	for i := 0; i < n; i++ {
		d := a.Draw(uint64(i%3), uint64(i/3), i)
		bright = append(bright, float64(d.JitterBrightness))
		contrast = append(contrast, float64(d.JitterContrast))
		sat = append(sat, float64(d.JitterSaturation))
		hue = append(hue, float64(d.JitterHue))
		sigma = append(sigma, float64(d.BlurSigma))
		orders[index[d.JitterOrder]]++
		for _, f := range []struct {
			b bool
			c *int
		}{{d.Jitter, &jit}, {d.Grayscale, &gray}, {d.Blur, &blur}, {d.Solarize, &sol}} {
			if f.b {
				*f.c++
			}
		}
	}
	for _, tc := range []struct {
		name   string
		xs     []float64
		lo, hi float64
	}{
		{"jitter brightness", bright, -0.4, 0.4},
		{"jitter contrast", contrast, 0.6, 1.4},
		{"jitter saturation", sat, 0, 2.5},
		{"jitter hue", hue, -0.1, 0.1},
		{"blur sigma", sigma, 0.1, 2.0},
	} {
		if d, c := ksUniform(tc.xs, tc.lo, tc.hi), ksCritical(len(tc.xs)); d > c {
			t.Errorf("%s: KS statistic %.4f > critical %.4f against U(%g, %g)", tc.name, d, c, tc.lo, tc.hi)
		}
		lo, hi := slices.Min(tc.xs), slices.Max(tc.xs)
		if lo < tc.lo || hi > tc.hi {
			t.Errorf("%s: values in [%g, %g], outside U(%g, %g)", tc.name, lo, hi, tc.lo, tc.hi)
		}
	}
	for _, tc := range []struct {
		name string
		got  int
		p    float64
	}{{"jitter", jit, cfg.JitterProb}, {"grayscale", gray, cfg.GrayscaleProb}, {"blur", blur, cfg.BlurProb}, {"solarize", sol, cfg.SolarizeProb}} {
		if sd := math.Sqrt(n * tc.p * (1 - tc.p)); math.Abs(float64(tc.got)-n*tc.p) > 4*sd {
			t.Errorf("%s drawn %d of %d times, want %.0f ± %.0f", tc.name, tc.got, n, n*tc.p, 4*sd)
		}
	}
	if x := chiSquare(orders); x > chiCritical23 {
		t.Errorf("jitter orders %v: χ² = %.1f > critical %.1f", orders, x, chiCritical23)
	}
	// The χ² check can fail: drawing the index as ⌊23u⌋ never gives the last order.
	biased := make([]int, 24)
	for i := 0; i < n; i++ {
		biased[int(23*(float64(i)+0.5)/n)]++
	}
	if x := chiSquare(biased); x <= chiCritical23 {
		t.Errorf("χ² test does not reject 23 orders of 24 (χ² = %.1f)", x)
	}
}

// TestPaperOptionsKeepExistingDraws: turning the options on leaves every earlier draw as it was,
// the new fields stay zero with the options off, and probabilities of 0 change no output.
func TestPaperOptionsKeepExistingDraws(t *testing.T) {
	off, err := New(ContrastiveConfig(64, 64), 3)
	if err != nil {
		t.Fatal(err)
	}
	on, err := New(paperConfig(64, 64, 0.5), 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		stream, step := uint64(i%3), uint64(i/7)
		d0, d1 := off.Draw(stream, step, i), on.Draw(stream, step, i)
		if d0.Flip != d1.Flip || d0.Area != d1.Area || d0.Aspect != d1.Aspect || d0.Box != d1.Box || d0.Delta != d1.Delta {
			t.Fatalf("draw %d: options change the Keras draws: %+v vs %+v", i, d0, d1)
		}
		if (d0 != Draw{Flip: d0.Flip, Area: d0.Area, Aspect: d0.Aspect, Box: d0.Box, Delta: d0.Delta}) {
			t.Fatalf("draw %d: options off but new fields set: %+v", i, d0)
		}
	}
	// Strengths set but every probability 0: the same output as the preset.
	zero := paperConfig(64, 64, 0)
	z, err := New(zero, 3)
	if err != nil {
		t.Fatal(err)
	}
	im := randomImages(4, 6, 70, 70, 3)
	want := make([]float32, off.OutputLen(im.N, im.C))
	got := make([]float32, len(want))
	if err := off.Apply(want, im, 1, 2); err != nil {
		t.Fatal(err)
	}
	if err := z.Apply(got, im, 1, 2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatal("probabilities 0 change the output")
	}
	// With p = 1 they do change it.
	if err := on.Apply(got, im, 1, 2); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(got, want) {
		t.Fatal("options at p = 0.5 leave all 6 images unchanged")
	}
}

// TestPaperDeterministicAcrossWorkers: with every option on, the output does not depend on the
// worker count, and two ApplyFrom halves equal one Apply.
func TestPaperDeterministicAcrossWorkers(t *testing.T) {
	im := randomImages(6, 19, 50, 50, 3)
	apply := func(workers int) []float32 {
		cfg := paperConfig(48, 48, 0.7)
		cfg.Workers = workers
		a, err := New(cfg, 8)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, a.OutputLen(im.N, im.C))
		if err := a.Apply(out, im, 2, 9); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ref := apply(1)
	for _, w := range []int{2, 3, 7, 32} {
		if !slices.Equal(apply(w), ref) {
			t.Errorf("%d workers differ from 1 worker", w)
		}
	}
	a, err := New(paperConfig(48, 48, 0.7), 8)
	if err != nil {
		t.Fatal(err)
	}
	per := 50 * 50 * 3
	parts := make([]float32, len(ref))
	cut := a.OutputLen(11, 3)
	if err := a.ApplyFrom(parts[:cut], Images{Pix: im.Pix[:11*per], N: 11, H: 50, W: 50, C: 3}, 2, 9, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyFrom(parts[cut:], Images{Pix: im.Pix[11*per:], N: 8, H: 50, W: 50, C: 3}, 2, 9, 11); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parts, ref) {
		t.Fatal("two ApplyFrom parts differ from one Apply")
	}
}

// TestPaperOutputsInUnitRange: with every option on at p = 1 and extreme strengths (contrast and
// saturation factors up to 4, brightness ±1, hue ±0.5), outputs stay in [0, 1].
func TestPaperOutputsInUnitRange(t *testing.T) {
	im := randomImages(3, 40, 40, 40, 3)
	for i := range im.Pix[:len(im.Pix)/2] {
		im.Pix[i] = 255
	}
	cfg := paperConfig(40, 40, 1)
	cfg.JitterBrightness, cfg.JitterContrast, cfg.JitterSaturation, cfg.JitterHue = 1, 3, 3, 0.5
	a, err := New(cfg, 9)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, a.OutputLen(im.N, im.C))
	if err := a.Apply(out, im, 0, 0); err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("value %d = %g outside [0, 1]", i, v)
		}
	}
	// Blur of images of exact ones: the rounding of the weights and sums pushes values to
	// 1.0000001 at this size for some σ (1.1 among these); the clip must bring them back.
	ones := make([]float32, 96*96*3)
	var sc extraScratch
	for k := 1; k <= 20; k++ {
		sigma := float32(float64(k) / 10)
		for i := range ones {
			ones[i] = 1
		}
		gaussianBlur(ones, 96, 96, 3, sigma, blurRadius(96), &sc)
		for i, v := range ones {
			if v < 0 || v > 1 {
				t.Fatalf("σ %g: blurred 1 at %d = %.9g outside [0, 1]", sigma, i, v)
			}
		}
	}
}

// TestPaperBadInput: every Validate error of the new fields, and the refusal of 1-channel images
// when an option needs three.
func TestPaperBadInput(t *testing.T) {
	good := paperConfig(96, 96, 0.5)
	mod := func(f func(*Config)) Config { c := good; f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"jitter prob", mod(func(c *Config) { c.JitterProb = 1.1 }), "jitter_prob 1.1:"},
		{"jitter prob NaN", mod(func(c *Config) { c.JitterProb = math.NaN() }), "jitter_prob NaN:"},
		{"jitter brightness negative", mod(func(c *Config) { c.JitterBrightness = -0.2 }), "jitter_brightness -0.2:"},
		{"jitter brightness above 1", mod(func(c *Config) { c.JitterBrightness = 1.5 }), "jitter_brightness 1.5:"},
		{"jitter contrast negative", mod(func(c *Config) { c.JitterContrast = -1 }), "jitter_contrast -1:"},
		{"jitter contrast Inf", mod(func(c *Config) { c.JitterContrast = math.Inf(1) }), "jitter_contrast +Inf:"},
		{"jitter saturation negative", mod(func(c *Config) { c.JitterSaturation = -0.5 }), "jitter_saturation -0.5:"},
		{"jitter saturation NaN", mod(func(c *Config) { c.JitterSaturation = math.NaN() }), "jitter_saturation NaN:"},
		{"jitter hue above 0.5", mod(func(c *Config) { c.JitterHue = 0.6 }), "jitter_hue 0.6:"},
		{"jitter hue negative", mod(func(c *Config) { c.JitterHue = -0.1 }), "jitter_hue -0.1:"},
		{"grayscale prob", mod(func(c *Config) { c.GrayscaleProb = -0.01 }), "grayscale_prob -0.01:"},
		{"blur prob", mod(func(c *Config) { c.BlurProb = 2 }), "blur_prob 2:"},
		{"solarize prob", mod(func(c *Config) { c.SolarizeProb = math.NaN() }), "solarize_prob NaN:"},
		{"blur sigma zero", mod(func(c *Config) { c.BlurSigmaLo = 0 }), "blur_sigma_lo 0:"},
		{"blur sigma Inf", mod(func(c *Config) { c.BlurSigmaHi = math.Inf(1) }), "blur_sigma_hi +Inf:"},
		{"blur sigma empty", mod(func(c *Config) { c.BlurSigmaLo, c.BlurSigmaHi = 2, 0.1 }), "blur_sigma_lo 2: above blur_sigma_hi 0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// σ is not checked while the blur is off.
	noBlur := mod(func(c *Config) { c.BlurProb, c.BlurSigmaLo, c.BlurSigmaHi = 0, 0, 0 })
	if err := noBlur.Validate(); err != nil {
		t.Fatalf("blur off, σ range 0: %v", err)
	}

	gray := randomImages(2, 2, 8, 8, 1)
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"saturation", func(c *Config) { c.JitterProb, c.JitterSaturation = 0.5, 0.4 }, "jitter_saturation 0.4: needs 3-channel images: these have 1 channel"},
		{"hue", func(c *Config) { c.JitterProb, c.JitterHue = 0.5, 0.1 }, "jitter_hue 0.1: needs 3-channel images: these have 1 channel"},
		{"grayscale", func(c *Config) { c.GrayscaleProb = 0.2 }, "grayscale_prob 0.2: needs 3-channel images: these have 1 channel"},
	} {
		t.Run("1 channel, "+tc.name, func(t *testing.T) {
			cfg := ContrastiveConfig(8, 8)
			tc.set(&cfg)
			a, err := New(cfg, 0)
			if err != nil {
				t.Fatal(err)
			}
			err = a.Apply(make([]float32, a.OutputLen(gray.N, 1)), gray, 0, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// Brightness, contrast and blur work on one channel.
	cfg := ContrastiveConfig(8, 8)
	cfg.JitterProb, cfg.JitterBrightness, cfg.JitterContrast = 1, 0.4, 0.4
	cfg.BlurProb, cfg.BlurSigmaLo, cfg.BlurSigmaHi = 1, 0.1, 2
	a, err := New(cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Apply(make([]float32, a.OutputLen(gray.N, 1)), gray, 0, 0); err != nil {
		t.Fatalf("1 channel with brightness, contrast and blur: %v", err)
	}
}
