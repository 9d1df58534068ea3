package run

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nnclr/nnclr/internal/testutil"
	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrun"
	"github.com/nnclr/nnclr/train"
)

func TestParseTFConfig(t *testing.T) {
	for _, c := range []struct {
		json    string
		workers []string
		task    int
		want    string // error substring, "" for success
	}{
		{`{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}`, []string{"a:1", "b:2"}, 1, ""},
		{`{"cluster": {"chief": ["c:3"], "worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}`, []string{"c:3", "a:1", "b:2"}, 2, ""},
		{`{"cluster": {"chief": ["c:3"], "worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}`, []string{"c:3", "a:1"}, 0, ""},
		{`{"cluster": {"worker": ["a:1"]}`, nil, 0, "not valid JSON"},
		{`{"cluster": {"worker": ["a:1"], "ps": ["p:1"]}, "task": {"type": "worker", "index": 0}}`, nil, 0, "cluster.ps: nnclr runs chief and worker tasks only"},
		{`{"cluster": {"worker": ["a:1"]}, "task": {"type": "evaluator", "index": 0}}`, nil, 0, `task.type "evaluator": want worker or chief`},
		{`{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}`, nil, 0, "task.index 1 outside cluster.worker's 1 addresses"},
		{`{"cluster": {"worker": ["a:1"]}}`, nil, 0, "task: want"},
		{`{"cluster": {"worker": ["a:1", "a:1"]}, "task": {"type": "worker", "index": 0}}`, nil, 0, "workers 0 and 1 have the same address a:1"},
		{`{"cluster": {"worker": ["nohost"]}, "task": {"type": "worker", "index": 0}}`, nil, 0, `worker 0's address "nohost": want host:port`},
		{`{"cluster": {}, "task": {"type": "worker", "index": 0}}`, nil, 0, "cluster.worker: no addresses"},
	} {
		cl, err := ParseTFConfig(c.json)
		if c.want == "" {
			if err != nil || strings.Join(cl.Workers, ",") != strings.Join(c.workers, ",") || cl.Task != c.task {
				t.Errorf("%s: %+v, %v", c.json, cl, err)
			}
			continue
		}
		var se *setting.Error
		if !errors.As(err, &se) || se.Name != "TF_CONFIG" || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.json, err, c.want)
		}
	}
	if _, err := ParseCluster("a:1,b:2", 2); err == nil || !strings.Contains(err.Error(), "task_index 2: outside the cluster's 2 workers") {
		t.Errorf("task index out of range: %v", err)
	}
	if cl, err := ParseCluster("a:1, b:2", 1); err != nil || cl.Workers[1] != "b:2" {
		t.Errorf("two workers: %+v, %v", cl, err)
	}
}

// TestTwoWorkersEqualOneProcess: a run on two workers (in this process, each on its own gRPC
// server on 127.0.0.1) ends with the weights of the same run in one process, within the
// data-parallel tolerance; only the chief writes the run directory. Also with the paper's
// top-k support, prediction head and projection sizes (the picks and the predictions are the
// global batch's).
func TestTwoWorkersEqualOneProcess(t *testing.T) {
	dataDir := fashion(t, 80)
	for _, paper := range []bool{false, true} {
		t.Run(fmt.Sprintf("paper options %v", paper), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Dataset, cfg.DataDir, cfg.Seed = "fashion_mnist", dataDir, 4
			cfg.ImageSize, cfg.Width, cfg.QueueSize, cfg.Epochs, cfg.StepsPerEpoch = 32, 8, 96, 1, 4
			if paper {
				cfg.SupportTopK, cfg.PredHidden, cfg.ProjHidden, cfg.ProjDim = 3, 12, 10, 6
			}
			twoWorkersEqualOneProcess(t, cfg)
		})
	}
}

func twoWorkersEqualOneProcess(t *testing.T, cfg Config) {
	want := trainedWeights(t, filepath.Join(t.TempDir(), "one"), cfg)

	addrs := testutil.FreeAddrs(t, 2)
	dirs := []string{filepath.Join(t.TempDir(), "chief"), filepath.Join(t.TempDir(), "worker1")}
	trs := make([]*Training, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &tfrun.Cluster{Workers: addrs, Task: w, Timeout: 30 * time.Second}
			if trs[w], errs[w] = Create(dirs[w], cfg, Options{Cluster: cl}); errs[w] != nil {
				return
			}
			errs[w] = trs[w].Train(context.Background(), train.Hooks{})
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
	got, _ := trs[1].Model.Weights()
	chief, _ := trs[0].Model.Weights()
	worst := 0.0
	for name, a := range want {
		if e := testutil.MaxRel(got[name].Float, a.Float); e > worst {
			worst = e
		}
		if e := testutil.MaxRel(chief[name].Float, got[name].Float); e != 0 {
			t.Errorf("%s: the workers differ by %.3g", name, e)
		}
	}
	if worst > 5e-5 {
		t.Errorf("two workers differ from one process by %.3g relative", worst)
	}
	t.Logf("two workers vs one process: worst %.3g relative", worst)
	if c, err := ReadConfig(dirs[0]); err != nil || c.ClusterSize != 2 {
		t.Errorf("chief's run.json: cluster_size %d, %v", c.ClusterSize, err)
	}
	if _, err := ReadConfig(dirs[1]); err == nil {
		t.Error("worker 1 wrote a run directory")
	}
}
