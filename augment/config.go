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
	}
	return nil
}
