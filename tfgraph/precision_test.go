package tfgraph

import (
	"math"
	"testing"

	"github.com/nnclr/nnclr/tfrun"
)

// TestBF16Step: on a CPU that supports it, a bf16 session trains the same graph: the metrics of
// a step stay within bfloat16's precision of fp32's (losses within 2% relative), the variables stay
// float32, and the forward pass of the initial weights differs from fp32's by bfloat16 rounding
// only (within 2% of the largest feature; and it does differ, so the rewrite ran).
func TestBF16Step(t *testing.T) {
	if !tfrun.HostCPUFeatures().BF16() {
		t.Skipf("this CPU has %s: bf16 cannot run here (TestCheckPrecision covers the refusal)", tfrun.HostCPUFeatures())
	}
	cfg := smallConfig()
	run := func(p tfrun.Precision) (Metrics, []float32, map[string]tfrun.Array) {
		m, err := NewModel(cfg, tfrun.SessionConfig{Precision: p})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Init(5); err != nil {
			t.Fatal(err)
		}
		f, _, _, err := m.Forward(stepBatch(t, cfg, 1).ProbeX)
		if err != nil {
			t.Fatal(err)
		}
		met, err := m.TrainStep(stepBatch(t, cfg, 0))
		if err != nil {
			t.Fatal(err)
		}
		w, err := m.Weights()
		if err != nil {
			t.Fatal(err)
		}
		return met, f, w
	}
	m32, f32, w32 := run(tfrun.FP32)
	m16, f16, w16 := run(tfrun.BF16)
	for _, c := range []struct {
		name string
		a, b float64
	}{{"c_loss", m32.CLoss, m16.CLoss}, {"p_loss", m32.PLoss, m16.PLoss}} {
		if math.Abs(c.a-c.b) > 0.02*math.Abs(c.a) {
			t.Errorf("%s: fp32 %v, bf16 %v: more than 2%% apart", c.name, c.a, c.b)
		}
	}
	diff, scale := 0.0, 0.0
	for i := range f32 {
		diff = math.Max(diff, math.Abs(float64(f32[i]-f16[i])))
		scale = math.Max(scale, math.Abs(float64(f32[i])))
	}
	if diff == 0 || diff > 0.02*scale {
		t.Errorf("bf16 forward differs from fp32 by %g (largest value %g): want a bfloat16-sized difference, not 0", diff, scale)
	}
	for name, a := range w32 {
		if len(a.Float) != len(w16[name].Float) || len(a.Int) != len(w16[name].Int) {
			t.Errorf("variable %s: not the same float32/int64 variable in bf16", name)
		}
	}
	t.Logf("fp32 c_loss %.6f p_loss %.6f; bf16 c_loss %.6f p_loss %.6f; forward max diff %.3g of %.3g", m32.CLoss, m32.PLoss, m16.CLoss, m16.PLoss, diff, scale)
}

// TestBF16OwnReluGrad: in a bf16 session the conv4 backward pass's ReLU gradients are nnclr's
// kernel (tfrun.ReluGradOp), which the rewrite keeps in bfloat16: with the heads' ReluGrad (the
// gradient registry's) the ReLU gradients there output half the bytes the fp32 session's
// ReluGrads output, and the fp32 session has none of nnclr's. Two bf16 steps with it leave every
// variable bit for bit where two with TensorFlow's ReluGrad leave it (the kernel works in place
// in the gradients' buffer in this graph, where the unit test's mostly cannot).
func TestBF16OwnReluGrad(t *testing.T) {
	if !tfrun.HostCPUFeatures().BF16() {
		t.Skipf("this CPU has %s: bf16 cannot run here (TestCheckPrecision covers the refusal)", tfrun.HostCPUFeatures())
	}
	cfg := smallConfig()
	bytes := func(p tfrun.Precision) map[string]int64 {
		m := newInitModelIn(t, cfg, tfrun.SessionConfig{Precision: p}, 5)
		ops, err := m.TraceStep(stepBatch(t, cfg, 0))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, o := range ops {
			if o.Op == "ReluGrad" || o.Op == tfcReluGrad {
				out[o.Op] += o.Bytes
			}
		}
		return out
	}
	b32, b16 := bytes(tfrun.FP32), bytes(tfrun.BF16)
	weights := func(c ModelConfig) map[string]tfrun.Array {
		m := newInitModelIn(t, c, tfrun.SessionConfig{Precision: tfrun.BF16, IntraOpThreads: 2, InterOpThreads: 2}, 5)
		train(t, m, 0, 2)
		w, err := m.Weights()
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	stock := cfg
	stock.testStockReluGrad = true
	own, ref := weights(cfg), weights(stock)
	for name, a := range ref {
		b := own[name]
		for i := range a.Float {
			if len(b.Float) != len(a.Float) {
				t.Fatalf("variable %s: %d values with ReluGrad, %d with nnclr's kernel", name, len(a.Float), len(b.Float))
			}
			if math.Float32bits(a.Float[i]) != math.Float32bits(b.Float[i]) {
				t.Fatalf("variable %s element %d after two bf16 steps: %v with ReluGrad, %v with nnclr's kernel", name, i, a.Float[i], b.Float[i])
			}
		}
	}
	if b32[tfcReluGrad] != 0 || b32["ReluGrad"] == 0 || b16[tfcReluGrad] == 0 || (b16[tfcReluGrad]+b16["ReluGrad"])*2 != b32["ReluGrad"] {
		t.Fatalf("bytes output by ReluGrad and %s kernels: fp32 session %v, bf16 session %v; want only ReluGrad in fp32, and half its bytes in bf16, mostly from %s",
			tfcReluGrad, b32, b16, tfcReluGrad)
	}
	t.Logf("fp32 session %v, bf16 session %v", b32, b16)
}

// tfcReluGrad is nnclr's ReLU gradient's op type.
var tfcReluGrad = func() string {
	name, err := tfrun.ReluGradOp()
	if err != nil {
		return "unregistered: " + err.Error()
	}
	return name
}()
