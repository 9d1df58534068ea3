package loader

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nnclr/nnclr/setting"
)

// KnownDatasets returns the datasets Prepare can write.
func KnownDatasets() []string { return []string{"stl10", "fashion_mnist"} }

// PrepareOptions configures Prepare. Setting names (for *setting.Error) are "source", "limit",
// "download_url", "sha256" and "overwrite".
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
	// Writer configures the dataset writer (progress, workers). With Writer.Overwrite a version
	// already prepared is written again; without it Prepare leaves it as it is.
	Writer WriterOptions
	// SourceFormat "folder" reads Source as an image folder (ImportFolder) even for a name of
	// KnownDatasets; "" does so for any other name.
	SourceFormat string
	// Folder configures ImportFolder (its Source and Writer are taken from Source and Writer).
	Folder FolderOptions
}

// IsFolder reports whether Prepare reads o.Source as an image folder for dataset: with
// SourceFormat "folder", or for a name that is not one of KnownDatasets.
func IsFolder(dataset string, o PrepareOptions) bool {
	if o.SourceFormat == "folder" {
		return true
	}
	name, _, _ := strings.Cut(dataset, ":")
	return !slices.Contains(KnownDatasets(), name)
}

// FolderOptions returns o.Folder with Source and Writer filled from o.
func (o PrepareOptions) FolderOptions() FolderOptions {
	f := o.Folder
	f.Source, f.Writer = o.Source, o.Writer
	return f
}

// specOf returns the spec Prepare writes for dataset (name or name:version).
func specOf(dataset string) (DatasetSpec, error) {
	name, version, _ := strings.Cut(dataset, ":")
	var spec DatasetSpec
	switch name {
	case "fashion_mnist":
		spec = FashionMNISTSpec()
	case "stl10":
		spec = STL10Spec()
	default:
		return spec, setting.Errorf("dataset", dataset, "cannot be prepared (known datasets: %v)", KnownDatasets())
	}
	if version != "" && version != spec.Version {
		return spec, setting.Errorf("dataset", dataset, "nnclr prepares %s version %s only", name, spec.Version)
	}
	return spec, nil
}

// Prepare writes dataset (a name of KnownDatasets, optionally with :version) under dataDir in
// the tfds layout and opens it: Fashion-MNIST from its IDX files, STL-10 from its binary release
// or, when none is given or downloaded yet, from a resumable, checksum-verified download of the
// official archive to DATA_DIR/downloads (cancelled with ctx). Like tfds's download_and_prepare,
// a version that is already complete is left as it is (wrote is false) unless
// o.Writer.Overwrite asks to write it again.
//
// For an image folder (IsFolder), Prepare is ImportFolder: the same folder and options again
// leave the dataset as it is, others are refused (ErrSourceChanged) unless o.Writer.Overwrite.
func Prepare(ctx context.Context, dataDir, dataset string, o PrepareOptions) (ds *Dataset, wrote bool, err error) {
	if o.SourceFormat != "" && o.SourceFormat != "folder" {
		return nil, false, setting.Errorf("source_format", o.SourceFormat, "want folder, or nothing for the dataset's own format")
	}
	if IsFolder(dataset, o) && (o.Source != "" || o.SourceFormat == "folder") {
		if dataDir == "" {
			dataDir = DefaultDataDir()
		}
		rep, err := ImportFolder(ctx, dataDir, dataset, o.FolderOptions())
		if err != nil {
			return nil, false, err
		}
		ds, err := OpenDir(rep.Dir)
		return ds, err == nil && !rep.Unchanged, err
	}
	spec, err := specOf(dataset)
	if err != nil {
		return nil, false, err
	}
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	versioned := spec.Name + ":" + spec.Version
	if !o.Writer.Overwrite {
		if ds, err := Open(dataDir, versioned); err == nil {
			return ds, false, nil
		}
	}
	switch spec.Name {
	case "fashion_mnist":
		if err := ImportFashionMNIST(o.Source, dataDir, o.Limit, o.Writer); err != nil {
			return nil, false, err
		}
	case "stl10":
		if o.Limit != 0 {
			return nil, false, setting.Errorf("limit", o.Limit, "applies to fashion_mnist only; STL-10 is imported whole")
		}
		bin, err := stl10Binary(ctx, dataDir, o)
		if err != nil {
			return nil, false, err
		}
		if err := ImportSTL10(bin, dataDir, o.Writer); err != nil {
			return nil, false, err
		}
	}
	ds, err = Open(dataDir, versioned)
	return ds, err == nil, err
}

// LoadOptions configures Load.
type LoadOptions struct {
	// Prepare writes a known dataset that is not in the data dir yet (tfds.load's
	// download=True); without it a missing dataset is an error (ErrNotFound).
	Prepare bool
	// PrepareOptions configures the preparation.
	PrepareOptions PrepareOptions
}

// Load opens dataset under dataDir ("": DefaultDataDir()) and, when it is not there and
// o.Prepare is set, prepares it first if it is one of KnownDatasets (as tfds.load does with
// download=True) or an image folder is given (o.PrepareOptions.Source, see IsFolder). A dataset that is not there and not prepared is an error wrapping ErrNotFound
// that lists the known datasets.
func Load(ctx context.Context, dataDir, dataset string, o LoadOptions) (*Dataset, error) {
	ds, err := Open(dataDir, dataset)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return ds, err
	}
	folder := IsFolder(dataset, o.PrepareOptions) && o.PrepareOptions.Source != ""
	if _, serr := specOf(dataset); !o.Prepare || (serr != nil && !folder) {
		return nil, fmt.Errorf("%w (known datasets: %v)", err, KnownDatasets())
	}
	ds, _, err = Prepare(ctx, dataDir, dataset, o.PrepareOptions)
	return ds, err
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
			if errors.Is(err, ErrChecksum) || errors.Is(err, ErrTruncated) || errors.Is(err, context.Canceled) {
				return "", err
			}
			return "", &setting.Error{Name: "source", Err: err, Reason: fmt.Sprintf(
				"STL-10 is not in %s and its download failed (%v): put the binary release (the stl10_binary directory with train_X.bin) on this machine and give its directory as the source", dataDir, err)}
		}
	}
	return ExtractSTL10(archive, downloads)
}
