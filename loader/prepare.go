package loader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/nnclr/nnclr/setting"
)

// KnownDatasets returns the datasets Prepare can write.
func KnownDatasets() []string { return []string{"stl10", "fashion_mnist"} }

// PrepareOptions configures Prepare. Setting names (for *setting.Error) are "source", "limit",
// "download_url" and "sha256".
type PrepareOptions struct {
	// Source is the STL-10 binary release (a directory holding train_X.bin, or its parent) or
	// the Fashion-MNIST IDX directory ("": FashionMNISTDir; for STL-10 an earlier download under
	// DATA_DIR/downloads, else a download).
	Source string
	// Limit imports at most that many examples per split of Fashion-MNIST (0: all).
	Limit int
	// DownloadURL and SHA256 replace the official STL-10 archive's address and checksum.
	DownloadURL, SHA256 string
	// DownloadProgress, when set, is told the bytes downloaded and the total.
	DownloadProgress func(done, total int64)
	// Writer configures the dataset writer (progress, overwrite, workers).
	Writer WriterOptions
}

// Prepare writes dataset (a name of KnownDatasets, optionally with :version) under dataDir in
// the tfds layout and opens it: Fashion-MNIST from its IDX files, STL-10 from its binary release
// or, when none is given or downloaded yet, from a resumable, checksum-verified download of the
// official archive to DATA_DIR/downloads (cancelled with ctx).
func Prepare(ctx context.Context, dataDir, dataset string, o PrepareOptions) (*Dataset, error) {
	name, _, _ := strings.Cut(dataset, ":")
	switch name {
	case "fashion_mnist":
		if err := ImportFashionMNIST(o.Source, dataDir, o.Limit, o.Writer); err != nil {
			return nil, err
		}
	case "stl10":
		if o.Limit != 0 {
			return nil, setting.Errorf("limit", o.Limit, "applies to fashion_mnist only; STL-10 is imported whole")
		}
		bin, err := stl10Binary(ctx, dataDir, o)
		if err != nil {
			return nil, err
		}
		if err := ImportSTL10(bin, dataDir, o.Writer); err != nil {
			return nil, err
		}
	default:
		return nil, setting.Errorf("dataset", dataset, "cannot be prepared (known datasets: %v)", KnownDatasets())
	}
	return Open(dataDir, name)
}

// stl10Binary finds the STL-10 binary release: o.Source, or an earlier download under
// DATA_DIR/downloads, or else downloads (resuming a partial download), verifies and extracts the
// official archive.
func stl10Binary(ctx context.Context, dataDir string, o PrepareOptions) (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "train_X.bin"))
		return err == nil
	}
	if o.Source != "" {
		for _, d := range []string{o.Source, filepath.Join(o.Source, "stl10_binary")} {
			if has(d) {
				return d, nil
			}
		}
		return "", setting.Errorf("source", o.Source, "no train_X.bin there or in its stl10_binary directory")
	}
	downloads := filepath.Join(dataDir, "downloads")
	if bin := filepath.Join(downloads, "stl10_binary"); has(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		return "", fmt.Errorf("loader: %w", err)
	}
	dl := DownloadOptions{URL: STL10URL, SHA256: STL10SHA256, Size: STL10Size, Progress: o.DownloadProgress}
	if o.DownloadURL != "" {
		dl.URL, dl.Size = o.DownloadURL, 0
	}
	if o.SHA256 != "" {
		dl.SHA256 = o.SHA256
	}
	archive := filepath.Join(downloads, "stl10_binary.tar.gz")
	if _, err := os.Stat(archive); err != nil {
		if err := Download(ctx, archive, dl); err != nil {
			return "", err
		}
	}
	return ExtractSTL10(archive, downloads)
}
