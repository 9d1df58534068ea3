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
// Where augmentation runs: measured with `make bench` (BenchmarkContrastive96) on this project's
// 2-core machine, the Go augmenter does about 5,400 images/s for the contrastive preset at
// 96×96×3 and TensorFlow's in-graph version of the same work (one tf.function, same thread count)
// about 2,800 images/s: Go is 1.9× faster. A pretraining step of the example (two views of 2,100
// images through the conv encoder, forward and backward) takes tens of seconds on the same 2
// cores, so the Go augmenter, overlapped with the TF step, is far from the bottleneck. The
// augmentation therefore stays in Go; no in-graph option is offered.
package augment
