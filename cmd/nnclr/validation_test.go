package main

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rundir "github.com/nnclr/nnclr/run"
)

// validationLines returns the validation lines of runDir's metrics.jsonl.
func validationLines(t *testing.T, runDir string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range readJSONL(t, filepath.Join(runDir, rundir.MetricsFile)) {
		if r["type"] == "validation" {
			out = append(out, r)
		}
	}
	return out
}

// dirFiles returns every file of dir (relative path → contents).
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestValidationFlags: --val-every 2 --val-limit 50 on a test split of 120 are recorded in
// run.json and obeyed: over 3 epochs one validation line (epoch 2, 50 examples) and one epoch
// line; resumed to 4 epochs, a second line at epoch 4 whose figures equal, like epoch 2's, those
// of an uninterrupted 4-epoch run of the same seed (the same subset on every attempt). A resume
// may change both (--val-every 1 --val-limit 0: epoch 5 on all 120). Negative values are refused
// with exit status 2 naming the flag, and the run directory is left as it was.
func TestValidationFlags(t *testing.T) {
	dataDir := smallFashion(t, 120)
	dir, whole := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	val := []string{"--val-every", "2", "--val-limit", "50"}
	var out bytes.Buffer
	if err := run(clusterArgs(dataDir, dir, 3, val...), &out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "validation after every 2 epochs on 50 of the 120 test images (seeded)") ||
		!strings.Contains(out.String(), "epoch 2/3: val_p_loss") || strings.Contains(out.String(), "epoch 1/3:") || strings.Contains(out.String(), "epoch 3/3:") {
		t.Errorf("output:\n%s", out.String())
	}
	if c, err := rundir.ReadConfig(dir); err != nil || c.ValEvery != 2 || c.ValLimit != 50 {
		t.Fatalf("run.json: val_every %d, val_limit %d, %v", c.ValEvery, c.ValLimit, err)
	}
	if err := run(append(clusterArgs(dataDir, dir, 4), "--resume"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := run(clusterArgs(dataDir, whole, 4, val...), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got, want := validationLines(t, dir), validationLines(t, whole)
	if len(got) != 2 || len(want) != 2 {
		t.Fatalf("validation lines: resumed run %v, uninterrupted %v; want epochs 2 and 4", got, want)
	}
	for i, r := range got {
		w := want[i]
		if r["epoch"] != float64(2*(i+1)) || r["examples"] != 50.0 || r["val_p_loss"] != w["val_p_loss"] || r["val_p_acc"] != w["val_p_acc"] {
			t.Errorf("validation %d: resumed %v, uninterrupted %v", i, r, w)
		}
	}

	before, parent := dirFiles(t, dir), t.TempDir()
	for _, bad := range [][]string{{"--val-every", "-1"}, {"--val-limit", "-3"}} {
		for _, d := range []string{dir, filepath.Join(parent, "new")} {
			args := append(clusterArgs(dataDir, d, 5), bad...)
			if d == dir {
				args = append(args, "--resume")
			}
			err := run(args, &bytes.Buffer{}, &bytes.Buffer{})
			if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), bad[0]+" "+bad[1]+": want >= 0") {
				t.Errorf("%v: %v (exit %d)", bad, err, exitCode(err))
			}
		}
	}
	after := dirFiles(t, dir)
	for name, b := range before {
		if after[name] != b {
			t.Errorf("a refused flag changed %s", name)
		}
	}
	if len(after) != len(before) {
		t.Errorf("a refused flag changed the files: %v", slices.Sorted(maps.Keys(after)))
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("a refused new run left %d entries", len(entries))
	}

	if err := run(append(clusterArgs(dataDir, dir, 5), "--resume", "--val-every", "1", "--val-limit", "0"), &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	got = validationLines(t, dir)
	if c, _ := rundir.ReadConfig(dir); len(got) != 3 || got[2]["epoch"] != 5.0 || got[2]["examples"] != 120.0 || c.ValEvery != 1 || c.ValLimit != 0 {
		t.Errorf("resumed with --val-every 1 --val-limit 0: %v; run.json %d, %d", got, c.ValEvery, c.ValLimit)
	}
}
