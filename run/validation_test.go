package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

// TestValidationSubset: the validation's subset is all of the split (nil) for a limit of 0 or
// not below the split, else limit distinct indices in range, ascending, the same for the same
// seed and split, another for another seed or split.
func TestValidationSubset(t *testing.T) {
	for _, limit := range []int{0, 100, 150} {
		if s := ValidationSubset(100, limit, 7, "test"); s != nil {
			t.Errorf("limit %d of 100: %d indices, want nil (all)", limit, len(s))
		}
	}
	a := ValidationSubset(100, 30, 7, "test")
	if len(a) != 30 || !slices.IsSorted(a) || a[0] < 0 || a[29] >= 100 || len(slices.Compact(slices.Clone(a))) != 30 {
		t.Fatalf("subset of 30: %v", a)
	}
	if b := ValidationSubset(100, 30, 7, "test"); !slices.Equal(a, b) {
		t.Errorf("same seed, another subset: %v, %v", a, b)
	}
	for _, o := range [][]int{ValidationSubset(100, 30, 8, "test"), ValidationSubset(100, 30, 7, "validation")} {
		if slices.Equal(a, o) {
			t.Errorf("another seed or split drew the same subset %v", a)
		}
	}
}

// TestValidationSettings: a run.json written before val_every and val_limit existed reads as 1
// and 0 (validation on the whole test split after every epoch, what those runs did); negative
// values are refused naming the setting.
func TestValidationSettings(t *testing.T) {
	raw, _ := json.Marshal(DefaultConfig())
	var m map[string]any
	json.Unmarshal(raw, &m)
	delete(m, "val_every")
	delete(m, "val_limit")
	old, _ := json.Marshal(m)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), old, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadConfig(dir)
	if err != nil || c.ValEvery != 1 || c.ValLimit != 0 {
		t.Fatalf("run.json without val_every, val_limit: %d, %d, %v; want 1, 0", c.ValEvery, c.ValLimit, err)
	}
	if l := c.loop(""); l.SkipValidation || l.ValidateEvery != 1 {
		t.Errorf("the old run's loop: %+v", l)
	}
	for _, tc := range []struct {
		set  func(*Config)
		name string
	}{{func(c *Config) { c.ValEvery = -1 }, "val_every"}, {func(c *Config) { c.ValLimit = -5 }, "val_limit"}} {
		c := DefaultConfig()
		tc.set(&c)
		var se *setting.Error
		if err := c.Validate(); !errors.As(err, &se) || se.Name != tc.name || !strings.Contains(err.Error(), "want >= 0") {
			t.Errorf("%s negative: %v", tc.name, err)
		}
	}
}

// TestClusterValidation: two workers (in this process, on 127.0.0.1) validate after epoch 2
// only (--val-every 2) on a subset of 45 test examples (--val-limit 45: test batches of 24 and
// 21, shared 12 + 12 and 10 + 11), each worker held 2 s after each of its batches, so that the
// validation lasts 4 s against a cluster timeout of 3 s: both finish, since a worker waits at
// the sum of the figures only for the other's lag. The chief's validation line equals one
// process's validation of the same checkpoint on the same subset: accuracy and example count
// exactly, the loss within 1e-6 relative (float32 batch means against sums of shares). Were the
// validation the chief's alone, worker 1 would wait for it at the next step and time out.
func TestClusterValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("a 2-worker run held past its cluster timeout")
	}
	const timeout, hold = 3 * time.Second, 2 * time.Second
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", fashion(t, 80), 4
	cfg.ImageSize, cfg.Width, cfg.QueueSize, cfg.Epochs, cfg.StepsPerEpoch = 32, 8, 96, 2, 4
	cfg.UnlabelledBatch, cfg.LabelledBatch, cfg.CheckpointSecs, cfg.KeepCheckpoints = 16, 8, 0, 0
	cfg.ValEvery, cfg.ValLimit = 2, 45
	addrs := testutil.FreeAddrs(t, 2)
	dirs := []string{filepath.Join(t.TempDir(), "chief"), filepath.Join(t.TempDir(), "worker1")}
	trs := make([]*Training, 2)
	errs := make([]error, 2)
	held := make([][]string, 2)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &tfrun.Cluster{Workers: addrs, Task: w, Timeout: timeout}
			if trs[w], errs[w] = Create(dirs[w], cfg, Options{Cluster: cl}); errs[w] != nil {
				return
			}
			errs[w] = trs[w].Train(context.Background(), train.Hooks{OnValidationBatch: func(epoch, b int) {
				held[w] = append(held[w], fmt.Sprintf("epoch %d batch %d", epoch+1, b))
				time.Sleep(hold)
			}})
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if trs[w] != nil {
			defer trs[w].Close()
		}
		if err != nil {
			t.Fatalf("worker %d: %v", w, err)
		}
	}
	for w, h := range held {
		if !slices.Equal(h, []string{"epoch 2 batch 1", "epoch 2 batch 2"}) {
			t.Errorf("worker %d validated %v, want epoch 2's two batches", w, h)
		}
	}
	var vals []ValidationRecord
	for _, line := range strings.Split(strings.TrimSpace(string(must(os.ReadFile(filepath.Join(dirs[0], MetricsFile))))), "\n") {
		var r ValidationRecord
		if json.Unmarshal([]byte(line), &r) == nil && r.Type == "validation" {
			vals = append(vals, r)
		}
	}
	if len(vals) != 1 || vals[0].Epoch != 2 || vals[0].GlobalStep != 8 || vals[0].Examples != 45 {
		t.Fatalf("the chief's validation lines: %+v, want one after epoch 2 on 45 examples", vals)
	}
	if _, err := ReadConfig(dirs[1]); err == nil {
		t.Error("worker 1 wrote a run directory")
	}
	trs[0].Close() // its lock
	one, err := Resume(dirs[0], cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	want, err := one.Trainer.Validate(one.data())
	if err != nil {
		t.Fatal(err)
	}
	if want.Examples != 45 || want.Acc != vals[0].PAcc || math.Abs(want.Loss-vals[0].PLoss) > 1e-6*want.Loss {
		t.Errorf("two workers: %+v; one process on ckpt-8: %+v", vals[0], want)
	}
	t.Logf("validation held %s per batch on each worker, cluster timeout %s: two workers loss %.9g acc %.4f, one process loss %.9g acc %.4f",
		hold, timeout, vals[0].PLoss, vals[0].PAcc, want.Loss, want.Acc)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestClusterValidationSettingsAgree: a worker started with another val_limit (or val_every)
// than the chief is refused at start-up, naming the other worker: the sharded validation needs
// every worker at the same sum after the same epochs.
func TestClusterValidationSettingsAgree(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", fashion(t, 80), 4
	cfg.ImageSize, cfg.Width, cfg.QueueSize, cfg.Epochs, cfg.StepsPerEpoch = 32, 8, 96, 1, 4
	cfg.UnlabelledBatch, cfg.LabelledBatch = 16, 8
	addrs := testutil.FreeAddrs(t, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cfg
			c.ValLimit = 45 + w
			tr, err := Create(filepath.Join(t.TempDir(), "r"), c, Options{Cluster: &tfrun.Cluster{Workers: addrs, Task: w, Timeout: 20 * time.Second}})
			if err == nil {
				tr.Close()
			}
			errs[w] = err
		}()
	}
	wg.Wait()
	for w, err := range errs {
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("worker %d runs other settings", 1-w)) {
			t.Errorf("worker %d, the other with another val_limit: %v", w, err)
		}
	}
}
