package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/nnclr/nnclr/internal/rng"
	"github.com/nnclr/nnclr/setting"
)

// Draw is what one image's random stream decided.
//
// The fields after Delta belong to the paper's optional augmentations (see Config). They are
// drawn only when one of JitterProb, GrayscaleProb, BlurProb, SolarizeProb is > 0, and otherwise
// stay zero.
// Their values are drawn and recorded whether or not the image is jittered or blurred; Apply
// uses them only when Jitter or Blur is set, and skips a jitter step whose strength in the Config
// is 0.
type Draw struct {
	Flip   bool
	Area   float32 // crop area fraction a
	Aspect float32 // aspect ratio r
	Box    Box     // crop box derived from a, r and the two offsets
	Delta  float32 // brightness δ (already times the value range width, 1)

	Jitter           bool       // apply the colour jitter
	JitterBrightness float32    // brightness δ ~ U(−b, b)
	JitterContrast   float32    // contrast factor ~ U(max(0, 1−c), 1+c)
	JitterSaturation float32    // saturation factor ~ U(max(0, 1−s), 1+s)
	JitterHue        float32    // hue δ ~ U(−h, h)
	JitterOrder      [4]ColorOp // the order of the four jitter steps
	Grayscale        bool       // convert to grayscale
	Blur             bool       // apply the Gaussian blur
	BlurSigma        float32    // blur σ ~ U(BlurSigmaLo, BlurSigmaHi)
	Solarize         bool       // solarize after the blur
}

// ColorOp names one step of the colour jitter.
type ColorOp uint8

// The colour jitter's steps; JitterOrder lists their 24 orders.
const (
	OpBrightness ColorOp = iota
	OpContrast
	OpSaturation
	OpHue
)

// String returns the step's name.
func (o ColorOp) String() string {
	switch o {
	case OpBrightness:
		return "brightness"
	case OpContrast:
		return "contrast"
	case OpSaturation:
		return "saturation"
	case OpHue:
		return "hue"
	}
	return fmt.Sprintf("ColorOp(%d)", uint8(o))
}

// JitterOrder returns order k (0 ≤ k < 24) of the four jitter steps: k written in the factorial
// number system (k = 6·d0 + 2·d1 + d2) picks element d0, then d1, then d2 of the steps not yet
// taken, in the order brightness, contrast, saturation, hue; k = 0 is that order itself. Other
// k are taken modulo 24.
func JitterOrder(k int) [4]ColorOp {
	k = (k%24 + 24) % 24
	left := []ColorOp{OpBrightness, OpContrast, OpSaturation, OpHue}
	var o [4]ColorOp
	for i, radix := range [3]int{6, 2, 1} {
		j := k / radix
		o[i] = left[j]
		left = append(left[:j], left[j+1:]...)
		k %= radix
	}
	o[3] = left[0]
	return o
}

// Augmenter applies one Config to batches. It holds no mutable state: Apply may be called from
// several goroutines at once.
type Augmenter struct {
	cfg  Config
	seed uint64
	lut  *scaleLUT
}

// New returns an augmenter for cfg whose random draws derive from seed.
func New(cfg Config, seed uint64) (*Augmenter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Augmenter{cfg: cfg, seed: seed, lut: newScaleLUT(Rescale)}, nil
}

// Config returns the augmenter's configuration.
func (a *Augmenter) Config() Config { return a.cfg }

// imageRNG returns the random stream of image index in batch step of stream stream. Streams of
// different (stream, step, index) are independent PCG sequences; nothing is shared between images.
func (a *Augmenter) imageRNG(stream, step uint64, index int) *rand.Rand {
	id := rng.Mix(rng.Mix(rng.Mix(stream)^step) ^ uint64(index))
	return rand.New(rand.NewPCG(rng.Mix(a.seed), id))
}

// Draw returns the random decisions for image index of batch step in stream (for instance 0 and
// 1 for the two contrastive views, 2 for the classification view). Apply uses exactly these.
func (a *Augmenter) Draw(stream, step uint64, index int) Draw {
	if !a.cfg.Random {
		return Draw{Area: 1, Aspect: 1, Box: FullBox}
	}
	r := a.imageRNG(stream, step, index)
	c := a.cfg
	var d Draw
	d.Flip = r.Float64() < c.FlipProb
	d.Area = float32(c.ScaleLo + (c.ScaleHi-c.ScaleLo)*r.Float64())
	d.Aspect = float32(c.AspectLo + (c.AspectHi-c.AspectLo)*r.Float64())
	// keras_cv RandomCropAndResize, in float32: h = clip(√(a/r)), w = clip(√(a·r)),
	// y1 ~ U(0, 1−h), x1 ~ U(0, 1−w).
	h := clip01(float32(math.Sqrt(float64(d.Area / d.Aspect))))
	w := clip01(float32(math.Sqrt(float64(d.Area * d.Aspect))))
	y1 := float32(r.Float64()) * (1 - h)
	x1 := float32(r.Float64()) * (1 - w)
	d.Box = Box{Y1: y1, X1: x1, Y2: y1 + h, X2: x1 + w}
	d.Delta = float32(-c.Brightness + 2*c.Brightness*r.Float64())
	if !c.extras() {
		return d
	}
	// The paper's options: ten more values, after the six above and always all ten, in this
	// order, so that no option's draws depend on which others are on.
	d.Jitter = r.Float64() < c.JitterProb
	d.JitterBrightness = float32(-c.JitterBrightness + 2*c.JitterBrightness*r.Float64())
	d.JitterContrast = uniformFactor(c.JitterContrast, r.Float64())
	d.JitterSaturation = uniformFactor(c.JitterSaturation, r.Float64())
	d.JitterHue = float32(-c.JitterHue + 2*c.JitterHue*r.Float64())
	d.JitterOrder = JitterOrder(min(int(24*r.Float64()), 23))
	d.Grayscale = r.Float64() < c.GrayscaleProb
	d.Blur = r.Float64() < c.BlurProb
	d.BlurSigma = float32(c.BlurSigmaLo + (c.BlurSigmaHi-c.BlurSigmaLo)*r.Float64())
	d.Solarize = r.Float64() < c.SolarizeProb
	return d
}

// uniformFactor maps u ~ U(0, 1) to U(max(0, 1−s), 1+s).
func uniformFactor(s, u float64) float32 {
	lo := max(0, 1-s)
	return float32(lo + (1+s-lo)*u)
}

func clip01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// OutputLen returns the number of float32 values Apply writes for n images of c channels.
func (a *Augmenter) OutputLen(n, c int) int { return n * a.cfg.Height * a.cfg.Width * c }

// Apply augments every image of src independently into dst, float32 NHWC of shape
// [src.N, Height, Width, src.C] with values in [0, 1]. Image i of batch step uses the stream
// Draw(stream, step, i), so the output depends only on the seed, stream, step and pixels — not
// on the number of workers. dst belongs to the caller; it may be the memory of a TF tensor.
// Images of other than 3 channels are refused when Config turns on saturation, hue or
// grayscale.
func (a *Augmenter) Apply(dst []float32, src Images, stream, step uint64) error {
	return a.ApplyFrom(dst, src, stream, step, 0)
}

// ApplyFrom is Apply for images that continue a batch: image i of src is image base+i of the
// step, and uses Draw(stream, step, base+i). Augmenting two parts of a batch with ApplyFrom gives
// the same result as augmenting the whole batch with Apply.
func (a *Augmenter) ApplyFrom(dst []float32, src Images, stream, step uint64, base int) error {
	if base < 0 {
		return fmt.Errorf("augment: base index %d: want >= 0", base)
	}
	if err := src.Validate(); err != nil {
		return err
	}
	if want := a.OutputLen(src.N, src.C); len(dst) != want {
		return fmt.Errorf("augment: output has %d values for %d images of %d×%d×%d: want %d",
			len(dst), src.N, a.cfg.Height, a.cfg.Width, src.C, want)
	}
	if field, v := a.cfg.NeedsRGB(); field != "" && src.C != 3 {
		return fmt.Errorf("augment: %w", setting.Errorf(field, v, "needs 3-channel images: these have %d channel(s)", src.C))
	}
	in := src.H * src.W * src.C
	out := a.cfg.Height * a.cfg.Width * src.C
	one := func(i int, sc *scratch) {
		d := a.Draw(stream, step, base+i)
		img := dst[i*out : (i+1)*out]
		cropResize(img, src.Pix[i*in:(i+1)*in], src.H, src.W, src.C, a.lut,
			d.Box, d.Flip, a.cfg.Height, a.cfg.Width, d.Delta, a.cfg.Random, &sc.crop)
		if d.Jitter || d.Grayscale || d.Blur || d.Solarize {
			a.paperOps(img, src.C, &d, &sc.extra)
		}
	}
	workers := min(a.cfg.workers(), src.N)
	if workers <= 1 {
		var sc scratch
		for i := 0; i < src.N; i++ {
			one(i, &sc)
		}
		return nil
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc scratch
			for {
				i := int(next.Add(1) - 1)
				if i >= src.N {
					return
				}
				one(i, &sc)
			}
		}()
	}
	wg.Wait()
	return nil
}
