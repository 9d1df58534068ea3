package tfrun

import (
	"errors"
	"fmt"

	tf "github.com/wamuir/graft/tensorflow"
)

// Session is a libtensorflow session over a graph, opened by NewSession from a graph built in Go
// or by LoadSavedModel from a SavedModel; both make the same checks of the device and the
// precision. Run may be called from several goroutines at once, as libtensorflow allows; Close
// waits for runs in flight, and is safe to call more than once.
type Session struct {
	sess    *tf.Session
	devices []Device
	cfg     SessionConfig
}

// Config returns the settings the session was opened with.
func (s *Session) Config() SessionConfig { return s.cfg }

// NewSession opens a session over g with the settings of c. It fails with ErrNoGPU when c asks
// for a GPU that the runtime does not see, and with ErrPrecision when the device cannot run c's
// precision.
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
		return nil, fmt.Errorf("tfrun: new session (device %s): %w", c.Device, err)
	}
	if c.Target == "" {
		return checked(s, c)
	}
	// A session on a gRPC target has no graph on its master until its first run: listing its
	// devices now would make the master create the session over an empty graph (TensorFlow
	// warns "GrpcSession::ListDevices will initialize the session with an empty graph"). The
	// devices are this process's own (the device filter keeps the graph on the local task), so
	// check them on an in-process session with the same settings, then keep the gRPC session.
	local := c
	local.Cluster, local.Target = nil, ""
	lcfg, err := local.ConfigProto()
	if err != nil {
		s.Close()
		return nil, err
	}
	ls, err := tf.NewSession(tf.NewGraph(), &tf.SessionOptions{Config: lcfg})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("tfrun: new session (device %s): %w", c.Device, err)
	}
	checkedLocal, err := checked(ls, local)
	if err != nil {
		s.Close()
		return nil, err
	}
	checkedLocal.Close()
	return &Session{sess: s, cfg: c, devices: checkedLocal.devices}, nil
}

// SavedModel is a SavedModel loaded into a Session: its graph, its signatures and the session
// that holds its variables. Close closes the session.
type SavedModel struct {
	*Session
	Graph      *tf.Graph
	Signatures map[string]tf.Signature
}

// LoadSavedModel loads the SavedModel in dir (the MetaGraph of tags) into a session with the
// settings of c, with the same checks as NewSession: a GPU asked for and not seen is
// ErrNoGPU, a precision the device cannot run is ErrPrecision.
func LoadSavedModel(dir string, tags []string, c SessionConfig) (*SavedModel, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cfg, err := c.ConfigProto()
	if err != nil {
		return nil, err
	}
	sm, err := tf.LoadSavedModel(dir, tags, &tf.SessionOptions{Target: c.Target, Config: cfg})
	if err != nil {
		return nil, err
	}
	s, err := checked(sm.Session, c)
	if err != nil {
		return nil, err
	}
	return &SavedModel{Session: s, Graph: sm.Graph, Signatures: sm.Signatures}, nil
}

// checked lists s's devices and refuses (closing s) a device or precision choice of c that
// they cannot serve.
func checked(s *tf.Session, c SessionConfig) (*Session, error) {
	list, err := s.ListDevices()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("tfrun: list devices: %w", err)
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
// belong to the caller, who closes them (Close) once their values are read; the fed tensors
// stay the caller's.
func (s *Session) Run(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation) ([]*tf.Tensor, error) {
	if s == nil || s.sess == nil {
		return nil, errors.New("tfrun: run on a closed session")
	}
	out, err := s.sess.Run(feeds, fetches, targets)
	if err != nil {
		return nil, err
	}
	opened(len(out))
	return out, nil
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
