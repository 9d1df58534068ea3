// Package loader reads and writes tfds-compatible image datasets in Go: tf.train.Example records
// in TFRecord files (framed by package tfrecord), dataset_info.json/features.json, PNG/JPEG decoding, STL-10
// binary and Fashion-MNIST IDX import, and the batch pipeline of the Keras NNCLR example.
//
// # Layers
//
// TFRecord files: package tfrecord reads and writes the framing (both masked CRC32C
// checksums checked); loader indexes the shards of a split with it for random access.
//
// Examples and images: ParseExample and MarshalExample handle the tf.train.Example of an image
// classification dataset (a bytes_list "image" holding PNG or JPEG, an int64 "label");
// DecodeImage and DecodeExample decode to uint8 HWC and check the shape features.json declares;
// EncodePNG encodes.
//
// The tfds layout: Open finds <data_dir>/<name>/<version> ("stl10" takes the highest version,
// "stl10:1.0.0" a given one; data_dir defaults to $TFDS_DATA_DIR, else ~/tensorflow_datasets),
// reads dataset_info.json (splits, shardLengths, fileFormat, filepathTemplate, as tfds 4.9
// writes them) and features.json, and Dataset.Split resolves the shard files, refusing a
// template that leads outside the dataset directory. Split.Open indexes the shards for random
// access (SplitReader).
//
// Writing: Writer writes shards, dataset_info.json, features.json and label.labels.txt that
// tfds.load(name, data_dir=...) and tfds.builder_from_directory read without downloading
// anything. ImportSTL10 (the stl10_binary release) and ImportFashionMNIST (the IDX files of
// the dataset-fashion-mnist Debian package) use it with STL10Spec and FashionMNISTSpec, the
// names and versions of tfds's catalogue. ImportFolder writes a folder of a user's images
// (DIR/<class>/..., DIR/<split>/<class>/... or a flat folder; images of any size and of the
// formats Go and golang.org/x/image decode) as a dataset with image, label and image/filename
// features, with the file fingerprint that makes a second import a no-op. Progress is reported
// through the Progress interface; the package never prints.
//
// The pipeline: Pipeline reproduces the Keras example's data: the unlabelled and the labelled
// training splits, each with its shards shuffled and its examples passed through a shuffle
// buffer (tf.data semantics, 5,000 by default), batched with drop-remainder at
// len/StepsPerEpoch and zipped step by step; the test split in tfds's read order, batched at
// the sum of the two batch sizes. Shards are read in the order tfds's interleave (cycle 16,
// block 16) reads them (InterleaveOrder). Images are decoded by parallel workers with prefetch;
// the order is computed from the seed alone (ShuffleBuffer, EpochOrder), so the batches are the
// same for a seed whatever the number of workers. On a dataset without labels (HasLabels: a
// flat image folder, the split "unlabelled" alone) the pipeline has that split only: each step is
// an unlabelled batch (len/StepsPerEpoch, or UnlabelledBatch), LabelledBatch and TestBatch are
// 0, a LabelledBatch is refused, and Test and Labelled are ErrNoLabels. TensorFlow's own random stream is not
// reproduced: the same seed does not give tf.data's order. Options.Output (or Resize) converts
// images to a model's input shape, e.g. Fashion-MNIST's 28×28×1 to 96×96×3. ImageCache keeps
// decoded images across epochs.
//
// # Errors
//
// Errors carry a "loader: " prefix (a *RecordError starts with the file's path instead) and wrap
// one of the sentinel errors (ErrCorruptRecord,
// ErrTruncated, ErrBadExample, ErrBadImage, ErrShape, ErrUnknownSplit, ErrMissingShard,
// ErrBadInfo, ErrPathEscape, ErrNotFound, ErrBadSource, ErrBadFolder, ErrUnreadable,
// ErrTooManyPixels, ErrSourceChanged). A problem with one file of an image folder is a
// *FileError naming it. A problem with one record of a file is
// a *RecordError naming the file, the record index and its byte offset. Bad input never
// panics.
//
// # Concurrency and ownership
//
// Dataset is immutable. SplitReader's reads and ImageCache are safe for concurrent use.
// Iterators (BatchIterator, TrainIterator) are for one goroutine; Close may be called from any.
// A Batch returned by an iterator belongs to the caller: the pipeline never touches it again.
// RecordReader.Next returns a slice valid until its next call.
//
// # Not covered
//
// Only the tfrecord file format is read (not array_record); only uint8 images of 1 or 3
// channels (a fixed height and width, or both unknown: then each image is decoded at its own
// size with SplitReader.ReadImage and resized to the pipeline's output shape) and an optional
// ClassLabel are handled; tfds split slicing
// ("train[:10%]") is not parsed. JPEG pixels can differ from TensorFlow's decoder by a few
// levels (Go's image/jpeg does not do libjpeg's fancy chroma upsampling).
//
// The Python reference the tests compare against is pyref/tfds_ref.py; testdata/gen_testdata.py
// regenerates testdata/ with the real TensorFlow and tensorflow_datasets.
package loader
