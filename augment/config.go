package augment

import (
	"fmt"
	"math"
	"runtime"
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

// needsRGB names the first enabled option that only works on 3-channel images, or "".
func (c Config) needsRGB() (string, float64) {
	switch {
	case !c.Random:
		return "", 0
	case c.JitterProb > 0 && c.JitterSaturation > 0:
		return "JitterSaturation", c.JitterSaturation
	case c.JitterProb > 0 && c.JitterHue > 0:
		return "JitterHue", c.JitterHue
	case c.GrayscaleProb > 0:
		return "GrayscaleProb", c.GrayscaleProb
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

// Validate reports the first field whose value cannot describe an augmenter, naming it and its
// value.
func (c Config) Validate() error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("augment: %s = %v: %s", field, v, want)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Height <= 0:
		return bad("Height", c.Height, "want > 0")
	case c.Width <= 0:
		return bad("Width", c.Width, "want > 0")
	case c.Workers < 0:
		return bad("Workers", c.Workers, "want >= 0")
	}
	if !c.Random {
		return nil
	}
	switch {
	case !finite(c.FlipProb) || c.FlipProb < 0 || c.FlipProb > 1:
		return bad("FlipProb", c.FlipProb, "want a probability in [0, 1]")
	case !finite(c.Brightness) || c.Brightness < 0 || c.Brightness > 1:
		return bad("Brightness", c.Brightness, "want a factor in [0, 1]")
	case !finite(c.ScaleLo) || c.ScaleLo <= 0 || c.ScaleLo > 1:
		return bad("ScaleLo", c.ScaleLo, "want a crop area fraction in (0, 1]")
	case !finite(c.ScaleHi) || c.ScaleHi <= 0 || c.ScaleHi > 1:
		return bad("ScaleHi", c.ScaleHi, "want a crop area fraction in (0, 1]")
	case c.ScaleLo > c.ScaleHi:
		return fmt.Errorf("augment: ScaleLo = %v > ScaleHi = %v: empty crop area range", c.ScaleLo, c.ScaleHi)
	case !finite(c.AspectLo) || c.AspectLo <= 0:
		return bad("AspectLo", c.AspectLo, "want an aspect ratio > 0")
	case !finite(c.AspectHi) || c.AspectHi <= 0:
		return bad("AspectHi", c.AspectHi, "want an aspect ratio > 0")
	case c.AspectLo > c.AspectHi:
		return fmt.Errorf("augment: AspectLo = %v > AspectHi = %v: empty aspect ratio range", c.AspectLo, c.AspectHi)
	case !finite(c.JitterProb) || c.JitterProb < 0 || c.JitterProb > 1:
		return bad("JitterProb", c.JitterProb, "want a probability in [0, 1]")
	case !finite(c.JitterBrightness) || c.JitterBrightness < 0 || c.JitterBrightness > 1:
		return bad("JitterBrightness", c.JitterBrightness, "want a strength in [0, 1]")
	case !finite(c.JitterContrast) || c.JitterContrast < 0:
		return bad("JitterContrast", c.JitterContrast, "want a finite strength >= 0")
	case !finite(c.JitterSaturation) || c.JitterSaturation < 0:
		return bad("JitterSaturation", c.JitterSaturation, "want a finite strength >= 0")
	case !finite(c.JitterHue) || c.JitterHue < 0 || c.JitterHue > 0.5:
		return bad("JitterHue", c.JitterHue, "want a strength in [0, 0.5]")
	case !finite(c.GrayscaleProb) || c.GrayscaleProb < 0 || c.GrayscaleProb > 1:
		return bad("GrayscaleProb", c.GrayscaleProb, "want a probability in [0, 1]")
	case !finite(c.BlurProb) || c.BlurProb < 0 || c.BlurProb > 1:
		return bad("BlurProb", c.BlurProb, "want a probability in [0, 1]")
	case !finite(c.SolarizeProb) || c.SolarizeProb < 0 || c.SolarizeProb > 1:
		return bad("SolarizeProb", c.SolarizeProb, "want a probability in [0, 1]")
	}
	if c.BlurProb > 0 {
		switch {
		case !finite(c.BlurSigmaLo) || c.BlurSigmaLo <= 0:
			return bad("BlurSigmaLo", c.BlurSigmaLo, "want a finite sigma > 0 when BlurProb > 0")
		case !finite(c.BlurSigmaHi) || c.BlurSigmaHi <= 0:
			return bad("BlurSigmaHi", c.BlurSigmaHi, "want a finite sigma > 0 when BlurProb > 0")
		case c.BlurSigmaLo > c.BlurSigmaHi:
			return fmt.Errorf("augment: BlurSigmaLo = %v > BlurSigmaHi = %v: empty blur sigma range", c.BlurSigmaLo, c.BlurSigmaHi)
		}
	}
	return nil
}
