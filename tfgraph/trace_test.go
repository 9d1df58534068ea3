package tfgraph

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

// TestTraceStep: a traced train step makes the same update as TrainStep (every variable equal
// after one step from the same initial state and inputs) and reports the graph's kernels with
// their times and output sizes.
func TestTraceStep(t *testing.T) {
	cfg := smallConfig()
	var models [2]*Model
	for i := range models {
		m, err := NewModel(cfg, tfrun.SessionConfig{IntraOpThreads: 1, InterOpThreads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Init(7); err != nil {
			t.Fatal(err)
		}
		models[i] = m
	}
	r := rand.New(rand.NewPCG(3, 3))
	b := Batch{Views: randTensor(t, r, 16, 32, 32, 3), ProbeX: randTensor(t, r, 4, 32, 32, 3), ProbeY: labelTensor(t, r, 4, cfg.NumClasses)}
	if _, err := models[0].TrainStep(b); err != nil {
		t.Fatal(err)
	}
	ops, err := models[1].TraceStep(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := models[0].Weights()
	if err != nil {
		t.Fatal(err)
	}
	got, err := models[1].Weights()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d variables after the traced step, %d after TrainStep", len(got), len(want))
	}
	for name, w := range want {
		g := got[name]
		if len(g.Float) != len(w.Float) || len(g.Int) != len(w.Int) {
			t.Fatalf("%s: sizes differ", name)
		}
		for i := range w.Float {
			if g.Float[i] != w.Float[i] {
				t.Fatalf("%s[%d]: traced step %v, TrainStep %v", name, i, g.Float[i], w.Float[i])
			}
		}
		for i := range w.Int {
			if g.Int[i] != w.Int[i] {
				t.Fatalf("%s[%d]: traced step %v, TrainStep %v", name, i, g.Int[i], w.Int[i])
			}
		}
	}
	kinds := map[string]bool{}
	var total int64
	// View 1's first convolution outputs 8 images of 15×15 (3×3/2, valid, on 32×32), float32.
	conv0Bytes := int64(8 * 15 * 15 * cfg.ModelWidth * 4)
	for _, o := range ops {
		if o.Compute < 0 || o.Node == "" {
			t.Fatalf("kernel %+v", o)
		}
		if strings.Contains(o.Node, "encoder1/conv0/") && strings.Contains(o.Op, "Conv2D") {
			kinds["conv0"] = true
			if o.Bytes != conv0Bytes {
				t.Errorf("%s (%s) output %d bytes, want %d", o.Node, o.Op, o.Bytes, conv0Bytes)
			}
		}
		total += int64(o.Compute)
		for _, k := range []string{"Conv2D", "MatMul", "ReluGrad", "ApplyAdam"} {
			if strings.Contains(o.Op, k) {
				kinds[k] = true
			}
		}
	}
	if len(kinds) != 5 || total <= 0 {
		t.Fatalf("%d kernels, %d ns in all, kinds seen %v: want Conv2D (view 1's conv0 among them), MatMul, ReluGrad and ApplyAdam kernels", len(ops), total, kinds)
	}
	t.Logf("%d kernels, %.1f ms of kernel time", len(ops), float64(total)/1e6)
}
