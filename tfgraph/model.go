package tfgraph

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
)

// Metrics are the values of one training step (not running means).
type Metrics struct {
	CLoss, CAcc, RAcc float64
	// Probe says whether the model has a probe: PLoss and PAcc are measured only then (a model
	// without a probe, ModelConfig.HasProbe, leaves them 0 and Probe false).
	Probe       bool
	PLoss, PAcc float64
	// NonFinite names the trained weights holding a NaN or Inf after the step's updates (none in
	// a healthy step).
	NonFinite []string
}

// Model is the NNCLR graph of the Keras example in a libtensorflow session: encoder, projection
// head, linear probe, feature queue, two Adam optimizers and the step counter (a model without a
// probe, for a dataset without labels, has neither the probe nor its optimizer:
// ModelConfig.HasProbe). A Model is not
// safe for concurrent use; Close is idempotent.
type Model struct {
	cfg  ModelConfig
	g    *nnclrGraph
	sess *tfrun.Session
}

// NewModel builds the graph for cfg and opens a session with sc. Variables are uninitialised:
// call Init or Restore before running a step.
func NewModel(cfg ModelConfig, sc tfrun.SessionConfig) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gcfg := cfg
	if cpu, err := tfrun.RunsOnCPU(sc); err != nil {
		return nil, err
	} else if cpu && !cfg.testStockKernels && !cfg.testFloat64 {
		// One pass of nnclr's kernel instead of ReluGrad and oneDNN's bias reduction (and, in
		// bf16, instead of Eigen's ReluGrad, which converts every bfloat16 to float and back).
		// TensorFlow's ops stay when the kernel cannot be registered.
		if name, err := tfrun.ReluGradBiasOp(); err == nil {
			gcfg.reluGradBiasOp = name
		}
	}
	g, err := buildGraph(gcfg)
	if err != nil {
		return nil, err
	}
	sess, err := tfrun.NewSession(g.graph, sc)
	if err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, g: g, sess: sess}, nil
}

// Config returns the model's configuration.
func (m *Model) Config() ModelConfig { return m.cfg }

// Session returns the model's session (for device information).
func (m *Model) Session() *tfrun.Session { return m.sess }

// Close releases the session. It is safe to call more than once.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	return m.sess.Close()
}

// run runs the session and hands the fetched tensors to read (when not nil), closing them after.
func (m *Model) run(feeds map[tf.Output]*tf.Tensor, fetches []tf.Output, targets []*tf.Operation, read func([]*tf.Tensor) error) error {
	out, err := m.sess.Run(feeds, fetches, targets)
	if err != nil {
		return err
	}
	defer tfrun.Close(out...)
	if read == nil {
		return nil
	}
	return read(out)
}

// VarNames returns every variable name of the model in checkpoint order.
func (m *Model) VarNames() []string {
	out := make([]string, len(m.g.vars))
	for i, v := range m.g.vars {
		out[i] = v.spec.Name
	}
	return out
}

// LearningRate returns the contrastive optimizer's learning rate for the next train step: the
// schedule's value at the steps taken (its counter), float32 as the step computes it.
func (m *Model) LearningRate() (float64, error) {
	if m.g.lr.Op == nil {
		return float64(float32(m.cfg.LearningRate)), nil
	}
	var lr float64
	err := m.run(nil, []tf.Output{m.g.lr}, nil, func(out []*tf.Tensor) error {
		lr = float64(out[0].Value().(float32))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("tfgraph: learning rate: %w", err)
	}
	return lr, nil
}

// ErrShape reports a variable value of the wrong shape.
var ErrShape = errors.New("shape mismatch")

// SetWeights assigns the given variables; names not in vals keep their values. Every name must be
// a model variable and every shape must match: the error names the variable and both shapes.
func (m *Model) SetWeights(vals map[string]tfrun.Array) error {
	return setWeights(m.sess, m.g.byName, vals)
}

func setWeights(sess *tfrun.Session, byName map[string]*variable, vals map[string]tfrun.Array) error {
	feeds := map[tf.Output]*tf.Tensor{}
	defer func() {
		for _, t := range feeds {
			tfrun.Close(t)
		}
	}()
	var targets []*tf.Operation
	for _, name := range sortedKeys(vals) {
		a := vals[name]
		v, ok := byName[name]
		if !ok {
			return fmt.Errorf("tfgraph: no model variable %q", name)
		}
		if !slices.Equal(a.Shape, v.spec.Shape) {
			return fmt.Errorf("tfgraph: variable %s: %w: value has shape %v, model expects %v", name, ErrShape, a.Shape, v.spec.Shape)
		}
		if (v.dtype == tf.Int64) != (a.Int != nil) {
			return fmt.Errorf("tfgraph: variable %s: value of the wrong type (%s variable)", name, tfrun.DTypeName(v.dtype))
		}
		t, err := tfrun.ArrayTensor(a)
		if err != nil {
			return fmt.Errorf("tfgraph: variable %s: %w", name, err)
		}
		feeds[v.in] = t
		targets = append(targets, v.assign)
	}
	out, err := sess.Run(feeds, nil, targets)
	if err != nil {
		return fmt.Errorf("tfgraph: assigning variables: %w", err)
	}
	return tfrun.Close(out...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Weights returns the current value of the named variables (all of them when names is empty).
func (m *Model) Weights(names ...string) (map[string]tfrun.Array, error) {
	if len(names) == 0 {
		names = m.VarNames()
	}
	var fetch []tf.Output
	for _, n := range names {
		v, ok := m.g.byName[n]
		if !ok {
			return nil, fmt.Errorf("tfgraph: no model variable %q", n)
		}
		fetch = append(fetch, v.out)
	}
	res := map[string]tfrun.Array{}
	err := m.run(nil, fetch, nil, func(out []*tf.Tensor) error {
		for i, n := range names {
			a, err := tfrun.TensorArray(out[i])
			if err != nil {
				return fmt.Errorf("variable %s: %w", n, err)
			}
			res[n] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: reading variables: %w", err)
	}
	return res, nil
}

// Batch is the input of one training step. Views holds the two augmented contrastive views of
// the same n images (unlabelled then labelled) as one tensor of 2n images: view 1 of all n, then
// view 2 of all n (the graph splits it into the two views without a copy). ProbeX is the probe's
// classification view of the labelled images and ProbeY their labels; a model without a probe
// (ModelConfig.HasProbe) takes neither (nil), and its views are of the unlabelled images only.
// Tensors are float32 NHWC in [0, 1]; ProbeY is int64. The Batch's tensors are its owner's: TrainStep does not close them;
// Close does.
type Batch struct {
	Views, ProbeX *tf.Tensor
	ProbeY        *tf.Tensor
	// SupportPick, needed when ModelConfig.SupportTopK > 1 (and nil otherwise), is int32 [2, B]:
	// for view 1's and view 2's rows of the (global) contrastive batch, which of the K nearest
	// queue rows (0 the nearest) is the positive.
	SupportPick *tf.Tensor
}

// Close closes the batch's tensors (tfrun.Close: an error when one was closed already).
func (b Batch) Close() error { return tfrun.Close(b.Views, b.ProbeX, b.ProbeY, b.SupportPick) }

// TrainStep runs one contrastive step and one probe step in a single session run and returns
// the step's metrics. Batches larger than the queue are refused.
func (m *Model) TrainStep(b Batch) (Metrics, error) {
	if err := m.checkBatch(b); err != nil {
		return Metrics{}, err
	}
	var met Metrics
	err := m.run(m.trainFeeds(b), append(slices.Clip(m.g.trainFetch), m.g.finite), []*tf.Operation{m.g.trainOp}, func(out []*tf.Tensor) error {
		n := len(m.g.trainFetch)
		v := make([]float64, n)
		for i, t := range out[:n] {
			v[i] = float64(t.Value().(float32))
		}
		met = Metrics{CLoss: v[0], CAcc: v[1], RAcc: v[2]}
		if n == 5 {
			met.Probe, met.PLoss, met.PAcc = true, v[3], v[4]
		}
		for i, ok := range out[n].Value().([]bool) {
			if !ok {
				met.NonFinite = append(met.NonFinite, m.g.finiteNames[i])
			}
		}
		return nil
	})
	if err != nil {
		return Metrics{}, fmt.Errorf("tfgraph: train step: %w", err)
	}
	return met, nil
}

// TraceStep runs one train step as TrainStep does (the same update of the weights, the queue and
// the step counter) under FULL_TRACE and returns its kernels' times instead of the metrics.
func (m *Model) TraceStep(b Batch) ([]tfrun.OpTime, error) {
	if err := m.checkBatch(b); err != nil {
		return nil, err
	}
	ops, err := m.sess.Trace(m.trainFeeds(b), append(slices.Clip(m.g.trainFetch), m.g.finite), []*tf.Operation{m.g.trainOp})
	if err != nil {
		return nil, fmt.Errorf("tfgraph: train step: %w", err)
	}
	return ops, nil
}

// checkBatch refuses a train step's batch the graph cannot take.
func (m *Model) checkBatch(b Batch) error {
	switch probe := m.cfg.HasProbe(); {
	case b.Views == nil || (probe && (b.ProbeX == nil || b.ProbeY == nil)):
		return errors.New("tfgraph: train step: batch has a nil tensor")
	case !probe && (b.ProbeX != nil || b.ProbeY != nil):
		return errors.New("tfgraph: train step: a ProbeX or ProbeY for a model without a probe (num_classes 0)")
	}
	shp := b.Views.Shape()
	if len(shp) != 4 || shp[0]%2 != 0 {
		return fmt.Errorf("tfgraph: train step: views tensor of shape %v, want [2n, height, width, channels] (view 1 of n images, then view 2)", shp)
	}
	if n := shp[0] / 2; n > int64(m.cfg.QueueSize) {
		return fmt.Errorf("tfgraph: train step: contrastive batch of %d images exceeds the queue size %d", n, m.cfg.QueueSize)
	}
	switch k := m.cfg.topK(); {
	case k > 1 && b.SupportPick == nil:
		return fmt.Errorf("tfgraph: train step: support_topk %d needs the batch's SupportPick", k)
	case k == 1 && b.SupportPick != nil:
		return errors.New("tfgraph: train step: a SupportPick with support_topk 1")
	case b.SupportPick != nil:
		if s := b.SupportPick.Shape(); len(s) != 2 || s[0] != 2 || b.SupportPick.DataType() != tf.Int32 {
			return fmt.Errorf("tfgraph: train step: SupportPick of shape %v and type %v, want int32 [2, batch]", s, b.SupportPick.DataType())
		}
	}
	return nil
}

// trainFeeds returns the train step's feeds of b.
func (m *Model) trainFeeds(b Batch) map[tf.Output]*tf.Tensor {
	f := map[tf.Output]*tf.Tensor{m.g.views: b.Views}
	if m.cfg.HasProbe() {
		f[m.g.probeX], f[m.g.probeY] = b.ProbeX, b.ProbeY
	}
	if b.SupportPick != nil {
		f[m.g.supportPick] = b.SupportPick
	}
	return f
}

// TestStep evaluates the probe on x (float32 NHWC in [0, 1]) with labels y and returns the mean
// loss and the number of correct predictions. x and y stay the caller's. A model without a probe
// has no test step (ErrNoProbe).
func (m *Model) TestStep(x, y *tf.Tensor) (loss float64, correct int, err error) {
	if !m.cfg.HasProbe() {
		return 0, 0, fmt.Errorf("tfgraph: test step: %w", ErrNoProbe)
	}
	err = m.run(map[tf.Output]*tf.Tensor{m.g.testX: x, m.g.testY: y}, m.g.testFetch, nil, func(out []*tf.Tensor) error {
		loss, correct = float64(out[0].Value().(float32)), int(out[1].Value().(float32))
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("tfgraph: test step: %w", err)
	}
	return loss, correct, nil
}

// ErrNoProbe reports a use of the probe in a model without one (ModelConfig.NumClasses 0).
var ErrNoProbe = errors.New("the model has no probe (num_classes 0: a dataset without labels)")

// Forward returns the encoder features, the (unnormalized) projections and the probe logits of x
// (which stays the caller's); logits is nil in a model without a probe.
func (m *Model) Forward(x *tf.Tensor) (features, projections, logits []float32, err error) {
	res := make([][]float32, 3)
	err = m.run(map[tf.Output]*tf.Tensor{m.g.fwdX: x}, m.g.fwdFetch, nil, func(out []*tf.Tensor) error {
		for i, t := range out {
			var err error
			if res[i], err = tfrun.Float32s(t); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tfgraph: forward: %w", err)
	}
	return res[0], res[1], res[2], nil
}
