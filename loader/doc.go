// Package loader reads and writes tfds-compatible image datasets in Go: TFRecord framing with
// CRC32C, tf.train.Example records, dataset_info.json/features.json, PNG/JPEG decoding, STL-10
// binary and Fashion-MNIST IDX import, and the batch pipeline of the Keras NNCLR example.
package loader
