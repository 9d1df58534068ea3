package loader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/stl10fake"
)

func stl10Archive(t testing.TB, n int) []byte {
	t.Helper()
	b, err := stl10fake.Archive(n, 8)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// archiveServer serves data on 127.0.0.1 with Range support. While cut > 0, a request without a
// Range header gets only the first cut bytes before the connection is dropped.
type archiveServer struct {
	data     []byte
	cut      int
	mu       sync.Mutex
	ranges   []string
	noRanges bool
	requests int
	modTime  time.Time
}

func (s *archiveServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/stl10_binary.tar.gz") {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	s.requests++
	s.ranges = append(s.ranges, r.Header.Get("Range"))
	cut := s.cut
	s.cut = 0
	s.mu.Unlock()
	if s.noRanges {
		r.Header.Del("Range")
	}
	if cut > 0 && r.Header.Get("Range") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(s.data)))
		w.WriteHeader(http.StatusOK)
		w.Write(s.data[:cut])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	http.ServeContent(w, r, "stl10_binary.tar.gz", s.modTime, bytes.NewReader(s.data))
}

func serve(t *testing.T, s *archiveServer) string {
	t.Helper()
	srv := httptest.NewServer(s) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL + "/stl10_binary.tar.gz"
}

func TestDownloadResumesAndVerifies(t *testing.T) {
	data := stl10Archive(t, 4)
	s := &archiveServer{data: data, cut: len(data) / 3}
	url := serve(t, s)
	dest := filepath.Join(t.TempDir(), "stl10_binary.tar.gz")
	opts := DownloadOptions{URL: url, SHA256: sha(data), Size: int64(len(data))}
	err := Download(context.Background(), dest, opts)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("first try: %v, want an interrupted download", err)
	}
	if st, err := os.Stat(dest + ".part"); err != nil || st.Size() != int64(len(data)/3) {
		t.Fatalf("partial file: %v %v", st, err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Fatal("an unverified file was put in place")
	}
	var last, total int64
	opts.Progress = func(d, tot int64) { last, total = d, tot }
	if err := Download(context.Background(), dest, opts); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("downloaded file differs (%v)", err)
	}
	if want := "bytes=" + strconv.Itoa(len(data)/3) + "-"; s.ranges[1] != want {
		t.Fatalf("second request Range %q, want %q", s.ranges[1], want)
	}
	if last != int64(len(data)) || total != int64(len(data)) {
		t.Fatalf("progress ended at %d of %d", last, total)
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Fatal("partial file left behind")
	}
}

func TestDownloadServerIgnoresRange(t *testing.T) {
	data := stl10Archive(t, 2)
	s := &archiveServer{data: data, noRanges: true}
	url := serve(t, s)
	dest := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(dest+".part", data[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Download(context.Background(), dest, DownloadOptions{URL: url, SHA256: sha(data)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, data) {
		t.Fatal("restart after an ignored Range gave other bytes")
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	data := stl10Archive(t, 2)
	url := serve(t, &archiveServer{data: data})
	dest := filepath.Join(t.TempDir(), "a.tar.gz")
	err := Download(context.Background(), dest, DownloadOptions{URL: url, SHA256: strings.Repeat("0", 64)})
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "sha256 "+sha(data)) {
		t.Fatalf("err = %v", err)
	}
	for _, p := range []string{dest, dest + ".part"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left behind after a checksum mismatch", p)
		}
	}
	err = Download(context.Background(), dest, DownloadOptions{URL: url, Size: int64(len(data)) + 1})
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "bytes, want") {
		t.Fatalf("size mismatch: %v", err)
	}
	err = Download(context.Background(), dest, DownloadOptions{URL: url + ".missing"})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("404: %v", err)
	}
}

func TestExtractSTL10(t *testing.T) {
	data := stl10Archive(t, 3)
	dir := t.TempDir()
	archive := filepath.Join(dir, "a.tar.gz")
	if err := os.WriteFile(archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	bin, err := ExtractSTL10(archive, dir)
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenSTL10(bin, "train")
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 3 {
		t.Fatalf("train has %d images", src.Len())
	}
	src.Close()

	// A truncated archive names the archive and the member being read.
	trunc := filepath.Join(dir, "trunc.tar.gz")
	if err := os.WriteFile(trunc, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ExtractSTL10(trunc, t.TempDir())
	if !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), trunc) {
		t.Fatalf("truncated archive: %v", err)
	}
	if err := os.WriteFile(trunc, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractSTL10(trunc, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a gzip archive") {
		t.Fatalf("not gzip: %v", err)
	}
}
