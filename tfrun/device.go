package tfrun

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// ErrNoGPU is returned when a GPU device is requested and the runtime sees none.
var ErrNoGPU = errors.New("tfrun: no GPU visible to TensorFlow")

// DeviceKind is what a device choice asks for.
type DeviceKind int

// The device kinds of a DeviceChoice.
const (
	DeviceAuto DeviceKind = iota // GPU 0 when the runtime sees one, else CPU
	DeviceCPU                    // CPU only, GPUs hidden from the session
	DeviceGPU                    // one GPU, chosen by Index
)

// DeviceChoice is a parsed --device value: auto, cpu, gpu or gpu:N.
type DeviceChoice struct {
	Kind  DeviceKind
	Index int // GPU index for DeviceGPU
}

// String returns the --device spelling of d.
func (d DeviceChoice) String() string {
	switch d.Kind {
	case DeviceCPU:
		return "cpu"
	case DeviceGPU:
		return "gpu:" + strconv.Itoa(d.Index)
	default:
		return "auto"
	}
}

// ParseDevice parses a --device value: auto, cpu, gpu (gpu:0) or gpu:N.
func ParseDevice(s string) (DeviceChoice, error) {
	switch v := strings.ToLower(strings.TrimSpace(s)); {
	case v == "auto" || v == "":
		return DeviceChoice{Kind: DeviceAuto}, nil
	case v == "cpu":
		return DeviceChoice{Kind: DeviceCPU}, nil
	case v == "gpu":
		return DeviceChoice{Kind: DeviceGPU}, nil
	case strings.HasPrefix(v, "gpu:"):
		n, err := strconv.Atoi(v[len("gpu:"):])
		if err != nil || n < 0 {
			return DeviceChoice{}, fmt.Errorf("tfrun: device %q: want auto, cpu, gpu or gpu:N with N >= 0", s)
		}
		return DeviceChoice{Kind: DeviceGPU, Index: n}, nil
	}
	return DeviceChoice{}, fmt.Errorf("tfrun: device %q: want auto, cpu, gpu or gpu:N", s)
}

// Device describes a device a session sees.
type Device struct {
	Name        string // full name, e.g. /job:localhost/replica:0/task:0/device:CPU:0
	Type        string // CPU, GPU, ...
	MemoryBytes int64  // memory limit as reported by the runtime; -1 when unknown
}

var autoDevices struct {
	once sync.Once
	devs []Device
	err  error
}

// RunsOnCPU reports whether a session of c runs its graph on the CPU: c asks for the CPU, or
// for the automatic choice where the runtime sees no GPU (looked up once per process, on an
// in-process session with c's settings: the first session of a process sizes TensorFlow's
// thread pools for all that follow).
func RunsOnCPU(c SessionConfig) (bool, error) {
	switch c.Device.Kind {
	case DeviceCPU:
		return true, nil
	case DeviceGPU:
		return false, nil
	}
	autoDevices.once.Do(func() {
		local := c
		local.Cluster, local.Target, local.Precision = nil, "", FP32
		autoDevices.devs, autoDevices.err = ListDevices(local)
	})
	return !onGPU(c.Device, autoDevices.devs), autoDevices.err
}
