package tfgraph

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nnclr/nnclr/tfrun"
)

func TestSpeed32(t *testing.T) {
	cfg := DefaultModelConfig()
	cfg.Height, cfg.Width, cfg.Channels = 32, 32, 3
	m, err := NewModel(cfg, tfrun.SessionConfig{Precision: tfrun.BF16})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Init(1)
	r := rand.New(rand.NewPCG(1, 2))
	mk := func(n int64) Batch {
		v, _ := tfrun.NewFloatTensor([]int64{2 * n, 32, 32, 3}, func(d []float32) error {
			for i := range d {
				d[i] = r.Float32()
			}
			return nil
		})
		p, _ := tfrun.NewFloatTensor([]int64{64, 32, 32, 3}, func(d []float32) error {
			for i := range d {
				d[i] = r.Float32()
			}
			return nil
		})
		lab := make([]int64, 64)
		y, _ := tfrun.NewInt64Tensor(lab)
		return Batch{Views: v, ProbeX: p, ProbeY: y}
	}
	var secs []float64
	for i := 0; i < 30; i++ {
		b := mk(320)
		t0 := time.Now()
		if _, err := m.TrainStep(b); err != nil {
			t.Fatal(err)
		}
		secs = append(secs, time.Since(t0).Seconds())
		b.Close()
	}
	slices.Sort(secs)
	t.Logf("median %.4f s", secs[len(secs)/2])
}

func TestTrace32(t *testing.T) {
	cfg := DefaultModelConfig()
	cfg.Height, cfg.Width, cfg.Channels = 32, 32, 3
	m, err := NewModel(cfg, tfrun.SessionConfig{Precision: tfrun.BF16})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.Init(1)
	mk := func() Batch {
		v, _ := tfrun.NewFloatTensor([]int64{640, 32, 32, 3}, func(d []float32) error { for i := range d { d[i] = float32(i%255) / 255 }; return nil })
		p, _ := tfrun.NewFloatTensor([]int64{64, 32, 32, 3}, func(d []float32) error { for i := range d { d[i] = float32(i%253) / 255 }; return nil })
		y, _ := tfrun.NewInt64Tensor(make([]int64, 64))
		return Batch{Views: v, ProbeX: p, ProbeY: y}
	}
	for i := 0; i < 3; i++ {
		m.TrainStep(mk())
	}
	tot := map[string]float64{}
	for i := 0; i < 3; i++ {
		ops, err := m.TraceStep(mk())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			tot[o.Op] += o.Compute.Seconds() * 1000 / 3
			if strings.Contains(o.Op, "Backprop") || strings.Contains(o.Op, "ReluGrad") || strings.Contains(o.Op, "FusedConv") {
				tot["  "+o.Node] += o.Compute.Seconds() * 1000 / 3
			}
		}
	}
	type kv struct{ k string; v float64 }
	var l []kv
	sum := 0.0
	for k, v := range tot { l = append(l, kv{k, v}); sum += v }
	slices.SortFunc(l, func(a, b kv) int { if a.v > b.v { return -1 }; return 1 })
	for _, e := range l[:min(45, len(l))] { t.Logf("%-40s %8.2f ms", e.k, e.v) }
	t.Logf("total %.1f ms, %d op types", sum, len(l))
}

func TestOps32(t *testing.T) {
	cfg := DefaultModelConfig()
	cfg.Height, cfg.Width, cfg.Channels = 32, 32, 3
	g, err := buildGraph(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cnt := map[string]int{}
	for _, o := range g.graph.Operations() {
		cnt[o.Type()]++
	}
	keys := make([]string, 0)
	for k := range cnt { keys = append(keys, k) }
	slices.Sort(keys)
	for _, k := range keys { t.Logf("%s %d", k, cnt[k]) }
}
