// Package augment implements the Keras NNCLR example's augmenters on uint8 image batches:
// Rescaling(1/255), random horizontal flip (p = 0.5), random crop-and-resize (keras_cv's
// RandomCropAndResize box law on the sampling grid of tf.image.crop_and_resize) and random
// brightness (add δ ~ U(−f, f), clip to [0, 1]). ContrastiveConfig and ClassificationConfig are
// the example's two presets; EvalConfig is the evaluation path (÷255 only).
//
// The deterministic arithmetic is TensorFlow's, in float32 and in TensorFlow's order: the tests
// replay the Go draws through the real tf.image.crop_and_resize and Keras layers from the pinned
// environment and find no difference at all: the tests assert max |Go − TF| = 0.
//
// # The paper's optional augmentations
//
// Config also offers the augmentations of the NNCLR paper (SimCLR's and BYOL's) that the Keras example
// leaves out. All are off at their zero values, so the presets, their draws and their outputs are
// exactly those of the example. They run after the brightness step, each with its own
// probability, in this order:
//
//   - colour jitter (JitterProb; strengths JitterBrightness, JitterContrast, JitterSaturation,
//     JitterHue): SimCLR's color_jitter_rand — tf.image.adjust_brightness with δ ~ U(−b, b),
//     adjust_contrast and adjust_saturation with factors ~ U(max(0, 1−s), 1+s), adjust_hue with
//     δ ~ U(−h, h) — in a random order (one of 24, uniform), each followed by a clip to [0, 1]; a
//     step of strength 0 is skipped. SimCLR's strength-1 values are 0.8, 0.8, 0.8, 0.2 with
//     p = 0.8.
//   - grayscale (GrayscaleProb; SimCLR uses 0.2): tf.image.rgb_to_grayscale, replicated to the
//     three channels.
//   - Gaussian blur (BlurProb, σ ~ U(BlurSigmaLo, BlurSigmaHi); the paper uses 0.1 and 2.0):
//     SimCLR's gaussian_blur, a separable kernel of 2·((Height/10)/2)+1 taps (none below a
//     height of 20), zero padding, then a clip to [0, 1] (rounding can push a blurred 1 up to
//     1.0000002).
//   - solarization (SolarizeProb; BYOL's, which the paper uses at 0 and 0.2 for its two views):
//     tf.where(x < 0.5, x, 1 − x).
//
// Saturation, hue and grayscale need three channels; Apply refuses other images with an error
// naming the option. Their random values come from the image's own stream after the six draws of
// the Keras augmenter, so those never change: when any of the four probabilities is > 0, ten
// more values are drawn, always all ten and in this order — jitter or not, brightness δ,
// contrast factor, saturation factor, hue δ, jitter order (⌊24u⌋, see JitterOrder), grayscale or
// not, blur or not, σ, solarization or not — so no option's values depend on which others are on. Draw returns them.
// The steps work in place on each image's float32 output, with per-worker scratch for the
// contrast's mean and the blur; with the options off Apply makes no extra pass over the data.
//
// Their arithmetic is that of TensorFlow's CPU kernels (AdjustContrastv2's halving sum for the
// mean, AdjustSaturation's and AdjustHue's own float RGB↔HSV helpers, rgb_to_grayscale's
// tensordot order, and the depthwise convolution's fused multiply-adds as oneDNN runs them on
// x86). Replaying Go's draws through the real tf.image ops and SimCLR's blur code finds no
// difference for the jitter steps, grayscale and the blur (the tests assert max |Go − TF| = 0),
// except that SimCLR computes the blur weights in float32, with TensorFlow's approximate exp,
// where Go rounds float64 weights: measured 2.4e-7 on the blur alone and 3.0e-7 over the whole
// pipeline, which the tests bound by 4e-7. With
// TF_ENABLE_ONEDNN_OPTS=0 TensorFlow's depthwise convolution rounds each product separately and
// differs from both in the last bit.
//
// Every image has its own random stream, a PCG generator keyed by (seed, stream, step, index):
// the output depends on nothing else, in particular not on the number of workers. An Augmenter
// holds no mutable state; Apply may run concurrently. Apply writes into a caller-owned []float32,
// which may be the memory of a TensorFlow tensor, so a batch is never copied after augmentation.
//
// Where augmentation runs: measured with `make bench` on this project's 2-core machine
// (BenchmarkContrastive96: 2,100 images of 96×96×3, the contrastive preset; one run at commit
// 054be47 on 2026-12-06), the Go augmenter does about 48,900 images/s and TensorFlow's in-graph
// version of the same work (one tf.function, same thread count) about 6,400 images/s: Go is
// 7.7× faster. (Before the crop interpolated each source row along x once for all the output
// rows reading it, and clipped in a loop of its own, the same bench gave Go 13,500 images/s,
// 2.1×; with that done, 28,100 images/s, 4.4×; then the clip moved into the blend's loop as
// integer min/max on the bits, and three-channel rows got a loop of their own.) At 32×32×3 one
// step's augmentation (320 images × 2 contrastive views + 64 probe views) went from 5.2 to 3.3
// ms of one core with the last change (one-off, best of 100, commits f349e17 and 054be47). The
// per-row values and the final blend are TensorFlow's own expressions in its order, so the
// output stays bit-identical (TestCropAndResizeMatchesTF, TestPipelineMatchesKeras,
// TestFlipRescaleBrightnessMatchTF). A
// pretraining step consumes three augmented views per labelled image and two per unlabelled one,
// at the images/s that BenchmarkPretrainVsKeras (cmd/nnclr, in make bench) prints: a few hundred
// at 96×96, far below the augmenter's rate, so augmentation, overlapped with the TF step, is not
// the bottleneck there.
// The augmentation therefore stays in Go; no in-graph option is offered.
//
// With every optional augmentation on at p = 1 (BenchmarkPaperOptions96: SimCLR's strength-1
// jitter, grayscale, blur with σ ~ U(0.1, 2.0)), one run measured Go at about 1,690 images/s
// and, beside it, TensorFlow's in-graph version (the same ops per image in tf.map_fn, as SimCLR's per-image
// map) at about 1,540 images/s: Go is 1.1× faster. The blur takes about a third of Go's time;
// rounding each of its multiply-adds to float32, which makes it bit-exact, costs about 10%. Even
// with every option on, that rate is several times the views a 96×96 pretraining step consumes.
package augment
