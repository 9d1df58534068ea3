package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/stl10fake"
	"github.com/nnclr/nnclr/internal/testpy"
	"github.com/nnclr/nnclr/loader"
)

// TestPrepareFashionMNISTReadByTFDS: what --mode prepare writes from the Debian package's
// Fashion-MNIST, the real tfds.load reads back identically (pixels and labels).
func TestPrepareFashionMNISTReadByTFDS(t *testing.T) {
	dataDir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{"--mode", "prepare", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--limit", "64", "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "train") || !strings.Contains(out.String(), "64 examples") {
		t.Fatalf("prepare output:\n%s", out.String())
	}
	dump := t.TempDir()
	testpy.Run(t, "../../loader/pyref/tfds_ref.py", "read", "--data-dir", dataDir, "--name", "fashion_mnist",
		"--splits", "train,test", "--via", "load", "--dump", dump)
	if _, err := os.Stat(filepath.Join(dump, "meta.json")); err != nil {
		dump = filepath.Join(dump, "load")
	}
	ds, err := loader.Open(dataDir, "fashion_mnist")
	if err != nil {
		t.Fatal(err)
	}
	for _, split := range []string{"train", "test"} {
		s, err := ds.Split(split)
		if err != nil {
			t.Fatal(err)
		}
		r, err := s.Open()
		if err != nil {
			t.Fatal(err)
		}
		imgs, labels, err := r.ReadAll()
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(dump, split+".images"))
		if err != nil {
			t.Fatal(err)
		}
		if len(labels) != 64 || !bytes.Equal(imgs, want) {
			t.Fatalf("%s: tfds read %d bytes, Go %d bytes of %d images; equal=%v", split, len(want), len(imgs), len(labels), bytes.Equal(imgs, want))
		}
		rawLabels, err := os.ReadFile(filepath.Join(dump, split+".labels"))
		if err != nil {
			t.Fatal(err)
		}
		tl := make([]int64, len(rawLabels)/8)
		binary.Decode(rawLabels, binary.LittleEndian, tl)
		for i := range tl {
			if tl[i] != labels[i] {
				t.Fatalf("%s: label %d: tfds %d, Go %d", split, i, tl[i], labels[i])
			}
		}
	}
	var meta map[string]any
	raw, _ := os.ReadFile(filepath.Join(dump, "meta.json"))
	if json.Unmarshal(raw, &meta) != nil {
		t.Fatalf("tfds dump meta: %s", raw)
	}
}

// TestPrepareSTL10Download: with no STL-10 on disk, prepare downloads the archive from a server
// on 127.0.0.1, verifies its checksum, extracts it and writes the tfds layout; a second prepare
// reuses the download. A wrong checksum and a truncated archive fail with clear errors.
func TestPrepareSTL10Download(t *testing.T) {
	archive, err := stl10fake.Archive(5, 1)
	if err != nil {
		t.Fatal(err)
	}
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		body := archive
		if strings.HasSuffix(r.URL.Path, "/truncated.tar.gz") {
			body = archive[:len(archive)/2]
		}
		http.ServeContent(w, r, "a.tar.gz", time.Unix(0, 0), bytes.NewReader(body))
	}))
	defer srv.Close()
	url := srv.URL // httptest listens on 127.0.0.1
	dataDir := t.TempDir()
	args := []string{"--mode", "prepare", "--dataset", "stl10", "--data-dir", dataDir, "--quiet",
		"--download-url", url + "/stl10_binary.tar.gz", "--sha256", shaHex(archive)}
	var out bytes.Buffer
	if err := run(args, &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	ds, err := loader.Open(dataDir, "stl10")
	if err != nil {
		t.Fatal(err)
	}
	for split, n := range map[string]int{"train": 5, "test": 5, "unlabelled": 10} {
		s, err := ds.Split(split)
		if err != nil || s.NumExamples() != n {
			t.Fatalf("split %s: %v examples, err %v; want %d", split, s, err, n)
		}
	}
	if requests.Load() != 1 {
		t.Fatalf("%d requests", requests.Load())
	}
	if err := run(append(args, "--overwrite"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 1 {
		t.Fatalf("the second prepare downloaded again (%d requests)", requests.Load())
	}

	bad := []string{"--mode", "prepare", "--dataset", "stl10", "--data-dir", t.TempDir(), "--quiet",
		"--download-url", url + "/stl10_binary.tar.gz", "--sha256", strings.Repeat("ab", 32)}
	if err := run(bad, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, loader.ErrChecksum) {
		t.Fatalf("wrong checksum: %v", err)
	}
	half := archive[:len(archive)/2]
	trunc := []string{"--mode", "prepare", "--dataset", "stl10", "--data-dir", t.TempDir(), "--quiet",
		"--download-url", url + "/truncated.tar.gz", "--sha256", shaHex(half)}
	if err := run(trunc, &bytes.Buffer{}, &bytes.Buffer{}); !errors.Is(err, loader.ErrTruncated) || !strings.Contains(err.Error(), "stl10_binary.tar.gz") {
		t.Fatalf("truncated archive: %v", err)
	}
	if err := run([]string{"--mode", "prepare", "--dataset", "cifar10", "--data-dir", t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{}); err == nil ||
		!strings.Contains(err.Error(), "known datasets") || exitCode(err) != 2 {
		t.Fatalf("unknown dataset: %v", err)
	}
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestPrepareIsIdempotent: preparing a version already complete leaves it alone and says so
// (exit 0); --overwrite writes it again.
func TestPrepareIsIdempotent(t *testing.T) {
	dataDir := t.TempDir()
	args := []string{"--mode", "prepare", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--limit", "16", "--quiet"}
	if err := run(args, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	info := filepath.Join(dataDir, "fashion_mnist", "3.0.1", "dataset_info.json")
	before, err := os.Stat(info)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(args, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "is already prepared (--overwrite writes it again)") {
		t.Fatalf("second prepare: %v\n%s", err, out.String())
	}
	if after, _ := os.Stat(info); !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("the second prepare rewrote the dataset")
	}
	out.Reset()
	if err := run(append(args, "--overwrite"), &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "wrote ") {
		t.Fatalf("prepare --overwrite: %v\n%s", err, out.String())
	}
}

// TestModesPrepareMissingData: pretrain, embed and evaluate prepare a known dataset missing from
// the data dir first (tfds.load's download=True), unless --no-prepare; a dataset that cannot be
// prepared says what to do in one line naming the flag.
func TestModesPrepareMissingData(t *testing.T) {
	dataDir := t.TempDir()
	runDir := filepath.Join(t.TempDir(), "run")
	var out bytes.Buffer
	err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--no-prepare", "--run-dir", runDir, "--quiet"}, &out, &bytes.Buffer{})
	if !errors.Is(err, loader.ErrNotFound) || !strings.Contains(err.Error(), "drop --no-prepare") {
		t.Fatalf("--no-prepare on a missing dataset: %v", err)
	}
	if err := run([]string{"--mode", "pretrain", "--dataset", "fashion_mnist", "--data-dir", dataDir, "--limit", "40", "--run-dir", runDir,
		"--image-size", "32", "--width", "8", "--queue-size", "80", "--epochs", "1", "--steps-per-epoch", "1", "--quiet"}, &out, &bytes.Buffer{}); err != nil {
		t.Fatalf("pretrain on a missing dataset: %v\n%s", err, out.String())
	}
	if ds, err := loader.Open(dataDir, "fashion_mnist"); err != nil || ds.Info.Splits[0].NumExamples() != 40 {
		t.Fatalf("pretrain did not prepare fashion_mnist: %v", err)
	}
	// embed prepares too (into another data dir).
	other := t.TempDir()
	if err := run([]string{"--mode", "embed", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", other, "--limit", "24",
		"--out", filepath.Join(t.TempDir(), "e.npz"), "--quiet"}, &out, &bytes.Buffer{}); err != nil || !strings.Contains(out.String(), "embedded 24 images") {
		t.Fatalf("embed on a missing dataset: %v\n%s", err, out.String())
	}

	// STL-10 with no release on disk and no network (a closed port): one line naming --source.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/stl10_binary.tar.gz"
	srv.Close()
	err = run([]string{"--mode", "evaluate", "--model", "unused", "--dataset", "stl10", "--data-dir", t.TempDir(), "--download-url", url, "--quiet"},
		&bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.HasPrefix(err.Error(), "--source: STL-10 is not in ") || !strings.Contains(err.Error(), "stl10_binary directory with train_X.bin") ||
		strings.Count(err.Error(), "\n") != 0 {
		t.Fatalf("STL-10 missing offline: %v", err)
	}
}
