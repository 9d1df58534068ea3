package loader

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of these (test with errors.Is), and
// errors about one record of a file are a *RecordError (test with errors.As).
var (
	// ErrCorruptRecord reports a TFRecord whose length or data CRC32C does not match.
	ErrCorruptRecord = errors.New("corrupt record")
	// ErrTruncated reports a file that ends inside a record.
	ErrTruncated = errors.New("truncated record")
	// ErrBadExample reports a record that is not a tf.train.Example with the expected features.
	ErrBadExample = errors.New("bad tf.train.Example")
	// ErrBadImage reports an image that cannot be decoded as PNG or JPEG.
	ErrBadImage = errors.New("bad image")
	// ErrShape reports an image whose shape differs from the one features.json declares, or a
	// buffer or shape argument that does not fit.
	ErrShape = errors.New("wrong image shape")
	// ErrUnknownSplit reports a split name that dataset_info.json does not list.
	ErrUnknownSplit = errors.New("unknown split")
	// ErrMissingShard reports a shard file that dataset_info.json lists but that does not exist.
	ErrMissingShard = errors.New("missing shard")
	// ErrBadInfo reports a dataset_info.json or features.json this package cannot use.
	ErrBadInfo = errors.New("bad dataset metadata")
	// ErrPathEscape reports a file path template that points outside the dataset directory.
	ErrPathEscape = errors.New("file path template escapes the data dir")
	// ErrNotFound reports a dataset or version directory that does not exist.
	ErrNotFound = errors.New("dataset not found")
	// ErrBadSource reports a malformed STL-10 binary or IDX file.
	ErrBadSource = errors.New("bad source file")
)

// RecordError is an error about one record of a file: Path is the file, Index the record's
// position in it (0-based), Offset the byte offset where the record starts, and Err the cause
// (wrapping one of the sentinel errors).
type RecordError struct {
	Path   string
	Index  int
	Offset int64
	Err    error
}

// Error formats the error as "loader: PATH: record I (offset O): CAUSE".
func (e *RecordError) Error() string {
	return fmt.Sprintf("loader: %s: record %d (offset %d): %v", e.Path, e.Index, e.Offset, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrCorruptRecord) and the like work.
func (e *RecordError) Unwrap() error { return e.Err }
