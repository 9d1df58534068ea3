package tfrun

import (
	"errors"
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
