package tfrecord

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recordsWant are the records gen_testdata.py wrote to testdata/records.tfrecord with TF's
// tf.io.TFRecordWriter.
func recordsWant() [][]byte {
	var big []byte
	for range 3 {
		for i := range 256 {
			big = append(big, byte(i))
		}
	}
	return [][]byte{{}, []byte("hello"), big}
}

func readAllRecords(t *testing.T, path string) ([][]byte, error) {
	t.Helper()
	var got [][]byte
	err := ReadFile(path, func(i int, data []byte) error {
		if i != len(got) {
			t.Errorf("index %d, want %d", i, len(got))
		}
		got = append(got, bytes.Clone(data))
		return nil
	})
	return got, err
}

func TestReadRecordsFromTF(t *testing.T) {
	got, err := readAllRecords(t, "testdata/records.tfrecord")
	if err != nil {
		t.Fatal(err)
	}
	want := recordsWant()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("record %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

// TestRecordWriterMatchesTF checks that the Go writer produces the bytes TF's writer produced.
func TestRecordWriterMatchesTF(t *testing.T) {
	want, err := os.ReadFile("testdata/records.tfrecord")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range recordsWant() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("Go writer output differs from tf.io.TFRecordWriter's (%d vs %d bytes)", buf.Len(), len(want))
	}
	if w.Written() != int64(len(want)) {
		t.Errorf("Written() = %d, want %d", w.Written(), len(want))
	}
}

func TestMaskedCRC32C(t *testing.T) {
	// Known values: CRC32C("123456789") = 0xe3069283 (RFC 3720); masked per TFRecord.
	crc := uint32(0xe3069283)
	want := ((crc >> 15) | (crc << 17)) + 0xa282ead8
	if got := MaskedCRC32C([]byte("123456789")); got != want {
		t.Fatalf("MaskedCRC32C = %#x, want %#x", got, want)
	}
}

func TestReadRecordsErrors(t *testing.T) {
	// Offsets: record 0 is 16 bytes (empty), record 1 is 21 bytes ("hello"), record 2 starts at 37.
	tests := []struct {
		file     string
		records  int // records read before the error
		index    int
		offset   int64
		sentinel error
		substr   string
	}{
		{"truncated_header.tfrecord", 1, 1, 16, ErrTruncated, "header bytes"},
		{"truncated_data.tfrecord", 2, 2, 37, ErrTruncated, "data bytes"},
		{"bad_length_crc.tfrecord", 1, 1, 16, ErrCorrupt, "length crc"},
		{"bad_data_crc.tfrecord", 2, 2, 37, ErrCorrupt, "data crc"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			got, err := readAllRecords(t, path)
			checkRecordError(t, err, path, tc.index, tc.offset, tc.sentinel, tc.substr)
			if len(got) != tc.records {
				t.Errorf("read %d records before the error, want %d", len(got), tc.records)
			}

			// The random-access path (index, then read at offsets) reports the same place.
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			locs, err := Index(f, st.Size(), path)
			if tc.sentinel == ErrTruncated || strings.Contains(tc.substr, "length") {
				checkRecordError(t, err, path, tc.index, tc.offset, tc.sentinel, "")
				return
			}
			if err != nil {
				t.Fatalf("Index: %v", err)
			}
			_, err = ReadAt(f, locs[tc.index], nil)
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("ReadAt: %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func checkRecordError(t *testing.T, err error, path string, index int, offset int64, sentinel error, substr string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q is not %v", err, sentinel)
	}
	var re *RecordError
	if !errors.As(err, &re) {
		t.Fatalf("error %q is not a *RecordError", err)
	}
	if re.Path != path || re.Index != index || re.Offset != offset {
		t.Errorf("RecordError{%s, %d, %d}, want {%s, %d, %d}", re.Path, re.Index, re.Offset, path, index, offset)
	}
	if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), substr) {
		t.Errorf("error %q does not name %s and %q", err, path, substr)
	}
}

func TestRecordReaderStopsAfterError(t *testing.T) {
	data, err := os.ReadFile("testdata/bad_length_crc.tfrecord")
	if err != nil {
		t.Fatal(err)
	}
	rr := NewReader(bytes.NewReader(data), "mem")
	if _, err := rr.Next(); err != nil {
		t.Fatal(err)
	}
	_, err1 := rr.Next()
	_, err2 := rr.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v, want the same error twice", err1, err2)
	}
}

// FuzzReadRecords feeds arbitrary bytes to the reader: it must never panic, must stop with io.EOF
// or a *RecordError, and records it accepts must re-encode to the bytes they came from.
func FuzzReadRecords(f *testing.F) {
	for _, name := range []string{"records", "truncated_header", "truncated_data", "bad_length_crc", "bad_data_crc"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".tfrecord"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		rr := NewReader(bytes.NewReader(in), "fuzz")
		var out bytes.Buffer
		w := NewWriter(&out)
		var n int
		for {
			data, err := rr.Next()
			if err == io.EOF {
				if !bytes.Equal(out.Bytes(), in) {
					t.Fatalf("clean EOF but re-encoding differs")
				}
				break
			}
			if err != nil {
				var re *RecordError
				if !errors.As(err, &re) || re.Index != n || re.Offset != int64(out.Len()) {
					t.Fatalf("error %v: want a *RecordError at record %d offset %d", err, n, out.Len())
				}
				break
			}
			n++
			if err := w.Write(data); err != nil {
				t.Fatal(err)
			}
		}
		// The indexing path agrees on the number of good records when the input is well formed.
		locs, err := Index(bytes.NewReader(in), int64(len(in)), "fuzz")
		if err == nil {
			for _, l := range locs {
				if _, err := ReadAt(bytes.NewReader(in), l, nil); err != nil && !errors.Is(err, ErrCorrupt) {
					t.Fatalf("ReadAt: %v", err)
				}
			}
		}
	})
}
