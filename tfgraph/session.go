package tfgraph

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nnclr/nnclr/setting"
	tf "github.com/wamuir/graft/tensorflow"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"github.com/wamuir/graft/tensorflow/op"
	"google.golang.org/protobuf/proto"
)

// ErrNoGPU is returned when a GPU device is requested and the runtime sees none.
var ErrNoGPU = errors.New("tfgraph: no GPU visible to TensorFlow")

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
			return DeviceChoice{}, fmt.Errorf("tfgraph: device %q: want auto, cpu, gpu or gpu:N with N >= 0", s)
		}
		return DeviceChoice{Kind: DeviceGPU, Index: n}, nil
	}
	return DeviceChoice{}, fmt.Errorf("tfgraph: device %q: want auto, cpu, gpu or gpu:N", s)
}

// SessionConfig holds the settings of a libtensorflow session.
type SessionConfig struct {
	Device DeviceChoice
	// IntraOpThreads and InterOpThreads size TensorFlow's thread pools; 0 lets TensorFlow choose
	// (one thread per core).
	IntraOpThreads int
	InterOpThreads int
	// XLA turns on TensorFlow's global JIT compilation (auto-clustering) in the session. On CPU it
	// also needs TF_XLA_FLAGS="--tf_xla_cpu_global_jit" in the environment before libtensorflow
	// loads; bin/nnclr sets that for --xla.
	XLA bool
	// Precision is the graph's arithmetic ("": fp32); see Precision. NewSession refuses one the
	// device cannot run.
	Precision Precision
	// Cluster, when set, makes the session a worker's: it targets Target (the worker's server,
	// from StartServer) and keeps its ops on the worker's own task.
	Cluster *Cluster
	Target  string
}

// DefaultSessionConfig returns the automatic device choice and TensorFlow's own thread counts.
func DefaultSessionConfig() SessionConfig { return SessionConfig{} }

// Validate reports settings that cannot make a session, as a *setting.Error naming
// "intra_op_threads" or "inter_op_threads".
func (c SessionConfig) Validate() error {
	if c.IntraOpThreads < 0 {
		return fmt.Errorf("tfgraph: %w", setting.Errorf("intra_op_threads", c.IntraOpThreads, "want >= 0"))
	}
	if c.InterOpThreads < 0 {
		return fmt.Errorf("tfgraph: %w", setting.Errorf("inter_op_threads", c.InterOpThreads, "want >= 0"))
	}
	if _, err := ParsePrecision(string(c.Precision)); err != nil {
		return setting.Errorf("precision", c.Precision, "want fp32, bf16 or fp16")
	}
	return nil
}

// ConfigProto serialises c as a tensorflow.ConfigProto (what a session or a SavedModel loader takes).
func (c SessionConfig) ConfigProto() ([]byte, error) {
	cp := &configpb.ConfigProto{
		IntraOpParallelismThreads: int32(c.IntraOpThreads),
		InterOpParallelismThreads: int32(c.InterOpThreads),
		AllowSoftPlacement:        true,
		GpuOptions:                &configpb.GPUOptions{AllowGrowth: true},
	}
	cp.GraphOptions = &configpb.GraphOptions{}
	if c.XLA {
		cp.GraphOptions.OptimizerOptions = &configpb.OptimizerOptions{GlobalJitLevel: configpb.OptimizerOptions_ON_2}
	}
	switch c.Precision {
	case BF16:
		cp.GraphOptions.RewriteOptions = &configpb.RewriterConfig{AutoMixedPrecisionOnednnBfloat16: configpb.RewriterConfig_ON}
	case FP16:
		cp.GraphOptions.RewriteOptions = &configpb.RewriterConfig{AutoMixedPrecision: configpb.RewriterConfig_ON}
	}
	switch c.Device.Kind {
	case DeviceCPU:
		cp.DeviceCount = map[string]int32{"GPU": 0}
	case DeviceGPU:
		cp.GpuOptions.VisibleDeviceList = strconv.Itoa(c.Device.Index)
	}
	if c.Cluster != nil {
		c.Cluster.sessionProto(cp)
	}
	b, err := proto.Marshal(cp)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: session config: %w", err)
	}
	return b, nil
}

// Session is a libtensorflow session over a graph. Run may be called concurrently; Close is
// idempotent.
type Session struct {
	sess    *tf.Session
	devices []Device
	cfg     SessionConfig
}

// Config returns the settings the session was opened with.
func (s *Session) Config() SessionConfig { return s.cfg }

// Device describes a device a session sees.
type Device struct {
	Name        string // full name, e.g. /job:localhost/replica:0/task:0/device:CPU:0
	Type        string // CPU, GPU, ...
	MemoryBytes int64  // memory limit as reported by the runtime; -1 when unknown
}

// NewSession opens a session over g with the settings of c. It fails with ErrNoGPU when c asks
// for a GPU that the runtime does not see.
func NewSession(g *tf.Graph, c SessionConfig) (*Session, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg, err := c.ConfigProto()
	if err != nil {
		return nil, err
	}
	s, err := tf.NewSession(g, &tf.SessionOptions{Target: c.Target, Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: new session (device %s): %w", c.Device, err)
	}
	list, err := s.ListDevices()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("tfgraph: list devices: %w", err)
	}
	out := &Session{sess: s, cfg: c}
	gpus := 0
	for _, d := range list {
		out.devices = append(out.devices, Device{Name: d.Name, Type: d.Type, MemoryBytes: d.MemoryLimitBytes})
		if d.Type == "GPU" {
			gpus++
		}
	}
	if c.Device.Kind == DeviceGPU && gpus == 0 {
		s.Close()
		return nil, fmt.Errorf("%w (asked for --device %s)", ErrNoGPU, c.Device)
	}
	if c.Precision != "" && c.Precision != FP32 {
		if err := checkPrecision(c.Precision, out.devices, c.Device, HostCPUFeatures()); err != nil {
			s.Close()
			return nil, err
		}
	}
	return out, nil
}

// Devices returns the devices the session sees.
func (s *Session) Devices() []Device { return append([]Device(nil), s.devices...) }

// Run runs the graph: it feeds feeds, fetches fetches and runs targets. The returned tensors
// belong to the caller.
func (s *Session) Run(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]*tf.Tensor, error) {
	if s.sess == nil {
		return nil, errors.New("tfgraph: run on a closed session")
	}
	return s.sess.Run(feeds, fetches, targets)
}

// Close releases the session. It is safe to call more than once.
func (s *Session) Close() error {
	if s == nil || s.sess == nil {
		return nil
	}
	err := s.sess.Close()
	s.sess = nil
	return err
}

// RuntimeVersion returns the version string of the loaded libtensorflow (TF_Version).
func RuntimeVersion() string { return tf.Version() }

// ListDevices returns the devices a session with configuration c sees.
func ListDevices(c SessionConfig) ([]Device, error) {
	s, err := NewSession(tf.NewGraph(), c)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Devices(), nil
}

// MatMulPeak measures the float32 matrix-multiplication rate of the runtime: the median
// GFLOP/s of reps products of two n×n matrices in a session with configuration c.
func MatMulPeak(c SessionConfig, n, reps int) (float64, error) {
	s := op.NewScope()
	a := op.Placeholder(s.SubScope("a"), tf.Float, op.PlaceholderShape(tf.MakeShape(int64(n), int64(n))))
	prod := op.MatMul(s.SubScope("mm"), a, a)
	sum := op.Sum(s.SubScope("sum"), prod, op.Const(s.SubScope("axes"), []int32{0, 1}))
	g, err := s.Finalize()
	if err != nil {
		return 0, err
	}
	sess, err := NewSession(g, c)
	if err != nil {
		return 0, err
	}
	defer sess.Close()
	x, err := NewFloatTensor([]int64{int64(n), int64(n)}, func(d []float32) error {
		for i := range d {
			d[i] = float32(i%7) * 0.1
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var times []float64
	for i := 0; i < reps+1; i++ {
		t0 := time.Now()
		if _, err := sess.Run(map[tf.Output]*tf.Tensor{a: x}, []tf.Output{sum}, nil); err != nil {
			return 0, err
		}
		if i > 0 { // the first run warms up
			times = append(times, time.Since(t0).Seconds())
		}
	}
	slices.Sort(times)
	return 2 * float64(n) * float64(n) * float64(n) / times[len(times)/2] / 1e9, nil
}
