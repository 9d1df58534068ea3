// Package augment implements the Keras NNCLR example's augmentations on uint8 image batches:
// random horizontal flip, random crop-and-resize on the sampling grid of tf.image.crop_and_resize,
// and random brightness, with per-image random streams derived from a seed.
package augment
