// Package embed computes embeddings of dataset images with a frozen encoder: a SavedModel
// signature (exported by nnclr, or saved by Python with tf.saved_model.save or Keras
// model.export) or an nnclr model in memory (a run's checkpoint, see package run). The embed and
// evaluate modes of the CLI both go through it.
//
// An Embedder takes uint8 batches at its InputShape (Features resizes the dataset's images to
// it, and replicates grey images to three channels when asked); a SavedModel with a float32
// input gets pixels scaled to [0, InputMax]; an nnclr model gets the Keras example's evaluation
// path (÷255). An Embedder is not safe for concurrent use.
package embed
