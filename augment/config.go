package augment

import (
	"fmt"
	"math"
	"runtime"

	"github.com/nnclr/nnclr/setting"
)

// Config describes one augmenter: the target size and the ranges its random draws come from.
// The zero value is not valid; start from ContrastiveConfig, ClassificationConfig or EvalConfig.
type Config struct {
	// Height and Width are the output size (the model input).
	Height, Width int
	// Random is false for the evaluation path: only the ÷255 scaling (and a resize to the output
	// size when the input differs, on the crop_and_resize grid of the full-image box).
	Random bool
	// FlipProb is the probability of a horizontal flip.
	FlipProb float64
	// Brightness is the factor f: δ ~ U(−f, f), added to all channels, then clipped to [0, 1].
	Brightness float64
	// ScaleLo and ScaleHi bound the crop area a ~ U(ScaleLo, ScaleHi), as a fraction of the image.
	ScaleLo, ScaleHi float64
	// AspectLo and AspectHi bound the aspect ratio r ~ U(AspectLo, AspectHi) (uniform, not
	// log-uniform, as keras_cv draws it).
	AspectLo, AspectHi float64
	// Workers is the number of goroutines that augment a batch; 0 means one per core. Results do
	// not depend on it.
	Workers int

	// The options below are augmentations of the NNCLR paper (SimCLR's colour distortion and
	// blur) that the Keras example leaves out. Each is off at its zero value, so the presets
	// above and their outputs are unchanged. Like the fields above they only act when Random is
	// set; they run after the brightness step, in the order jitter → grayscale → blur.

	// JitterProb is the probability of SimCLR's colour jitter: brightness, contrast, saturation
	// and hue adjustments in a random order drawn per image (each of the 24 orders equally
	// likely), each followed by a clip to [0, 1]. An adjustment whose strength is 0 is skipped.
	JitterProb float64
	// JitterBrightness is b: δ ~ U(−b, b) added to all channels (tf.image.adjust_brightness).
	// In [0, 1].
	JitterBrightness float64
	// JitterContrast is c: factor ~ U(max(0, 1−c), 1+c), x ← mean + factor·(x − mean) with the
	// per-channel mean over the image (tf.image.adjust_contrast). Finite, >= 0.
	JitterContrast float64
	// JitterSaturation is s: factor ~ U(max(0, 1−s), 1+s) multiplying the HSV saturation, which
	// is then clipped to [0, 1] (tf.image.adjust_saturation). Finite, >= 0. Needs 3 channels.
	JitterSaturation float64
	// JitterHue is h: δ ~ U(−h, h) added to the hue, taken modulo 1 (tf.image.adjust_hue).
	// In [0, 0.5]. Needs 3 channels.
	JitterHue float64
	// GrayscaleProb is the probability of replacing the three channels by their luma
	// 0.2989·R + 0.5870·G + 0.1140·B (tf.image.rgb_to_grayscale). Needs 3 channels.
	GrayscaleProb float64
	// BlurProb is the probability of SimCLR's Gaussian blur: σ ~ U(BlurSigmaLo, BlurSigmaHi),
	// kernel of 2·r+1 taps with r = (Height/10)/2 (integer divisions; r = 0 is the identity),
	// weights exp(−x²/(2σ²)) normalised to sum 1, applied horizontally then vertically per
	// channel with zero padding outside the image, then clipped to [0, 1] (which only removes
	// rounding overshoot).
	BlurProb float64
	// BlurSigmaLo and BlurSigmaHi bound the blur's σ; the paper (and SimCLR) use 0.1 and 2.0.
	// Checked only when BlurProb > 0: 0 < BlurSigmaLo <= BlurSigmaHi.
	BlurSigmaLo, BlurSigmaHi float64
	// SolarizeProb is the probability of BYOL's solarization, after the blur: a value x becomes
	// 1 − x where x >= 0.5 (tf.where(x < 0.5, x, 1 − x)). The paper uses 0 for one view and 0.2
	// for the other.
	SolarizeProb float64
}

// extras reports whether any of the paper's optional augmentations can happen.
func (c Config) extras() bool {
	return c.Random && (c.JitterProb > 0 || c.GrayscaleProb > 0 || c.BlurProb > 0 || c.SolarizeProb > 0)
}

// NeedsRGB names (in Validate's snake_case) the first enabled option that only works on
// 3-channel images, with its value, or returns "": a saturation or hue jitter strength when the
// jitter can happen, or the grayscale probability.
func (c Config) NeedsRGB() (string, float64) {
	switch {
	case !c.Random:
		return "", 0
	case c.JitterProb > 0 && c.JitterSaturation > 0:
		return "jitter_saturation", c.JitterSaturation
	case c.JitterProb > 0 && c.JitterHue > 0:
		return "jitter_hue", c.JitterHue
	case c.GrayscaleProb > 0:
		return "grayscale_prob", c.GrayscaleProb
	}
	return "", 0
}

// ContrastiveConfig returns the Keras example's contrastive augmenter: flip, crop area 0.2–1.0,
// aspect 3/4–4/3, brightness 0.5.
func ContrastiveConfig(height, width int) Config {
	return Config{Height: height, Width: width, Random: true, FlipProb: 0.5, Brightness: 0.5,
		ScaleLo: 0.2, ScaleHi: 1.0, AspectLo: 3.0 / 4.0, AspectHi: 4.0 / 3.0}
}

// ClassificationConfig returns the Keras example's classification augmenter (the probe's view):
// flip, crop area 0.5–1.0, aspect 3/4–4/3, brightness 0.2.
func ClassificationConfig(height, width int) Config {
	return Config{Height: height, Width: width, Random: true, FlipProb: 0.5, Brightness: 0.2,
		ScaleLo: 0.5, ScaleHi: 1.0, AspectLo: 3.0 / 4.0, AspectHi: 4.0 / 3.0}
}

// EvalConfig returns the evaluation path of the classification augmenter: ÷255 only.
func EvalConfig(height, width int) Config {
	return Config{Height: height, Width: width}
}

func (c Config) workers() int {
	if c.Workers > 0 {
		return c.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// Validate reports the first field whose value cannot describe an augmenter as a *setting.Error
// (wrapped with the package prefix) whose Name is the field's name in snake_case: JitterProb is
// "jitter_prob", BlurSigmaLo "blur_sigma_lo".
func (c Config) Validate() error {
	bad := func(name string, v any, want string, args ...any) error {
		return fmt.Errorf("augment: %w", setting.Errorf(name, v, want, args...))
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	prob := func(v float64) bool { return finite(v) && v >= 0 && v <= 1 }
	switch {
	case c.Height <= 0:
		return bad("height", c.Height, "want > 0")
	case c.Width <= 0:
		return bad("width", c.Width, "want > 0")
	case c.Workers < 0:
		return bad("workers", c.Workers, "want >= 0")
	}
	if !c.Random {
		return nil
	}
	switch {
	case !prob(c.FlipProb):
		return bad("flip_prob", c.FlipProb, "want a probability in [0, 1]")
	case !prob(c.Brightness):
		return bad("brightness", c.Brightness, "want a factor in [0, 1]")
	case !finite(c.ScaleLo) || c.ScaleLo <= 0 || c.ScaleLo > 1:
		return bad("scale_lo", c.ScaleLo, "want a crop area fraction in (0, 1]")
	case !finite(c.ScaleHi) || c.ScaleHi <= 0 || c.ScaleHi > 1:
		return bad("scale_hi", c.ScaleHi, "want a crop area fraction in (0, 1]")
	case c.ScaleLo > c.ScaleHi:
		return bad("scale_lo", c.ScaleLo, "above scale_hi %v: empty crop area range", c.ScaleHi)
	case !finite(c.AspectLo) || c.AspectLo <= 0:
		return bad("aspect_lo", c.AspectLo, "want an aspect ratio > 0")
	case !finite(c.AspectHi) || c.AspectHi <= 0:
		return bad("aspect_hi", c.AspectHi, "want an aspect ratio > 0")
	case c.AspectLo > c.AspectHi:
		return bad("aspect_lo", c.AspectLo, "above aspect_hi %v: empty aspect ratio range", c.AspectHi)
	case !prob(c.JitterProb):
		return bad("jitter_prob", c.JitterProb, "want a probability in [0, 1]")
	case !prob(c.JitterBrightness):
		return bad("jitter_brightness", c.JitterBrightness, "want a brightness strength in [0, 1]")
	case !finite(c.JitterContrast) || c.JitterContrast < 0:
		return bad("jitter_contrast", c.JitterContrast, "want a finite contrast strength >= 0")
	case !finite(c.JitterSaturation) || c.JitterSaturation < 0:
		return bad("jitter_saturation", c.JitterSaturation, "want a finite saturation strength >= 0")
	case !finite(c.JitterHue) || c.JitterHue < 0 || c.JitterHue > 0.5:
		return bad("jitter_hue", c.JitterHue, "want a hue strength in [0, 0.5]")
	case !prob(c.GrayscaleProb):
		return bad("grayscale_prob", c.GrayscaleProb, "want a probability in [0, 1]")
	case !prob(c.BlurProb):
		return bad("blur_prob", c.BlurProb, "want a probability in [0, 1]")
	case !prob(c.SolarizeProb):
		return bad("solarize_prob", c.SolarizeProb, "want a probability in [0, 1]")
	}
	if c.BlurProb > 0 {
		switch {
		case !finite(c.BlurSigmaLo) || c.BlurSigmaLo <= 0:
			return bad("blur_sigma_lo", c.BlurSigmaLo, "want a finite sigma > 0 when blur_prob > 0")
		case !finite(c.BlurSigmaHi) || c.BlurSigmaHi <= 0:
			return bad("blur_sigma_hi", c.BlurSigmaHi, "want a finite sigma > 0 when blur_prob > 0")
		case c.BlurSigmaLo > c.BlurSigmaHi:
			return bad("blur_sigma_lo", c.BlurSigmaLo, "above blur_sigma_hi %v: empty blur sigma range", c.BlurSigmaHi)
		}
	}
	return nil
}
