package loader

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The official STL-10 binary release, with the size and SHA-256 tfds records for it.
const (
	STL10URL    = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
	STL10Size   = 2640397119
	STL10SHA256 = "f31fd99273a1acb8609c8db427cebb1de3f71de77758cdc0e22956e1289b9866"
)

// ErrChecksum reports a downloaded file whose size or SHA-256 is not the expected one.
var ErrChecksum = errors.New("checksum mismatch")

// DownloadOptions configures Download.
type DownloadOptions struct {
	URL    string
	SHA256 string // expected hex SHA-256; empty skips the check
	Size   int64  // expected size in bytes; 0 skips the check
	// Progress, when set, is told the bytes present so far and the total (-1 when unknown).
	Progress func(done, total int64)
	Client   *http.Client // nil: http.DefaultClient
}

// Download fetches opts.URL to dest. Bytes arrive in dest+".part"; an earlier partial download
// there is resumed with an HTTP Range request (started over when the server ignores the range).
// The complete file's size and SHA-256 are checked before it is renamed to dest, so dest only
// ever holds a verified file; a file that fails the check is removed.
func Download(ctx context.Context, dest string, opts DownloadOptions) error {
	part := dest + ".part"
	client := opts.Client
	if client == nil {
		client = http.DefaultClient
	}
	have := int64(0)
	if st, err := os.Stat(part); err == nil {
		have = st.Size()
	}
	if opts.Size > 0 && have > opts.Size {
		os.Remove(part)
		have = 0
	}
	if opts.Size == 0 || have < opts.Size {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, opts.URL, nil)
		if err != nil {
			return fmt.Errorf("loader: download %s: %w", opts.URL, err)
		}
		if have > 0 {
			req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("loader: download %s: %w", opts.URL, err)
		}
		defer resp.Body.Close()
		flags := os.O_CREATE | os.O_WRONLY
		switch {
		case have > 0 && resp.StatusCode == http.StatusPartialContent:
			flags |= os.O_APPEND
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && have > 0:
			// The part is already complete (or longer than the file): verify it below.
			flags = 0
		case resp.StatusCode == http.StatusOK:
			flags |= os.O_TRUNC
			have = 0
		default:
			return fmt.Errorf("loader: download %s: server answered %s", opts.URL, resp.Status)
		}
		if flags != 0 {
			total := int64(-1)
			if resp.ContentLength >= 0 {
				total = have + resp.ContentLength
			}
			f, err := os.OpenFile(part, flags, 0o644)
			if err != nil {
				return fmt.Errorf("loader: download to %s: %w", part, err)
			}
			w := &progressWriter{w: f, done: have, total: total, report: opts.Progress}
			_, cerr := io.Copy(w, resp.Body)
			if err := f.Close(); cerr == nil {
				cerr = err
			}
			if cerr != nil {
				return fmt.Errorf("loader: download %s: interrupted after %d bytes (run again to resume): %w", opts.URL, w.done, cerr)
			}
		}
	}
	if err := verifyFile(part, opts.Size, opts.SHA256); err != nil {
		os.Remove(part)
		return fmt.Errorf("loader: download %s: %w", opts.URL, err)
	}
	if err := os.Rename(part, dest); err != nil {
		return fmt.Errorf("loader: download: %w", err)
	}
	return nil
}

type progressWriter struct {
	w           io.Writer
	done, total int64
	report      func(done, total int64)
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.report != nil {
		p.report(p.done, p.total)
	}
	return n, err
}

// verifyFile checks the size and SHA-256 of path (an empty sum or zero size skips that check).
func verifyFile(path string, size int64, sum string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if size > 0 && n != size {
		return fmt.Errorf("%s: %w: %d bytes, want %d", path, ErrChecksum, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); sum != "" && !strings.EqualFold(got, sum) {
		return fmt.Errorf("%s: %w: sha256 %s, want %s", path, ErrChecksum, got, sum)
	}
	return nil
}

// ExtractSTL10 extracts the stl10_binary/*.bin and class_names.txt members of the STL-10
// archive (a .tar.gz) into dir/stl10_binary and returns that directory. Members are written
// under temporary names and renamed when complete; a truncated or corrupt archive is an error
// naming the archive and the member.
func ExtractSTL10(archive, dir string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", fmt.Errorf("loader: %w", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("loader: %s: not a gzip archive: %w", archive, err)
	}
	out := filepath.Join(dir, "stl10_binary")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("loader: %w", err)
	}
	tr := tar.NewReader(gz)
	found := 0
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("loader: %s: after %d members: %w: %v", archive, found, ErrTruncated, err)
		}
		name := filepath.Base(h.Name)
		if h.Typeflag != tar.TypeReg || (!strings.HasSuffix(name, ".bin") && name != "class_names.txt") {
			continue
		}
		dst := filepath.Join(out, name)
		tmp := dst + ".tmp"
		w, err := os.Create(tmp)
		if err != nil {
			return "", fmt.Errorf("loader: %w", err)
		}
		n, cerr := io.Copy(w, tr)
		if err := w.Close(); cerr == nil {
			cerr = err
		}
		if cerr == nil && n != h.Size {
			cerr = fmt.Errorf("%d of %d bytes", n, h.Size)
		}
		if cerr != nil {
			os.Remove(tmp)
			return "", fmt.Errorf("loader: %s: member %s: %w: %v", archive, h.Name, ErrTruncated, cerr)
		}
		if err := os.Rename(tmp, dst); err != nil {
			return "", fmt.Errorf("loader: %w", err)
		}
		found++
	}
	for _, want := range []string{"train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "unlabeled_X.bin"} {
		if _, err := os.Stat(filepath.Join(out, want)); err != nil {
			return "", fmt.Errorf("loader: %s: %w: no stl10_binary/%s in the archive", archive, ErrMissingShard, want)
		}
	}
	return out, nil
}
