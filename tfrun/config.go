package tfrun

import (
	"fmt"
	"strconv"

	"github.com/nnclr/nnclr/setting"
	configpb "github.com/wamuir/graft/tensorflow/core/protobuf/for_core_protos_go_proto"
	"google.golang.org/protobuf/proto"
)

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
		return fmt.Errorf("tfrun: %w", setting.Errorf("intra_op_threads", c.IntraOpThreads, "want >= 0"))
	}
	if c.InterOpThreads < 0 {
		return fmt.Errorf("tfrun: %w", setting.Errorf("inter_op_threads", c.InterOpThreads, "want >= 0"))
	}
	if !c.Precision.valid() {
		return setting.Errorf("precision", string(c.Precision), "want fp32, bf16 or fp16")
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
		return nil, fmt.Errorf("tfrun: session config: %w", err)
	}
	return b, nil
}
