package loader

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// copyTree copies directory src to dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestOpenTFDSWritten(t *testing.T) {
	tests := []struct {
		name   string
		counts map[string]int
		shape  Shape
		names  bool
	}{
		{"tiny", map[string]int{"train": 5, "test": 3, "unlabelled": 4}, Shape{8, 8, 3}, false},
		{"tiny:1.0.0", map[string]int{"train": 5, "test": 3, "unlabelled": 4}, Shape{8, 8, 3}, false},
		{"tinygray", map[string]int{"train": 4, "test": 2}, Shape{8, 8, 1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Open("testdata/tfds", tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if ds.Features.Image.Shape != tc.shape || ds.Features.Label.NumClasses != 10 {
				t.Fatalf("features %+v", ds.Features)
			}
			if tc.names != (len(ds.Features.Label.Names) == 10) {
				t.Errorf("label names %v", ds.Features.Label.Names)
			}
			base, _, _ := strings.Cut(tc.name, ":")
			dump := loadDump(t, filepath.Join("testdata/tfds", base+".expected"))
			if len(ds.SplitNames()) != len(tc.counts) {
				t.Errorf("splits %v", ds.SplitNames())
			}
			for split, n := range tc.counts {
				s, err := ds.Split(split)
				if err != nil {
					t.Fatal(err)
				}
				if s.NumExamples() != n {
					t.Errorf("%s: %d examples, want %d", split, s.NumExamples(), n)
				}
				r, err := s.Open()
				if err != nil {
					t.Fatal(err)
				}
				images, labels, err := r.ReadAll()
				r.Close()
				r.Close() // idempotent
				if err != nil {
					t.Fatal(err)
				}
				wantImages, wantLabels, _ := dump.split(t, split)
				if !bytes.Equal(images, wantImages) {
					t.Errorf("%s: images differ from what tfds read", split)
				}
				for i := range wantLabels {
					if labels[i] != wantLabels[i] {
						t.Errorf("%s: label %d = %d, want %d", split, i, labels[i], wantLabels[i])
					}
					if split == "unlabelled" && labels[i] != -1 {
						t.Errorf("unlabelled label %d", labels[i])
					}
				}
			}
		})
	}
}

func TestOpenLatestVersion(t *testing.T) {
	dir := t.TempDir()
	for _, v := range []string{"1.0.0", "1.10.0", "1.2.0"} {
		copyTree(t, "testdata/tfds/tiny/1.0.0", filepath.Join(dir, "tiny", v))
	}
	os.MkdirAll(filepath.Join(dir, "tiny", "2.0.0"), 0o755) // no dataset_info.json: ignored
	os.MkdirAll(filepath.Join(dir, "tiny", "9.9"), 0o755)   // not a version
	ds, err := Open(dir, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(ds.Dir) != "1.10.0" {
		t.Fatalf("opened %s, want version 1.10.0", ds.Dir)
	}
	t.Setenv("TFDS_DATA_DIR", dir)
	if DefaultDataDir() != dir {
		t.Fatalf("DefaultDataDir() = %s with TFDS_DATA_DIR=%s", DefaultDataDir(), dir)
	}
	if ds, err := Open("", "tiny:1.2.0"); err != nil || filepath.Base(ds.Dir) != "1.2.0" {
		t.Fatalf("Open via TFDS_DATA_DIR: %v", err)
	}
	t.Setenv("TFDS_DATA_DIR", "")
	t.Setenv("HOME", "/home/someone")
	if got := DefaultDataDir(); got != "/home/someone/tensorflow_datasets" {
		t.Fatalf("DefaultDataDir() = %s", got)
	}
}

// TestBadDatasets checks that each broken dataset gives an error naming the file and, for
// record-level problems, the record index and offset; never a panic.
func TestBadDatasets(t *testing.T) {
	tests := []struct {
		name, split string
		sentinel    error
		contains    []string
		record      int // record index for record-level errors, -1 otherwise
	}{
		{"escape", "train", ErrPathEscape, []string{"dataset_info.json", "../../../"}, -1},
		{"missingshard", "train", ErrMissingShard, []string{"missingshard-train.tfrecord-00000-of-00001", `"train"`}, -1},
		{"tiny", "validation", ErrUnknownSplit, []string{`"validation"`, "train, test, unlabelled"}, -1},
		{"badpng", "train", ErrBadImage, []string{"badpng-train.tfrecord-00000-of-00001", "record 1 (offset "}, 1},
		{"wrongshape", "train", ErrShape, []string{"wrongshape-train.tfrecord-00000-of-00001", "record 2 (offset ", "7x8", "8x8x3"}, 2},
		{"nope", "train", ErrNotFound, []string{"nope"}, -1},
		{"tiny:9.9.9", "train", ErrNotFound, []string{"9.9.9"}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/"+tc.split, func(t *testing.T) {
			err := readSplit("testdata/tfds", tc.name, tc.split)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
			var re *RecordError
			if errors.As(err, &re) != (tc.record >= 0) || (re != nil && re.Index != tc.record) {
				t.Errorf("error %q: want record %d", err, tc.record)
			}
		})
	}
}

func readSplit(dataDir, name, split string) error {
	ds, err := Open(dataDir, name)
	if err != nil {
		return err
	}
	s, err := ds.Split(split)
	if err != nil {
		return err
	}
	r, err := s.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	_, _, err = r.ReadAll()
	return err
}

func TestBadDatasetEdits(t *testing.T) {
	shard := "tiny/1.0.0/tiny-train.tfrecord-00000-of-00001"
	tests := []struct {
		name     string
		edit     func(t *testing.T, dir string)
		sentinel error
		contains []string
	}{
		{"truncated shard", func(t *testing.T, dir string) {
			p := filepath.Join(dir, shard)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-3], 0o644)
		}, ErrTruncated, []string{"tiny-train.tfrecord-00000-of-00001", "record 4 (offset "}},
		{"data crc", func(t *testing.T, dir string) {
			p := filepath.Join(dir, shard)
			b, _ := os.ReadFile(p)
			b[len(b)-10] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, ErrCorruptRecord, []string{"tiny-train.tfrecord-00000-of-00001", "record 4 (offset ", "data crc"}},
		{"length crc", func(t *testing.T, dir string) {
			p := filepath.Join(dir, shard)
			b, _ := os.ReadFile(p)
			b[9] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}, ErrCorruptRecord, []string{"tiny-train.tfrecord-00000-of-00001", "record 0 (offset 0)", "length crc"}},
		{"shard length mismatch", func(t *testing.T, dir string) {
			editInfo(t, filepath.Join(dir, "tiny/1.0.0"), func(info map[string]any) {
				info["splits"].([]any)[0].(map[string]any)["shardLengths"] = []string{"6"}
			})
		}, ErrBadInfo, []string{"tiny-train.tfrecord-00000-of-00001", "5 records", "says 6"}},
		{"array_record", func(t *testing.T, dir string) {
			editInfo(t, filepath.Join(dir, "tiny/1.0.0"), func(info map[string]any) { info["fileFormat"] = "array_record" })
		}, ErrBadInfo, []string{"array_record"}},
		{"absolute template", func(t *testing.T, dir string) {
			editInfo(t, filepath.Join(dir, "tiny/1.0.0"), func(info map[string]any) {
				info["splits"].([]any)[0].(map[string]any)["filepathTemplate"] = "/etc/{SPLIT}"
			})
		}, ErrPathEscape, []string{"/etc/train"}},
		{"bad features", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "tiny/1.0.0/features.json"), []byte(`{"featuresDict":{"features":{}}}`), 0o644)
		}, ErrBadInfo, []string{"features.json", `"image"`}},
		{"bad info json", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "tiny/1.0.0/dataset_info.json"), []byte(`{"splits": [`), 0o644)
		}, ErrBadInfo, []string{"dataset_info.json"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, "testdata/tfds/tiny", filepath.Join(dir, "tiny"))
			tc.edit(t, dir)
			err := readSplit(dir, "tiny", "train")
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("got %v, want %v", err, tc.sentinel)
			}
			for _, s := range tc.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func editInfo(t *testing.T, dir string, fn func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, "dataset_info.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(b, &info); err != nil {
		t.Fatal(err)
	}
	fn(info)
	b, _ = json.Marshal(info)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestShardPath(t *testing.T) {
	tests := []struct {
		template   string
		index, num int
		want       string
		sentinel   error
	}{
		{"", 0, 1, "stl10-train.tfrecord-00000-of-00001", nil},
		{DefaultFilepathTemplate, 12, 100, "stl10-train.tfrecord-00012-of-00100", nil},
		{"", 3, 123456, "stl10-train.tfrecord-000003-of-123456", nil},
		{"{SPLIT}/data.{FILEFORMAT}-{SHARD_INDEX}", 2, 4, "train/data.tfrecord-00002", nil},
		{"{DATASET}-{SPLIT}.{FILEFORMAT}@{NUM_SHARDS}", 0, 3, "stl10-train.tfrecord@00003", nil},
		{"../{SPLIT}", 0, 1, "", ErrPathEscape},
		{"a/../../{SPLIT}", 0, 1, "", ErrPathEscape},
		{"/tmp/{SPLIT}", 0, 1, "", ErrPathEscape},
		{"..", 0, 1, "", ErrPathEscape},
		{"{SPLIT}-{SHARD}", 0, 1, "", ErrBadInfo},
		{"{SPLIT", 0, 1, "", ErrBadInfo},
	}
	for _, tc := range tests {
		t.Run(tc.template, func(t *testing.T) {
			got, err := ShardPath(tc.template, "stl10", "train", "tfrecord", tc.index, tc.num)
			if tc.sentinel != nil {
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("got %q, %v; want %v", got, err, tc.sentinel)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzParseMetadata feeds arbitrary JSON to the dataset_info.json and features.json parsers and
// the shard path templating: no panic, errors wrap ErrBadInfo or ErrPathEscape, and any shard
// path accepted stays inside the dataset directory.
func FuzzParseMetadata(f *testing.F) {
	for _, p := range []string{"testdata/tfds/tiny/1.0.0", "testdata/tfds/escape/1.0.0", "testdata/tfds/tinygray/1.0.0"} {
		info, err := os.ReadFile(filepath.Join(p, "dataset_info.json"))
		if err != nil {
			f.Fatal(err)
		}
		feats, err := os.ReadFile(filepath.Join(p, "features.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(info, feats)
	}
	f.Fuzz(func(t *testing.T, infoJSON, featsJSON []byte) {
		dir := "/nonexistent/fuzz/1.0.0"
		info, err := parseDatasetInfo(infoJSON, "dataset_info.json")
		if err != nil {
			if !errors.Is(err, ErrBadInfo) {
				t.Fatalf("error not ErrBadInfo: %v", err)
			}
			return
		}
		feats, err := parseFeatures(featsJSON)
		if err != nil {
			if !errors.Is(err, ErrBadInfo) {
				t.Fatalf("error not ErrBadInfo: %v", err)
			}
			return
		}
		ds := &Dataset{Dir: dir, Info: info, Features: feats}
		for i, si := range ds.Info.Splits {
			for k := range si.ShardLengths {
				rel, err := ShardPath(si.FilepathTemplate, info.Name, si.Name, "tfrecord", k, len(si.ShardLengths))
				if err != nil {
					if !errors.Is(err, ErrBadInfo) && !errors.Is(err, ErrPathEscape) {
						t.Fatalf("unexpected error: %v", err)
					}
					continue
				}
				p := filepath.Join(dir, rel)
				if r, err := filepath.Rel(dir, p); err != nil || r == ".." || strings.HasPrefix(r, "../") {
					t.Fatalf("split %d shard %d: %s outside %s", i, k, p, dir)
				}
			}
			if first := slices.Index(ds.SplitNames(), si.Name) == i; !first || len(si.ShardLengths) == 0 {
				continue
			}
			if _, err := ds.Split(si.Name); err == nil {
				t.Fatal("split of a dataset whose shards do not exist opened")
			}
		}
	})
}
