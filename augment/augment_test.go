package augment

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/setting"
)

// ksUniform returns the Kolmogorov–Smirnov statistic of xs against U(lo, hi).
func ksUniform(xs []float64, lo, hi float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := float64(len(s))
	d := 0.0
	for i, x := range s {
		f := (x - lo) / (hi - lo)
		d = math.Max(d, math.Max(float64(i+1)/n-f, f-float64(i)/n))
	}
	return d
}

// ksCritical is the asymptotic KS critical value at significance 0.001 (c(α) = 1.949).
func ksCritical(n int) float64 { return 1.949 / math.Sqrt(float64(n)) }

// TestDrawLaws checks with fixed seeds that crop areas, aspect ratios and brightness deltas follow
// their uniform laws (KS test at α = 0.001), that the flip rate is 0.5 within 4 standard
// deviations, that boxes lie inside the image with the drawn area and aspect (before clipping),
// and that outputs stay in [0, 1].
func TestDrawLaws(t *testing.T) {
	const n = 20000
	for _, cfg := range []Config{ContrastiveConfig(96, 96), ClassificationConfig(96, 96)} {
		a, err := New(cfg, 1234)
		if err != nil {
			t.Fatal(err)
		}
		var areas, aspects, deltas, y1s []float64
		flips := 0
		for i := 0; i < n; i++ {
			d := a.Draw(uint64(i%3), uint64(i/3), i)
			areas = append(areas, float64(d.Area))
			aspects = append(aspects, float64(d.Aspect))
			deltas = append(deltas, float64(d.Delta))
			if d.Flip {
				flips++
			}
			b := d.Box
			if b.Y1 < 0 || b.X1 < 0 || b.Y2 > 1+1e-6 || b.X2 > 1+1e-6 || b.Y2 <= b.Y1 || b.X2 <= b.X1 {
				t.Fatalf("draw %d: box %+v outside the image", i, b)
			}
			h, w := float64(b.Y2-b.Y1), float64(b.X2-b.X1)
			wantH := math.Min(1, math.Sqrt(float64(d.Area/d.Aspect)))
			wantW := math.Min(1, math.Sqrt(float64(d.Area*d.Aspect)))
			if math.Abs(h-wantH) > 1e-6 || math.Abs(w-wantW) > 1e-6 {
				t.Fatalf("draw %d: box %gx%g, want %gx%g from area %g aspect %g", i, h, w, wantH, wantW, d.Area, d.Aspect)
			}
			if h < 1 {
				y1s = append(y1s, float64(b.Y1)/(1-h)) // offset / (1 − h) ~ U(0, 1)
			}
		}
		for _, tc := range []struct {
			name   string
			xs     []float64
			lo, hi float64
		}{
			{"area", areas, cfg.ScaleLo, cfg.ScaleHi},
			{"aspect", aspects, cfg.AspectLo, cfg.AspectHi},
			{"brightness", deltas, -cfg.Brightness, cfg.Brightness},
			{"y offset", y1s, 0, 1},
		} {
			if d, c := ksUniform(tc.xs, tc.lo, tc.hi), ksCritical(len(tc.xs)); d > c {
				t.Errorf("%s: KS statistic %.4f > critical %.4f against U(%g, %g)", tc.name, d, c, tc.lo, tc.hi)
			}
		}
		if sd := math.Sqrt(n * 0.25); math.Abs(float64(flips)-n/2) > 4*sd {
			t.Errorf("flipped %d of %d, want %d ± %.0f", flips, n, n/2, 4*sd)
		}
	}
	// The KS check can fail: a log-uniform aspect ratio is rejected.
	var logu []float64
	for i := 0; i < n; i++ {
		u := (float64(i) + 0.5) / n
		logu = append(logu, math.Exp(math.Log(0.75)+u*(math.Log(4.0/3)-math.Log(0.75))))
	}
	if d, c := ksUniform(logu, 0.75, 4.0/3), ksCritical(n); d <= c {
		t.Errorf("KS test does not reject a log-uniform law (D = %.4f, critical %.4f)", d, c)
	}
}

func TestOutputsInUnitRange(t *testing.T) {
	im := randomImages(3, 64, 40, 40, 3)
	for i := range im.Pix[:len(im.Pix)/2] {
		im.Pix[i] = 255 // bright half: brightness must clip at 1
	}
	a, err := New(ContrastiveConfig(32, 32), 9)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, a.OutputLen(im.N, im.C))
	if err := a.Apply(out, im, 0, 0); err != nil {
		t.Fatal(err)
	}
	ones, zeros := 0, 0
	for i, v := range out {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("value %d = %g outside [0, 1]", i, v)
		}
		if v == 1 {
			ones++
		}
		if v == 0 {
			zeros++
		}
	}
	if ones == 0 || zeros == 0 {
		t.Fatalf("no clipping observed (ones %d, zeros %d)", ones, zeros)
	}
}

// TestDeterministicAcrossWorkers: the same seed gives the same output whatever the worker count;
// other seeds, steps, streams give other outputs.
func TestDeterministicAcrossWorkers(t *testing.T) {
	im := randomImages(5, 37, 48, 48, 3)
	apply := func(workers int, seed, stream, step uint64) []float32 {
		cfg := ContrastiveConfig(48, 48)
		cfg.Workers = workers
		a, err := New(cfg, seed)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, a.OutputLen(im.N, im.C))
		if err := a.Apply(out, im, stream, step); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ref := apply(1, 7, 0, 3)
	for _, w := range []int{2, 3, 8, 64} {
		if !slices.Equal(apply(w, 7, 0, 3), ref) {
			t.Errorf("%d workers differ from 1 worker", w)
		}
	}
	for _, other := range [][3]uint64{{8, 0, 3}, {7, 1, 3}, {7, 0, 4}} {
		if slices.Equal(apply(2, other[0], other[1], other[2]), ref) {
			t.Errorf("seed/stream/step %v gives the same output as {7 0 3}", other)
		}
	}
}

func TestEvalPathIsRescaleOnly(t *testing.T) {
	im := randomImages(8, 3, 10, 12, 3)
	a, err := New(EvalConfig(10, 12), 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, a.OutputLen(im.N, im.C))
	if err := a.Apply(out, im, 0, 0); err != nil {
		t.Fatal(err)
	}
	for i, v := range im.Pix {
		if out[i] != float32(v)*Rescale {
			t.Fatalf("value %d: %g, want %g", i, out[i], float32(v)*Rescale)
		}
	}
}

func TestBadInput(t *testing.T) {
	good := ContrastiveConfig(96, 96)
	mod := func(f func(*Config)) Config { c := good; f(&c); return c }
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"zero height", mod(func(c *Config) { c.Height = 0 }), "height 0:"},
		{"negative width", mod(func(c *Config) { c.Width = -3 }), "width -3:"},
		{"negative workers", mod(func(c *Config) { c.Workers = -1 }), "workers -1:"},
		{"flip prob", mod(func(c *Config) { c.FlipProb = 1.5 }), "flip_prob 1.5:"},
		{"brightness", mod(func(c *Config) { c.Brightness = -0.1 }), "brightness -0.1:"},
		{"scale zero", mod(func(c *Config) { c.ScaleLo = 0 }), "scale_lo 0:"},
		{"scale above one", mod(func(c *Config) { c.ScaleHi = 1.2 }), "scale_hi 1.2:"},
		{"scale empty", mod(func(c *Config) { c.ScaleLo, c.ScaleHi = 0.8, 0.5 }), "scale_lo 0.8: above scale_hi 0.5"},
		{"scale NaN", mod(func(c *Config) { c.ScaleLo = math.NaN() }), "scale_lo NaN:"},
		{"aspect zero", mod(func(c *Config) { c.AspectLo = 0 }), "aspect_lo 0:"},
		{"aspect empty", mod(func(c *Config) { c.AspectLo, c.AspectHi = 2, 1 }), "aspect_lo 2: above aspect_hi 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			// The error names the setting for callers (and the CLI's flag names).
			var se *setting.Error
			if !errors.As(err, &se) || !strings.HasPrefix(tc.want, se.Name+" ") {
				t.Errorf("err %v: not a *setting.Error naming %q", err, strings.Fields(tc.want)[0])
			}
		})
	}

	a, err := New(good, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		im   Images
		dst  int
		want string
	}{
		{"two channels", Images{Pix: make([]uint8, 2*4*4*2), N: 2, H: 4, W: 4, C: 2}, -1, "2 channels: want 1 or 3"},
		{"zero-sized image", Images{Pix: nil, N: 2, H: 0, W: 4, C: 3}, -1, "size 0×4"},
		{"empty batch", Images{N: 0, H: 4, W: 4, C: 3}, -1, "batch size N = 0"},
		{"pixels mismatch", Images{Pix: make([]uint8, 10), N: 2, H: 4, W: 4, C: 3}, -1, "10 bytes for shape [2 4 4 3]: want 96"},
		{"output mismatch", Images{Pix: make([]uint8, 96), N: 2, H: 4, W: 4, C: 3}, 5, "output has 5 values"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.dst
			if n < 0 {
				n = a.OutputLen(tc.im.N, tc.im.C)
			}
			err := a.Apply(make([]float32, n), tc.im, 0, 0)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if err := CropAndResize(make([]float32, 3), make([]uint8, 5), 2, 2, 1, FullBox, 1, 1, 1); err == nil || !strings.Contains(err.Error(), "source has 5 values") {
		t.Fatalf("CropAndResize short source: %v", err)
	}
}

func TestApplyFromSplitsABatch(t *testing.T) {
	im := randomImages(12, 10, 20, 20, 3)
	a, err := New(ContrastiveConfig(16, 16), 3)
	if err != nil {
		t.Fatal(err)
	}
	whole := make([]float32, a.OutputLen(10, 3))
	if err := a.Apply(whole, im, 1, 2); err != nil {
		t.Fatal(err)
	}
	parts := make([]float32, len(whole))
	per := 20 * 20 * 3
	first := Images{Pix: im.Pix[:6*per], N: 6, H: 20, W: 20, C: 3}
	second := Images{Pix: im.Pix[6*per:], N: 4, H: 20, W: 20, C: 3}
	if err := a.ApplyFrom(parts[:a.OutputLen(6, 3)], first, 1, 2, 0); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyFrom(parts[a.OutputLen(6, 3):], second, 1, 2, 6); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(whole, parts) {
		t.Fatal("two ApplyFrom parts differ from one Apply")
	}
}
