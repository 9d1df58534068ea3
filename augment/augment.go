package augment

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// Draw is what one image's random stream decided.
type Draw struct {
	Flip   bool
	Area   float32 // crop area fraction a
	Aspect float32 // aspect ratio r
	Box    Box     // crop box derived from a, r and the two offsets
	Delta  float32 // brightness δ (already times the value range width, 1)
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

// splitmix64 is a bijective mixer used to derive stream identifiers.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// imageRNG returns the random stream of image index in batch step of stream stream. Streams of
// different (stream, step, index) are independent PCG sequences; nothing is shared between images.
func (a *Augmenter) imageRNG(stream, step uint64, index int) *rand.Rand {
	id := splitmix64(splitmix64(splitmix64(stream)^step) ^ uint64(index))
	return rand.New(rand.NewPCG(splitmix64(a.seed), id))
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
	return d
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
	in := src.H * src.W * src.C
	out := a.cfg.Height * a.cfg.Width * src.C
	one := func(i int, sc *cropScratch) {
		d := a.Draw(stream, step, base+i)
		cropResize(dst[i*out:(i+1)*out], src.Pix[i*in:(i+1)*in], src.H, src.W, src.C, a.lut,
			d.Box, d.Flip, a.cfg.Height, a.cfg.Width, d.Delta, a.cfg.Random, sc)
	}
	workers := min(a.cfg.workers(), src.N)
	if workers <= 1 {
		var sc cropScratch
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
			var sc cropScratch
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
