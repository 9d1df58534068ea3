package tfgraph

import (
	"errors"
	"math"
	"strings"
	"testing"

	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

func TestParseCPUInfo(t *testing.T) {
	info := "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 avx512_vnni\n\nprocessor\t: 1\nflags\t\t: fpu amx_bf16 amx_tile\n"
	if f := ParseCPUInfo(info); !f.AVX512BF16 || f.AMXBF16 || f.String() != "avx512_bf16" {
		t.Errorf("first processor's flags read as %+v (%s)", f, f)
	}
	if f := ParseCPUInfo("flags : fpu sse avx2\n"); f.BF16() || f.String() != "neither avx512_bf16 nor amx_bf16" {
		t.Errorf("no bf16 flags read as %+v", f)
	}
}

func TestCheckPrecision(t *testing.T) {
	cpu := []Device{{Type: "CPU"}}
	gpu := []Device{{Type: "CPU"}, {Type: "GPU"}}
	bf := CPUFeatures{AVX512BF16: true}
	for _, c := range []struct {
		p      Precision
		devs   []Device
		choice DeviceChoice
		cpu    CPUFeatures
		want   string // "" for supported
	}{
		{FP32, cpu, DeviceChoice{}, CPUFeatures{}, ""},
		{BF16, cpu, DeviceChoice{}, bf, ""},
		{BF16, cpu, DeviceChoice{}, CPUFeatures{}, "this one has neither avx512_bf16 nor amx_bf16"},
		{BF16, gpu, DeviceChoice{}, bf, "runs on a GPU: use fp16 there"},
		{BF16, gpu, DeviceChoice{Kind: DeviceCPU}, bf, ""},
		{FP16, gpu, DeviceChoice{}, CPUFeatures{}, ""},
		{FP16, cpu, DeviceChoice{}, bf, "sees no GPU"},
		{FP16, gpu, DeviceChoice{Kind: DeviceCPU}, bf, "sees no GPU (--device cpu)"},
	} {
		err := checkPrecision(c.p, c.devs, c.choice, c.cpu)
		if (c.want == "") != (err == nil) || (err != nil && (!errors.Is(err, ErrPrecision) || !strings.Contains(err.Error(), c.want))) {
			t.Errorf("%s on %v (%s, %s): %v, want %q", c.p, c.devs, c.choice, c.cpu, err, c.want)
		}
	}
	if _, err := ParsePrecision("fp8"); err == nil {
		t.Error("fp8 parsed")
	}
}

// TestPrecisionRewriteOptions: the session config turns on oneDNN's bf16 rewrite for bf16 and
// the GPU float16 rewrite for fp16, and neither for fp32.
func TestPrecisionRewriteOptions(t *testing.T) {
	for _, p := range Precisions {
		b, err := SessionConfig{Precision: p}.ConfigProto()
		if err != nil {
			t.Fatal(err)
		}
		var cp configpb.ConfigProto
		if err := proto.Unmarshal(b, &cp); err != nil {
			t.Fatal(err)
		}
		ro := cp.GetGraphOptions().GetRewriteOptions()
		bf, f16 := ro.GetAutoMixedPrecisionOnednnBfloat16() == configpb.RewriterConfig_ON, ro.GetAutoMixedPrecision() == configpb.RewriterConfig_ON
		if bf != (p == BF16) || f16 != (p == FP16) {
			t.Errorf("%s: bf16 rewrite %v, fp16 rewrite %v", p, bf, f16)
		}
	}
}

// TestBF16Step: on a CPU that supports it, a bf16 session trains the same graph: the metrics of
// a step stay within bfloat16's precision of fp32's (losses within 2% relative), the variables stay
// float32, and the forward pass of the initial weights differs from fp32's by bfloat16 rounding
// only (within 2% of the largest feature; and it does differ, so the rewrite ran).
func TestBF16Step(t *testing.T) {
	if !HostCPUFeatures().BF16() {
		t.Skipf("this CPU has %s: bf16 cannot run here (TestCheckPrecision covers the refusal)", HostCPUFeatures())
	}
	cfg := smallConfig()
	run := func(p Precision) (Metrics, []float32, map[string]Array) {
		m, err := NewModel(cfg, SessionConfig{Precision: p})
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
	m32, f32, w32 := run(FP32)
	m16, f16, w16 := run(BF16)
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
