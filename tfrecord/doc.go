// Package tfrecord reads and writes TFRecord files, the record framing of tf.data, tfds shards
// and TensorBoard event files: each record is its length (uint64, little endian), the masked
// CRC32C of those 8 bytes, the data, and the masked CRC32C of the data.
//
// Reader reads records one after another and ReadFile a whole file; Index and ReadAt give
// random access (loader uses them for tfds shards); Writer writes records byte for byte as
// tf.io.TFRecordWriter does (tests compare with files TensorFlow wrote, see
// testdata/gen_testdata.py). Both CRCs of every record are checked. Errors about a record are
// *RecordError values naming the file, the record's index and byte offset, and wrap ErrCorrupt
// or ErrTruncated. Bad input never panics (FuzzReadRecords). Readers and writers are not safe for
// concurrent use; ReadAt is, as the io.ReaderAt it reads.
package tfrecord
