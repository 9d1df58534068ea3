package tfrun

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Precision is the arithmetic of a session's graph. Variables, optimizer state, checkpoints and
// exported SavedModels are float32 in every precision: bf16 and fp16 are TensorFlow's automatic
// mixed-precision graph rewrites, which compute the heavy ops (convolutions, matmuls) in 16 bits
// and cast back.
type Precision string

// The precisions a session can run.
const (
	FP32 Precision = "fp32" // float32 throughout (the Keras example's)
	BF16 Precision = "bf16" // oneDNN's bfloat16 rewrite on CPUs with AVX512-BF16 or AMX-BF16
	FP16 Precision = "fp16" // the float16 rewrite on NVIDIA GPUs
)

// Precisions lists the precisions in the order --help and info show them.
var Precisions = []Precision{FP32, BF16, FP16}

// ErrPrecision reports a precision the device cannot run.
var ErrPrecision = errors.New("tfrun: precision not supported here")

// ParsePrecision parses fp32, bf16 or fp16.
func ParsePrecision(s string) (Precision, error) {
	p := Precision(strings.ToLower(strings.TrimSpace(s)))
	if p == "" {
		return FP32, nil
	}
	if !slices.Contains(Precisions, p) {
		return "", fmt.Errorf("tfrun: precision %q: want fp32, bf16 or fp16", s)
	}
	return p, nil
}

// String returns the precision's name ("fp32" for the zero value).
func (p Precision) String() string {
	if p == "" {
		return string(FP32)
	}
	return string(p)
}

// Set parses s into p (ParsePrecision), so that a flag or a config field is parsed once, where
// it is read: it makes *Precision a flag.Value (and pflag's, with Type).
func (p *Precision) Set(s string) error {
	v, err := ParsePrecision(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Type names the flag's value type in pflag's help.
func (p *Precision) Type() string { return "precision" }

// UnmarshalText parses a precision of a text format (run.json's "precision"): "" is fp32.
func (p *Precision) UnmarshalText(b []byte) error { return p.Set(string(b)) }

// valid reports whether p is one of Precisions (or the zero value, fp32).
func (p Precision) valid() bool { return p == "" || slices.Contains(Precisions, p) }

// CPUFeatures are the CPU flags that decide bf16 support, as /proc/cpuinfo names them.
type CPUFeatures struct {
	AVX512BF16 bool // avx512_bf16: bfloat16 dot products in AVX-512
	AMXBF16    bool // amx_bf16: Advanced Matrix Extensions tiles for bfloat16
}

// BF16 reports whether oneDNN can run the bf16 rewrite fast on this CPU.
func (f CPUFeatures) BF16() bool { return f.AVX512BF16 || f.AMXBF16 }

// String names the flags found ("avx512_bf16 amx_bf16", or "neither avx512_bf16 nor amx_bf16").
func (f CPUFeatures) String() string {
	var on []string
	if f.AVX512BF16 {
		on = append(on, "avx512_bf16")
	}
	if f.AMXBF16 {
		on = append(on, "amx_bf16")
	}
	if len(on) == 0 {
		return "neither avx512_bf16 nor amx_bf16"
	}
	return strings.Join(on, " ")
}

// ParseCPUInfo reads the flags of /proc/cpuinfo's text.
func ParseCPUInfo(text string) CPUFeatures {
	var f CPUFeatures
	for _, line := range strings.Split(text, "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, flag := range strings.Fields(val) {
			switch flag {
			case "avx512_bf16":
				f.AVX512BF16 = true
			case "amx_bf16":
				f.AMXBF16 = true
			}
		}
		break
	}
	return f
}

// HostCPUFeatures reads this machine's /proc/cpuinfo (no flags where there is none).
func HostCPUFeatures() CPUFeatures {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return CPUFeatures{}
	}
	return ParseCPUInfo(string(b))
}

// onGPU reports whether a session of choice whose runtime sees devs runs its graph on a GPU:
// any choice but the CPU, when there is one.
func onGPU(choice DeviceChoice, devs []Device) bool {
	return choice.Kind != DeviceCPU && slices.ContainsFunc(devs, func(d Device) bool { return d.Type == "GPU" })
}

// checkPrecision reports whether a session on devs (with cpu's features) can run p.
func checkPrecision(p Precision, devs []Device, choice DeviceChoice, cpu CPUFeatures) error {
	gpu := onGPU(choice, devs)
	switch p {
	case BF16:
		if gpu {
			return fmt.Errorf("%w: bf16 is oneDNN's CPU rewrite and this session runs on a GPU: use fp16 there, or --device cpu", ErrPrecision)
		}
		if !cpu.BF16() {
			return fmt.Errorf("%w: bf16 needs a CPU with avx512_bf16 or amx_bf16; this one has %s", ErrPrecision, cpu)
		}
	case FP16:
		if !gpu {
			return fmt.Errorf("%w: fp16 is TensorFlow's GPU rewrite and this session sees no GPU (--device %s)", ErrPrecision, choice)
		}
	}
	return nil
}

// SupportedPrecisions returns the precisions a session configured by c (its precision aside)
// can run on this host.
func SupportedPrecisions(c SessionConfig) ([]Precision, error) {
	c.Precision = FP32
	devs, err := ListDevices(c)
	if err != nil {
		return nil, err
	}
	cpu := HostCPUFeatures()
	var out []Precision
	for _, p := range Precisions {
		if checkPrecision(p, devs, c.Device, cpu) == nil {
			out = append(out, p)
		}
	}
	return out, nil
}
