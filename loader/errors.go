package loader

import (
	"errors"

	"github.com/nnclr/nnclr/tfrecord"
)

// Sentinel errors. Errors returned by this package wrap one of these (test with errors.Is), and
// errors about one record of a file are a *RecordError (test with errors.As).
var (
	// ErrCorruptRecord reports a TFRecord whose length or data CRC32C does not match; it is
	// tfrecord.ErrCorrupt.
	ErrCorruptRecord = tfrecord.ErrCorrupt
	// ErrTruncated reports a file that ends inside a record (or an archive cut short); it is
	// tfrecord.ErrTruncated.
	ErrTruncated = tfrecord.ErrTruncated
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
	// ErrBadFolder reports an image folder ImportFolder cannot use: empty, an empty class
	// folder, a name that is not UTF-8, images beside class folders.
	ErrBadFolder = errors.New("bad image folder")
	// ErrUnreadable reports a file of an image folder that cannot be read: a dangling symbolic
	// link, a symbolic link loop, a named pipe or device, a permission error.
	ErrUnreadable = errors.New("unreadable file")
	// ErrTooManyPixels reports an image whose header declares more pixels than the limit
	// (MaxPixels, or FolderOptions.MaxPixels); it is refused before decoding.
	ErrTooManyPixels = errors.New("image declares too many pixels")
	// ErrSourceChanged reports a dataset prepared from other files or options than the ones
	// given (see SourceChangedError).
	ErrSourceChanged = errors.New("source changed")
)

// RecordError is an error about one record of a shard: Path is the file, Index the record's
// position in it (0-based), Offset the byte offset where the record starts, and Err the cause
// (wrapping one of the sentinel errors). It is tfrecord.RecordError, so framing errors and
// decoding errors of a record look alike.
type RecordError = tfrecord.RecordError
