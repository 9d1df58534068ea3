package tfrecord

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// TFRecord framing: each record is
//
//	uint64 length (little endian)
//	uint32 masked CRC32C of the 8 length bytes
//	length bytes of data
//	uint32 masked CRC32C of the data
//
// with mask(crc) = ((crc >> 15) | (crc << 17)) + 0xa282ead8.
const (
	recordHeaderLen = 12
	recordFooterLen = 4
	crcMaskDelta    = 0xa282ead8
	// readChunk bounds how much is allocated ahead of data actually read, so a forged length
	// cannot make the reader allocate more than the input holds.
	readChunk = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var (
	// ErrCorrupt reports a record whose length or data CRC32C does not match.
	ErrCorrupt = errors.New("corrupt record")
	// ErrTruncated reports a file that ends inside a record.
	ErrTruncated = errors.New("truncated record")
)

// RecordError is an error about one record of a file: Path is the file, Index the record's
// position in it (0-based), Offset the byte offset where the record starts, and Err the cause
// (wrapping ErrCorrupt, ErrTruncated, or whatever went wrong with the record's contents).
type RecordError struct {
	Path   string
	Index  int
	Offset int64
	Err    error
}

// Error formats the error as "PATH: record I (offset O): CAUSE".
func (e *RecordError) Error() string {
	return fmt.Sprintf("%s: record %d (offset %d): %v", e.Path, e.Index, e.Offset, e.Err)
}

// Unwrap returns the cause, so errors.Is(err, ErrCorrupt) and the like work.
func (e *RecordError) Unwrap() error { return e.Err }

// MaskedCRC32C returns the masked CRC32C checksum TFRecord files store for data.
func MaskedCRC32C(data []byte) uint32 {
	crc := crc32.Checksum(data, castagnoli)
	return ((crc >> 15) | (crc << 17)) + crcMaskDelta
}

// Reader reads TFRecord records one after another from an io.Reader, verifying both
// CRCs of each record. A Reader is not safe for concurrent use.
type Reader struct {
	r     *bufio.Reader
	path  string
	index int
	off   int64
	buf   []byte
	err   error
}

// NewReader returns a reader of the records in r. path names the input in errors.
func NewReader(r io.Reader, path string) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 1<<16), path: path}
}

// Next returns the data of the next record, or io.EOF after the last record when the input ends
// exactly at a record boundary. Any other error is a *RecordError naming the path, the record
// index and its byte offset, and wraps ErrTruncated, ErrCorrupt or the read error; after an
// error Next keeps returning it. The returned slice is owned by the reader and valid only until
// the next call to Next: copy it to keep it.
func (rr *Reader) Next() ([]byte, error) {
	if rr.err != nil {
		return nil, rr.err
	}
	data, n, err := readRecord(rr.r, &rr.buf)
	if err != nil {
		if err == io.EOF && n == 0 {
			rr.err = io.EOF
		} else {
			rr.err = &RecordError{Path: rr.path, Index: rr.index, Offset: rr.off, Err: err}
		}
		return nil, rr.err
	}
	rr.index++
	rr.off += n
	return data, nil
}

// Index returns the index of the record the next call to Next reads.
func (rr *Reader) Index() int { return rr.index }

// Offset returns the byte offset of the record the next call to Next reads.
func (rr *Reader) Offset() int64 { return rr.off }

// readRecord reads one record into *buf. It returns the data, the number of bytes consumed and
// an error: io.EOF with 0 bytes consumed at a clean end, ErrTruncated (wrapped) when the input
// ends inside the record, ErrCorrupt (wrapped) on a CRC mismatch.
func readRecord(r io.Reader, buf *[]byte) ([]byte, int64, error) {
	var hdr [recordHeaderLen]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil {
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err == io.ErrUnexpectedEOF {
			return nil, int64(n), fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, n, recordHeaderLen)
		}
		return nil, int64(n), err
	}
	length := binary.LittleEndian.Uint64(hdr[:8])
	if got, want := MaskedCRC32C(hdr[:8]), binary.LittleEndian.Uint32(hdr[8:]); got != want {
		return nil, recordHeaderLen, fmt.Errorf("%w: length crc 0x%08x, want 0x%08x", ErrCorrupt, got, want)
	}
	if length > 1<<62 {
		return nil, recordHeaderLen, fmt.Errorf("%w: length %d", ErrCorrupt, length)
	}
	need := int(length) + recordFooterLen
	// Grow the buffer as data arrives rather than trusting the length up front.
	b := (*buf)[:0]
	for len(b) < need {
		chunk := min(need-len(b), readChunk)
		if cap(b)-len(b) < chunk {
			nb := make([]byte, len(b), len(b)+max(chunk, len(b)))
			copy(nb, b)
			b = nb
		}
		m, err := io.ReadFull(r, b[len(b):len(b)+chunk])
		b = b[:len(b)+m]
		if err != nil {
			*buf = b
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, recordHeaderLen + int64(len(b)), fmt.Errorf("%w: %d of %d data bytes", ErrTruncated, len(b), need)
			}
			return nil, recordHeaderLen + int64(len(b)), err
		}
	}
	*buf = b
	data := b[:length]
	if got, want := MaskedCRC32C(data), binary.LittleEndian.Uint32(b[length:]); got != want {
		return nil, recordHeaderLen + int64(need), fmt.Errorf("%w: data crc 0x%08x, want 0x%08x", ErrCorrupt, got, want)
	}
	return data, recordHeaderLen + int64(need), nil
}

// ReadFile calls fn with the data of each record of the TFRecord file at path, in order.
// The slice passed to fn is valid only during the call. It stops at the first error, from the
// file (a *RecordError) or from fn (returned as is).
func ReadFile(path string, fn func(index int, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("tfrecord: %w", err)
	}
	defer f.Close()
	rr := NewReader(f, path)
	for {
		i := rr.Index()
		data, err := rr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(i, data); err != nil {
			return err
		}
	}
}

// Loc locates one record inside a file.
type Loc struct {
	Offset int64 // offset of the record (its header)
	Length int64 // data length
}

// Index scans the headers of the TFRecord file f of the given size, checking each length
// CRC and that every record fits in the file, and returns where each record is; data CRCs are
// checked when ReadAt reads the data. Errors are *RecordError values naming path.
// Headers are read through a buffer that skips small records in memory and seeks over large
// ones.
func Index(f io.ReaderAt, size int64, path string) ([]Loc, error) {
	var locs []Loc
	var hdr [recordHeaderLen]byte
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 1<<16)
	for off := int64(0); off < size; {
		i := len(locs)
		if size-off < recordHeaderLen {
			return nil, &RecordError{Path: path, Index: i, Offset: off, Err: fmt.Errorf("%w: %d of %d header bytes", ErrTruncated, size-off, recordHeaderLen)}
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return nil, &RecordError{Path: path, Index: i, Offset: off, Err: err}
		}
		length := binary.LittleEndian.Uint64(hdr[:8])
		if got, want := MaskedCRC32C(hdr[:8]), binary.LittleEndian.Uint32(hdr[8:]); got != want {
			return nil, &RecordError{Path: path, Index: i, Offset: off, Err: fmt.Errorf("%w: length crc 0x%08x, want 0x%08x", ErrCorrupt, got, want)}
		}
		rest := size - off - recordHeaderLen
		if length > uint64(rest) || int64(length)+recordFooterLen > rest {
			return nil, &RecordError{Path: path, Index: i, Offset: off, Err: fmt.Errorf("%w: record needs %d data bytes, %d left", ErrTruncated, length+recordFooterLen, rest)}
		}
		locs = append(locs, Loc{Offset: off, Length: int64(length)})
		skip := int(length) + recordFooterLen
		off += recordHeaderLen + int64(skip)
		if skip <= br.Buffered() {
			br.Discard(skip)
		} else {
			br.Reset(io.NewSectionReader(f, off, size-off))
		}
	}
	return locs, nil
}

// ReadAt reads and checks the data of the record at loc into buf (grown as needed) and
// returns the data, which aliases buf. Errors wrap ErrTruncated or ErrCorrupt; the caller knows
// which record it asked for and names it.
func ReadAt(f io.ReaderAt, loc Loc, buf []byte) ([]byte, error) {
	need := int(loc.Length) + recordFooterLen
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	if _, err := f.ReadAt(buf, loc.Offset+recordHeaderLen); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		return nil, err
	}
	data := buf[:loc.Length]
	if got, want := MaskedCRC32C(data), binary.LittleEndian.Uint32(buf[loc.Length:]); got != want {
		return nil, fmt.Errorf("%w: data crc 0x%08x, want 0x%08x", ErrCorrupt, got, want)
	}
	return data, nil
}

// Writer writes TFRecord records to an io.Writer. It does no buffering of its own: wrap
// the destination in a bufio.Writer and flush it when done. A Writer is not safe for
// concurrent use.
type Writer struct {
	w   io.Writer
	n   int64
	err error
}

// NewWriter returns a writer of records to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write appends one record holding data. After an error every later Write returns it.
func (rw *Writer) Write(data []byte) error {
	if rw.err != nil {
		return rw.err
	}
	var hdr [recordHeaderLen]byte
	binary.LittleEndian.PutUint64(hdr[:8], uint64(len(data)))
	binary.LittleEndian.PutUint32(hdr[8:], MaskedCRC32C(hdr[:8]))
	var ftr [recordFooterLen]byte
	binary.LittleEndian.PutUint32(ftr[:], MaskedCRC32C(data))
	for _, b := range [][]byte{hdr[:], data, ftr[:]} {
		if _, err := rw.w.Write(b); err != nil {
			rw.err = fmt.Errorf("tfrecord: write record: %w", err)
			return rw.err
		}
	}
	rw.n += int64(len(data)) + recordHeaderLen + recordFooterLen
	return nil
}

// Written returns the number of bytes written so far.
func (rw *Writer) Written() int64 { return rw.n }
