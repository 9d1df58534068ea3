package tfrun

import (
	"errors"
	"strings"
	"testing"
)

func TestParseDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want DeviceChoice
		err  string
	}{
		{"auto", DeviceChoice{Kind: DeviceAuto}, ""},
		{"", DeviceChoice{Kind: DeviceAuto}, ""},
		{"CPU", DeviceChoice{Kind: DeviceCPU}, ""},
		{"gpu", DeviceChoice{Kind: DeviceGPU}, ""},
		{"gpu:3", DeviceChoice{Kind: DeviceGPU, Index: 3}, ""},
		{"gpu:-1", DeviceChoice{}, `device "gpu:-1"`},
		{"gpu:x", DeviceChoice{}, `device "gpu:x"`},
		{"tpu", DeviceChoice{}, `device "tpu": want auto, cpu, gpu or gpu:N`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseDevice(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseDevice(%q) error %v, want %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseDevice(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestRuntimeVersionAndDevices(t *testing.T) {
	if v := RuntimeVersion(); !strings.HasPrefix(v, "2.18.") {
		t.Fatalf("runtime version %q, want 2.18.x (the pinned wheel)", v)
	}
	devs, err := ListDevices(SessionConfig{Device: DeviceChoice{Kind: DeviceCPU}})
	if err != nil {
		t.Fatal(err)
	}
	cpus := 0
	for _, d := range devs {
		if d.Type == "GPU" {
			t.Errorf("--device cpu still sees %s", d.Name)
		}
		if d.Type == "CPU" {
			cpus++
		}
	}
	if cpus == 0 {
		t.Fatalf("no CPU device in %v", devs)
	}
}

func TestGPURequestWithoutGPU(t *testing.T) {
	devs, err := ListDevices(DefaultSessionConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		if d.Type == "GPU" {
			t.Skip("this host has a GPU; the no-GPU error cannot be provoked")
		}
	}
	_, err = ListDevices(SessionConfig{Device: DeviceChoice{Kind: DeviceGPU, Index: 0}})
	if !errors.Is(err, ErrNoGPU) {
		t.Fatalf("err = %v, want ErrNoGPU", err)
	}
}

func TestSessionConfigValidate(t *testing.T) {
	if err := (SessionConfig{IntraOpThreads: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "intra_op_threads -1") {
		t.Fatalf("err = %v", err)
	}
	if err := (SessionConfig{InterOpThreads: -2}).Validate(); err == nil || !strings.Contains(err.Error(), "inter_op_threads -2") {
		t.Fatalf("err = %v", err)
	}
}

// TestRunsOnCPU: --device cpu runs on the CPU and gpu[:N] does not, without a session; auto
// runs on the CPU exactly when the runtime lists no GPU (on this project's hosts it lists none).
func TestRunsOnCPU(t *testing.T) {
	for _, c := range []struct {
		d    DeviceChoice
		want bool
	}{{DeviceChoice{Kind: DeviceCPU}, true}, {DeviceChoice{Kind: DeviceGPU}, false}, {DeviceChoice{Kind: DeviceGPU, Index: 1}, false}} {
		if got, err := RunsOnCPU(SessionConfig{Device: c.d}); err != nil || got != c.want {
			t.Errorf("RunsOnCPU(--device %s) = %v, %v; want %v", c.d, got, err, c.want)
		}
	}
	devs, err := ListDevices(SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	gpu := false
	for _, d := range devs {
		gpu = gpu || d.Type == "GPU"
	}
	if got, err := RunsOnCPU(SessionConfig{}); err != nil || got == gpu {
		t.Errorf("RunsOnCPU(--device auto) = %v, %v with devices %v", got, err, devs)
	}
}
