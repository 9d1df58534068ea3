package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/internal/kerasfixture"
	"github.com/nnclr/nnclr/internal/stl10fake"
	"github.com/nnclr/nnclr/loader"
)

func TestEvaluateRunAndModel(t *testing.T) {
	dataDir, runDir := smallRun(t)
	out := filepath.Join(t.TempDir(), "eval.json")
	var o bytes.Buffer
	before, _ := filepath.Glob(filepath.Join(runDir, "events.out.tfevents.*"))
	if err := run([]string{"--mode", "evaluate", "--run-dir", runDir, "--dataset", "fashion_mnist", "--data-dir", dataDir,
		"--out", out, "--linear-epochs", "5"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"linear_top1", "linear_top5", "knn_top1", "knn_top5", "k", "temperature", "linear_epochs"} {
		if _, ok := res[k]; !ok {
			t.Errorf("result lacks %s: %s", k, raw)
		}
	}
	if res["train_count"] != 80.0 || res["feature_dim"] != 8.0 || res["classes"] != 10.0 {
		t.Errorf("result: %s", raw)
	}
	if !strings.Contains(o.String(), "linear top-1") || !strings.Contains(o.String(), "kNN    top-1") {
		t.Errorf("printed:\n%s", o.String())
	}
	after, _ := filepath.Glob(filepath.Join(runDir, "events.out.tfevents.*"))
	if len(after) != len(before)+1 {
		t.Errorf("evaluate wrote %d event files", len(after)-len(before))
	}

	// A Python-trained SavedModel, kNN only; k larger than the train set is refused.
	fx := kerasfixture.Get(t)
	o.Reset()
	if err := run([]string{"--mode", "evaluate", "--model", filepath.Join(fx.Dir, "export"), "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--protocols", "knn", "--k", "5"}, &o, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.String(), "kNN    top-1") || strings.Contains(o.String(), "linear") {
		t.Errorf("printed:\n%s", o.String())
	}
	err = run([]string{"--mode", "evaluate", "--model", filepath.Join(fx.Dir, "export"), "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--protocols", "knn", "--k", "11"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "k = 11 exceeds the 10 train examples") {
		t.Errorf("k > train: %v", err)
	}
	err = run([]string{"--mode", "evaluate", "--model", filepath.Join(fx.Dir, "export"), "--dataset", "fixture", "--data-dir", fx.DataDir,
		"--protocols", "svm"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || exitCode(err) != 2 {
		t.Errorf("unknown protocol: %v", err)
	}
}

func TestEvaluateUnlabelledSplit(t *testing.T) {
	archive, err := stl10fake.Archive(3, 2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.tar.gz")
	os.WriteFile(p, archive, 0o644)
	bin, err := loader.ExtractSTL10(p, dir)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, "tfds")
	if err := loader.ImportSTL10(bin, dataDir, loader.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	err = run([]string{"--mode", "evaluate", "--model", filepath.Join(kerasfixture.Get(t).Dir, "export"), "--dataset", "stl10",
		"--data-dir", dataDir, "--train-split", "unlabelled", "--protocols", "knn", "--k", "1"}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "split unlabelled of stl10 has no labels") {
		t.Fatalf("unlabelled split: %v", err)
	}
}
