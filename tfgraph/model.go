package tfgraph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	tf "github.com/wamuir/graft/tensorflow"
)

// Metrics are the values of one training step (not running means).
type Metrics struct {
	CLoss, CAcc, RAcc, PLoss, PAcc float64
	// NonFinite names the trained weights holding a NaN or Inf after the step's updates (none in
	// a healthy step).
	NonFinite []string
}

// Model is the NNCLR graph of the Keras example in a libtensorflow session: encoder, projection
// head, linear probe, feature queue, two Adam optimizers and the step counter. A Model is not
// safe for concurrent use; Close is idempotent.
type Model struct {
	cfg  ModelConfig
	g    *nnclrGraph
	sess *Session
}

// NewModel builds the graph for cfg and opens a session with sc. Variables are uninitialised:
// call Init or Restore before running a step.
func NewModel(cfg ModelConfig, sc SessionConfig) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g, err := buildGraph(cfg)
	if err != nil {
		return nil, err
	}
	sess, err := NewSession(g.graph, sc)
	if err != nil {
		return nil, err
	}
	return &Model{cfg: cfg, g: g, sess: sess}, nil
}

// Config returns the model's configuration.
func (m *Model) Config() ModelConfig { return m.cfg }

// Session returns the model's session (for device information).
func (m *Model) Session() *Session { return m.sess }

// Close releases the session. It is safe to call more than once.
func (m *Model) Close() error {
	if m == nil {
		return nil
	}
	return m.sess.Close()
}

// VarNames returns every variable name of the model in checkpoint order.
func (m *Model) VarNames() []string {
	out := make([]string, len(m.g.vars))
	for i, v := range m.g.vars {
		out[i] = v.spec.Name
	}
	return out
}

// Array is a variable's value: shape and row-major values (Float for float32 variables, Int for
// int64 ones).
type Array struct {
	Shape []int64
	Float []float32
	Int   []int64
}

func (a Array) size() int64 {
	n := int64(1)
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Init sets every variable from seed: Keras's defaults (glorot-uniform kernels, zero biases),
// zero Adam slots and counters, and a queue of L2-normalized standard-normal rows. Each variable
// draws from its own PCG stream keyed by seed and the variable's position.
func (m *Model) Init(seed uint64) error {
	vals := map[string]Array{}
	for i, v := range m.g.vars {
		sp := v.spec
		a := Array{Shape: sp.Shape}
		if v.dtype == tf.Int64 {
			a.Int = make([]int64, a.size())
			vals[sp.Name] = a
			continue
		}
		a.Float = make([]float32, a.size())
		r := rand.New(rand.NewPCG(seed, uint64(i)+1))
		switch {
		case sp.Name == "queue":
			w := int(sp.Shape[1])
			for row := 0; row < int(sp.Shape[0]); row++ {
				x := a.Float[row*w : (row+1)*w]
				ss := 0.0
				for j := range x {
					g := r.NormFloat64()
					x[j] = float32(g)
					ss += g * g
				}
				inv := 1 / math.Sqrt(math.Max(ss, 1e-12))
				for j := range x {
					x[j] = float32(float64(x[j]) * inv)
				}
			}
		case isKernel(sp.Name):
			glorotUniform(r, sp.Shape, a.Float)
		case strings.HasSuffix(sp.Name, "/gamma") || strings.HasSuffix(sp.Name, "/moving_variance"):
			for j := range a.Float {
				a.Float[j] = 1 // Keras's BatchNormalization: ones
			}
		}
		vals[sp.Name] = a
	}
	return m.SetWeights(vals)
}

func isKernel(name string) bool {
	return len(name) > 7 && name[len(name)-7:] == "/kernel" && name[:5] != "adam_"
}

// glorotUniform fills dst with Keras's default kernel initialisation for shape:
// U(−l, l) with l = √(6 / (fan_in + fan_out)).
func glorotUniform(r *rand.Rand, shape []int64, dst []float32) {
	fanIn, fanOut := fans(shape)
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	for j := range dst {
		dst[j] = float32(-limit + 2*limit*r.Float64())
	}
}

// fans returns Keras's fan-in and fan-out of a kernel: for a conv kernel [kh, kw, in, out] the
// receptive field times in and out; for a dense kernel [in, out] just those.
func fans(shape []int64) (in, out int64) {
	rf := int64(1)
	for _, d := range shape[:len(shape)-2] {
		rf *= d
	}
	return rf * shape[len(shape)-2], rf * shape[len(shape)-1]
}

// ErrShape reports a variable value of the wrong shape.
var ErrShape = errors.New("shape mismatch")

// SetWeights assigns the given variables; names not in vals keep their values. Every name must be
// a model variable and every shape must match: the error names the variable and both shapes.
func (m *Model) SetWeights(vals map[string]Array) error {
	feeds := map[tf.Output]*tf.Tensor{}
	var targets []*tf.Operation
	for _, name := range sortedKeys(vals) {
		a := vals[name]
		v, ok := m.g.byNam[name]
		if !ok {
			return fmt.Errorf("tfgraph: no model variable %q", name)
		}
		if !slices.Equal(a.Shape, v.spec.Shape) {
			return fmt.Errorf("tfgraph: variable %s: %w: value has shape %v, model expects %v", name, ErrShape, a.Shape, v.spec.Shape)
		}
		var t *tf.Tensor
		var err error
		if v.dtype == tf.Int64 {
			if int64(len(a.Int)) != a.size() {
				return fmt.Errorf("tfgraph: variable %s: %d int64 values for shape %v", name, len(a.Int), a.Shape)
			}
			if len(a.Shape) == 0 {
				t, err = tf.NewTensor(a.Int[0])
			} else if t, err = tf.NewTensor(a.Int); err == nil {
				err = t.Reshape(a.Shape)
			}
		} else {
			if int64(len(a.Float)) != a.size() {
				return fmt.Errorf("tfgraph: variable %s: %d float32 values for shape %v", name, len(a.Float), a.Shape)
			}
			t, err = NewFloatTensor(a.Shape, func(dst []float32) error { copy(dst, a.Float); return nil })
		}
		if err != nil {
			return fmt.Errorf("tfgraph: variable %s: %w", name, err)
		}
		feeds[v.in] = t
		targets = append(targets, v.assign)
	}
	if _, err := m.sess.Run(feeds, nil, targets); err != nil {
		return fmt.Errorf("tfgraph: assigning variables: %w", err)
	}
	return nil
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
func (m *Model) Weights(names ...string) (map[string]Array, error) {
	if len(names) == 0 {
		names = m.VarNames()
	}
	var fetch []tf.Output
	for _, n := range names {
		v, ok := m.g.byNam[n]
		if !ok {
			return nil, fmt.Errorf("tfgraph: no model variable %q", n)
		}
		fetch = append(fetch, v.read)
	}
	out, err := m.sess.Run(nil, fetch, nil)
	if err != nil {
		return nil, fmt.Errorf("tfgraph: reading variables: %w", err)
	}
	res := map[string]Array{}
	for i, n := range names {
		a, err := TensorArray(out[i])
		if err != nil {
			return nil, fmt.Errorf("tfgraph: variable %s: %w", n, err)
		}
		res[n] = a
	}
	return res, nil
}

// TensorArray copies a float32 or int64 tensor into an Array.
func TensorArray(t *tf.Tensor) (Array, error) {
	a := Array{Shape: slices.Clone(t.Shape())}
	switch t.DataType() {
	case tf.Float:
		f, err := Float32s(t)
		a.Float = f
		return a, err
	case tf.Int64:
		switch v := t.Value().(type) {
		case int64:
			a.Int = []int64{v}
		case []int64:
			a.Int = v
		default:
			return a, fmt.Errorf("unexpected int64 tensor of shape %v", a.Shape)
		}
		return a, nil
	}
	return a, fmt.Errorf("unsupported dtype %v", t.DataType())
}

// Batch is the input of one training step. Views holds the two augmented contrastive views of
// the same n images (unlabelled then labelled) as one tensor of 2n images: view 1 of all n, then
// view 2 of all n (the graph splits it into the two views without a copy). ProbeX is the probe's
// classification view of the labelled images and ProbeY their labels. Tensors are float32 NHWC in
// [0, 1]; ProbeY is int64.
type Batch struct {
	Views, ProbeX *tf.Tensor
	ProbeY        *tf.Tensor
	// SupportPick, needed when ModelConfig.SupportTopK > 1 (and nil otherwise), is int32 [2, B]:
	// for view 1's and view 2's rows of the (global) contrastive batch, which of the K nearest
	// queue rows (0 the nearest) is the positive.
	SupportPick *tf.Tensor
}

// TrainStep runs one contrastive step and one probe step in a single session run and returns
// the step's metrics. Batches larger than the queue are refused.
func (m *Model) TrainStep(b Batch) (Metrics, error) {
	if err := m.checkBatch(b); err != nil {
		return Metrics{}, err
	}
	out, err := m.sess.Run(m.trainFeeds(b), append(slices.Clip(m.g.trainFetch), m.g.finite), []*tf.Operation{m.g.trainOp})
	if err != nil {
		return Metrics{}, fmt.Errorf("tfgraph: train step: %w", err)
	}
	n := len(m.g.trainFetch)
	v := make([]float64, n)
	for i, t := range out[:n] {
		v[i] = float64(t.Value().(float32))
	}
	met := Metrics{CLoss: v[0], CAcc: v[1], RAcc: v[2], PLoss: v[3], PAcc: v[4]}
	for i, ok := range out[n].Value().([]bool) {
		if !ok {
			met.NonFinite = append(met.NonFinite, m.g.finiteNames[i])
		}
	}
	return met, nil
}

// checkBatch refuses a train step's batch the graph cannot take.
func (m *Model) checkBatch(b Batch) error {
	if b.Views == nil || b.ProbeX == nil || b.ProbeY == nil {
		return errors.New("tfgraph: train step: batch has a nil tensor")
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
	f := map[tf.Output]*tf.Tensor{m.g.views: b.Views, m.g.probeX: b.ProbeX, m.g.probeY: b.ProbeY}
	if b.SupportPick != nil {
		f[m.g.supportPick] = b.SupportPick
	}
	return f
}

// TestStep evaluates the probe on x (float32 NHWC in [0, 1]) with labels y and returns the mean
// loss and the number of correct predictions.
func (m *Model) TestStep(x, y *tf.Tensor) (loss float64, correct int, err error) {
	out, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.g.testX: x, m.g.testY: y}, m.g.testFetch, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("tfgraph: test step: %w", err)
	}
	return float64(out[0].Value().(float32)), int(out[1].Value().(float32)), nil
}

// Forward returns the encoder features, the (unnormalized) projections and the probe logits of x.
func (m *Model) Forward(x *tf.Tensor) (features, projections, logits []float32, err error) {
	out, err := m.sess.Run(map[tf.Output]*tf.Tensor{m.g.fwdX: x}, m.g.fwdFetch, nil)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("tfgraph: forward: %w", err)
	}
	res := make([][]float32, 3)
	for i, t := range out {
		if res[i], err = Float32s(t); err != nil {
			return nil, nil, nil, err
		}
	}
	return res[0], res[1], res[2], nil
}
