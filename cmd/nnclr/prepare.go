package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/nnclr/nnclr/loader"
)

// splitProgress shows one progress bar per split being written.
type splitProgress struct {
	w     io.Writer
	on    bool
	split string
	bar   *progressbar.ProgressBar
}

func (p *splitProgress) Progress(split string, done, total int) {
	if !p.on {
		return
	}
	if p.bar == nil || split != p.split {
		p.finish()
		p.split = split
		p.bar = newBar(p.w, int64(total), "writing "+split, 30, false)
	}
	p.bar.Set(done)
}

func (p *splitProgress) finish() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

func runPrepare(c Config, stdout, stderr io.Writer) error {
	dataDir := c.DataDir
	if dataDir == "" {
		dataDir = loader.DefaultDataDir()
	}
	show := !c.Quiet && isTerminal(stderr)
	prog := &splitProgress{w: stderr, on: show}
	defer prog.finish()
	opts := loader.WriterOptions{Progress: prog, Overwrite: c.Overwrite, Workers: c.Workers}
	name, _, _ := strings.Cut(c.Dataset, ":")
	switch name {
	case "fashion_mnist":
		src := c.Source
		if src == "" {
			src = loader.FashionMNISTDir
		}
		if err := loader.ImportFashionMNIST(src, dataDir, c.MaxExamples, opts); err != nil {
			return err
		}
	case "stl10":
		if c.MaxExamples != 0 {
			return &usageError{errors.New("--limit applies to fashion_mnist only; STL-10 is imported whole")}
		}
		bin, err := stl10Binary(c, dataDir, stderr, show)
		if err != nil {
			return err
		}
		if err := loader.ImportSTL10(bin, dataDir, opts); err != nil {
			return err
		}
	default:
		return &usageError{fmt.Errorf("--mode prepare: unknown dataset %q (known datasets: %v)", c.Dataset, knownDatasets)}
	}
	prog.finish()
	ds, err := loader.Open(dataDir, name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s\n", ds.Dir)
	for _, s := range ds.SplitNames() {
		sp, err := ds.Split(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-10s %7d examples\n", s, sp.NumExamples())
	}
	return nil
}

// stl10Binary finds the STL-10 binary release: --source, or an earlier download under
// DATA_DIR/downloads, or else downloads (resuming a partial download), verifies and extracts the
// official archive.
func stl10Binary(c Config, dataDir string, stderr io.Writer, show bool) (string, error) {
	has := func(dir string) bool {
		_, err := os.Stat(filepath.Join(dir, "train_X.bin"))
		return err == nil
	}
	if c.Source != "" {
		for _, d := range []string{c.Source, filepath.Join(c.Source, "stl10_binary")} {
			if has(d) {
				return d, nil
			}
		}
		return "", fmt.Errorf("--source %s: no train_X.bin there or in its stl10_binary directory", c.Source)
	}
	downloads := filepath.Join(dataDir, "downloads")
	if bin := filepath.Join(downloads, "stl10_binary"); has(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(downloads, 0o755); err != nil {
		return "", err
	}
	opts := loader.DownloadOptions{URL: loader.STL10URL, SHA256: loader.STL10SHA256, Size: loader.STL10Size}
	if c.DownloadURL != "" {
		opts.URL, opts.Size = c.DownloadURL, 0
	}
	if c.SHA256 != "" {
		opts.SHA256 = c.SHA256
	}
	var bar *progressbar.ProgressBar
	if show {
		opts.Progress = func(done, total int64) {
			if bar == nil {
				bar = newBar(stderr, total, "downloading STL-10", 30, true)
			}
			bar.Set64(done)
		}
	}
	archive := filepath.Join(downloads, "stl10_binary.tar.gz")
	if _, err := os.Stat(archive); err != nil {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
		err := loader.Download(ctx, archive, opts)
		stop()
		if bar != nil {
			bar.Finish()
		}
		if err != nil {
			return "", err
		}
	}
	return loader.ExtractSTL10(archive, downloads)
}
