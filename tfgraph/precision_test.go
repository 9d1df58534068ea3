package tfgraph

import (
	"math"
	"strings"
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

// TestOwnReluGradInModel: in CPU sessions the conv4 backward pass's ReLU and bias gradients are
// nnclr's kernel (tfrun.ReluGradBiasOp), one node per layer and view, and oneDNN's filter
// gradients run without their fused bias reduction (_MklNativeConv2DBackpropFilter, none
// ...WithBias); in bf16 the rewrite keeps the kernel in bfloat16: its backprops take half the
// bytes they take in fp32 (its float32 bias gradients the same).
func TestOwnReluGradInModel(t *testing.T) {
	cfg := smallConfig()
	name, err := tfrun.ReluGradBiasOp()
	if err != nil {
		t.Fatal(err)
	}
	ownBytes := map[tfrun.Precision]int64{}
	for _, p := range ownKernelPrecisions(t) {
		m := newInitModelIn(t, cfg, tfrun.SessionConfig{Precision: p, Device: tfrun.DeviceChoice{Kind: tfrun.DeviceCPU}}, 5)
		ops, err := m.TraceStep(stepBatch(t, cfg, 0))
		if err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, o := range ops {
			count[o.Op]++
			if o.Op == name {
				ownBytes[p] += o.Bytes
			}
		}
		// Two views, four convolutions and the dense layer each.
		if count[name] != 10 || count["_MklNativeConv2DBackpropFilterWithBias"] != 0 || count["_MklNativeConv2DBackpropFilter"] != 8 {
			t.Errorf("%s session ran %d %s, %d _MklNativeConv2DBackpropFilterWithBias and %d _MklNativeConv2DBackpropFilter kernels; want 10, 0 and 8",
				p, count[name], name, count["_MklNativeConv2DBackpropFilterWithBias"], count["_MklNativeConv2DBackpropFilter"])
		}
	}
	if b16, ok := ownBytes[tfrun.BF16]; ok {
		bias := int64(10 * cfg.ModelWidth * 4) // float32 in both
		if (b16-bias)*2 != ownBytes[tfrun.FP32]-bias {
			t.Errorf("%s output %d bytes in fp32 and %d in bf16, %d of them the float32 bias gradients: want the backprops' bytes halved", name, ownBytes[tfrun.FP32], b16, bias)
		}
	}
	t.Logf("bytes output by %s: %v", name, ownBytes)
}

// TestOwnReluGradSteps: two fp32 steps with nnclr's ReLU-and-bias kernel leave every model
// variable within 1e-5 of where two steps with TensorFlow's ReluGrad and BiasAddGrad leave it,
// while they move three quarters of the encoder's biases by more than 1e-4 (the learning rate is
// 1e-3: a bias gradient wrong in sign or zero misses by that much). In bf16, where rounding parts
// any two gradient computations by far more: one step moves three quarters of the encoder's
// biases by more than 5e-4 the same way with both kernels (Adam's first step moves each by the
// learning rate times its gradient's sign), and two steps end as close to the fp32 steps (mean
// absolute difference over the model's variables, within 1%) as two bf16 steps with
// TensorFlow's kernels do.
func TestOwnReluGradSteps(t *testing.T) {
	cfg := smallConfig()
	stock := cfg
	stock.testStockKernels = true
	w0 := modelWeights(t, stock, tfrun.FP32, 0)
	own32, ref32 := modelWeights(t, cfg, tfrun.FP32, 2), modelWeights(t, stock, tfrun.FP32, 2)
	if worst, _ := weightDiff(t, own32, ref32); worst > 1e-5 {
		t.Errorf("fp32: after two steps the variables with nnclr's kernel differ from those with TensorFlow's by up to %g; want 1e-5", worst)
	}
	moved, n := encoderBiasMoves(w0, ref32, nil, 1e-4)
	if moved < n*3/4 {
		t.Errorf("fp32: %d of %d encoder biases moved more than 1e-4 in two steps: the comparison would not see a wrong bias gradient", moved, n)
	}
	t.Logf("fp32: %d of %d encoder biases moved more than 1e-4", moved, n)
	if len(ownKernelPrecisions(t)) < 2 {
		return
	}
	same, n := encoderBiasMoves(w0, modelWeights(t, cfg, tfrun.BF16, 1), modelWeights(t, stock, tfrun.BF16, 1), 5e-4)
	if same < n*3/4 {
		t.Errorf("bf16: after one step %d of %d encoder biases moved by more than 5e-4 the same way with nnclr's kernel and with TensorFlow's; want three quarters", same, n)
	}
	_, dOwn := weightDiff(t, modelWeights(t, cfg, tfrun.BF16, 2), own32)
	_, dStock := weightDiff(t, modelWeights(t, stock, tfrun.BF16, 2), own32)
	if !(dOwn <= 1.01*dStock) {
		t.Errorf("bf16: two steps end %g from fp32's with nnclr's kernel, %g with TensorFlow's: want nnclr's as close", dOwn, dStock)
	}
	t.Logf("bf16: %d of %d encoder biases moved the same way; mean distance to fp32 after two steps: nnclr's kernel %.3g, TensorFlow's %.3g", same, n, dOwn, dStock)
}

// ownKernelPrecisions is fp32, and bf16 where the CPU runs it.
func ownKernelPrecisions(t *testing.T) []tfrun.Precision {
	if !tfrun.HostCPUFeatures().BF16() {
		t.Logf("this CPU has %s: bf16 cannot run here, fp32 only", tfrun.HostCPUFeatures())
		return []tfrun.Precision{tfrun.FP32}
	}
	return []tfrun.Precision{tfrun.FP32, tfrun.BF16}
}

// modelWeights returns the model variables (not Adam's moments, which are gradient-sized and
// compared through the weights they move) of cfg's model after steps steps in precision p.
func modelWeights(t *testing.T, cfg ModelConfig, p tfrun.Precision, steps int) map[string]tfrun.Array {
	m := newInitModelIn(t, cfg, tfrun.SessionConfig{Precision: p, IntraOpThreads: 2, InterOpThreads: 2}, 5)
	train(t, m, 0, steps)
	w, err := m.Weights()
	if err != nil {
		t.Fatal(err)
	}
	for vn := range w {
		if strings.HasPrefix(vn, "adam") {
			delete(w, vn)
		}
	}
	return w
}

// weightDiff returns the largest and the mean absolute difference between a's and b's values.
func weightDiff(t *testing.T, a, b map[string]tfrun.Array) (worst, mean float64) {
	n := 0
	for vn, x := range a {
		y := b[vn]
		if len(y.Float) != len(x.Float) {
			t.Fatalf("variable %s: %d and %d values", vn, len(x.Float), len(y.Float))
		}
		for i := range x.Float {
			d := math.Abs(float64(x.Float[i] - y.Float[i]))
			worst, mean, n = math.Max(worst, d), mean+d, n+1
		}
	}
	return worst, mean / float64(n)
}

// encoderBiasMoves counts the encoder's bias values that moved from w0 by more than by in a
// and, when b is given, the same way by more than by in b; n is how many there are.
func encoderBiasMoves(w0, a, b map[string]tfrun.Array, by float64) (count, n int) {
	for vn, x := range a {
		if !strings.HasPrefix(vn, "enc/") || !strings.HasSuffix(vn, "/bias") {
			continue
		}
		for i := range x.Float {
			n++
			da := float64(x.Float[i] - w0[vn].Float[i])
			if math.Abs(da) <= by {
				continue
			}
			if b == nil {
				count++
			} else if db := float64(b[vn].Float[i] - w0[vn].Float[i]); math.Abs(db) > by && (da > 0) == (db > 0) {
				count++
			}
		}
	}
	return count, n
}
