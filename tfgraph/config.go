package tfgraph

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/nnclr/nnclr/setting"
	"github.com/nnclr/nnclr/tfrun"
	tf "github.com/wamuir/graft/tensorflow"
)

// ModelConfig describes the NNCLR model of the Keras example and its optimizers.
type ModelConfig struct {
	// Height, Width and Channels are the input image shape.
	Height, Width, Channels int
	// NumClasses is the linear probe's output size; 0 is a model without a probe, for a dataset
	// without labels (HasProbe): no probe variables or optimizer, a train step of the
	// contrastive part only, no test step, no logits.
	NumClasses int
	// ModelWidth is the conv filter count and the width of the dense layers (128).
	ModelWidth int
	// Temperature divides the contrastive logits (0.1).
	Temperature float64
	// QueueSize is the number of rows of the nearest-neighbour support queue (10,000).
	QueueSize int
	// LearningRate is the contrastive optimizer's learning rate (its peak under warmup-cosine);
	// Beta1, Beta2 and Epsilon configure both Adam optimizers (1e-3, 0.9, 0.999, 1e-7).
	LearningRate, Beta1, Beta2, Epsilon float64
	// ProbeLearningRate is the probe's Adam learning rate, constant (0: LearningRate, as when
	// one rate set both).
	ProbeLearningRate float64
	// Optimizer is the contrastive step's optimizer (Optimizers): "adam" (the Keras example's,
	// and the zero value's meaning), "sgd" (Keras's SGD with Momentum) or "lars" (You et al.
	// 2017 on that SGD). The probe keeps its own Adam.
	Optimizer string
	// Momentum is SGD's and LARS's momentum μ (Keras's form: v ← μ·v − lr·d, w ← w + v);
	// Adam ignores it.
	Momentum float64
	// WeightDecay is the contrastive optimizer's weight decay on every variable but biases and
	// batch-norm parameters: for SGD and LARS the L2 term WeightDecay·w added to the gradient;
	// for Adam decoupled, as keras.optimizers.Adam's weight_decay (AdamW's):
	// w ← w − w·WeightDecay·lr before the update. 0: none.
	WeightDecay float64
	// LARSEta is LARS's trust coefficient η (0.001), and LARSClip clips the trust ratio as
	// solo-learn's clip_lr: the layer's rate min(λ, lr) instead of lr·λ. Others ignore them.
	LARSEta  float64
	LARSClip bool
	// LRSchedule is the contrastive optimizer's learning-rate schedule (Schedules): "constant"
	// (the zero value's meaning) or "warmup-cosine", per step, over WarmupSteps of linear
	// warm-up from 0 then a cosine decay to 0 at TotalSteps (see optimizer.learningRate).
	LRSchedule              string
	WarmupSteps, TotalSteps int
	// SupportTopK is how many nearest queue rows the positive is drawn from, uniformly (the
	// paper's top-k ablation); 1 (the example's, and the zero value's meaning) is the nearest.
	// Above 1 every train step takes Batch.SupportPick.
	SupportTopK int
	// ProjHidden and ProjDim are the projection head's hidden and output widths (0: ModelWidth,
	// the example's). The queue's rows and the prediction head's output are ProjDim wide.
	ProjHidden, ProjDim int
	// HeadBN gives the projection and prediction heads the paper's batch normalisation: the
	// projection head is Dense-BN-ReLU, Dense-BN; the prediction head Dense-BN-ReLU, Dense (with
	// bias). The Dense layers before a BN have no bias. BN is Keras's BatchNormalization
	// (momentum 0.99, epsilon 1e-3): batch statistics in the train step (each view's own, the
	// moving statistics updated after view 1 then view 2), the moving ones in Forward.
	HeadBN bool
	// PredHidden, when above 0, adds the paper's prediction head: an MLP (Dense(PredHidden),
	// ReLU, Dense(ProjDim)) applied to each view's projection, trained with the encoder and
	// the projection head. The nearest neighbour of one view's normalised projection is then
	// the positive of the other view's normalised prediction: the four logit blocks become
	// NN(p1)·q2ᵀ, q2·NN(p1)ᵀ, NN(p2)·q1ᵀ, q1·NN(p2)ᵀ (q the predictions), and the queue still
	// takes the projections. 0 (the example's) is no prediction head.
	PredHidden int
	// Backbone is the encoder: "conv4" (the Keras example's, and the zero value's meaning),
	// "resnet18" or "resnet50" (Backbones). ModelWidth is then only conv4's.
	Backbone string
	// Stem is a ResNet's first layers: "imagenet" (7×7/2 convolution, 3×3/2 max-pool) or
	// "cifar" (3×3/1, no pool); "" picks cifar below 64 pixels (height or width), imagenet
	// otherwise. conv4 has no stem.
	Stem string
	// InputNorm is the encoder's input normalisation (InputNorms): "unit" (the zero value's
	// meaning: the [0, 1] inputs as they are), "imagenet" (per-channel mean and standard
	// deviation) or "caffe" (keras.applications.resnet.preprocess_input). Every step, the
	// forward pass and the export apply it.
	InputNorm string
	// Parallel, when set, makes the train step one worker's share of a data-parallel step over
	// the global batch (see DataParallel); nil is the single-process step.
	Parallel *DataParallel

	// testFloat64 builds the model graph in float64: its variables, constants and computation
	// (float32 stays at the boundary: the inputs are cast once where they enter the encoder;
	// SetWeights, Weights, checkpoints and every fetch convert). It is for the tests that
	// compare the train step with Keras run in float64 (TestResNetStepsMatchKerasFloat64) and
	// data-parallel workers with one process (TestDataParallelEqualsOneProcess's float64
	// ResNet cases: the collectives and synchronised batch norms take the float64 tensors),
	// where float32 rounding parts the two; no user setting reaches it.
	testFloat64 bool
	// reluGradBiasOp, when set, is the op type the hand-written backward pass builds for a
	// ReLU's gradient with the gradient of the bias before it, instead of ReluGrad and
	// BiasAddGrad (reluGradBias): NewModel sets it to tfrun.ReluGradBiasOp's for a float32 or
	// bfloat16 graph on the CPU; the graph is otherwise the same. testStockKernels keeps
	// TensorFlow's ops, for the tests that compare.
	reluGradBiasOp   string
	testStockKernels bool
}

// floatType is the type of the model graph's float variables and computation: float32, or
// float64 in the tests' float64 model (testFloat64).
func (c ModelConfig) floatType() tf.DataType {
	if c.testFloat64 {
		return tf.Double
	}
	return tf.Float
}

// DataParallel places a model in a group of Workers data-parallel workers on TensorFlow's
// distributed runtime (its session from a Cluster). Every worker feeds the same number of images
// of each global batch: Unlabelled and Labelled of them, its slice of the global batch's
// unlabelled and labelled parts (worker w the w-th slice). The step then equals the
// single-process step on the whole global batch: the normalised projections of all workers are
// gathered (CollectiveGatherV2), so the contrastive loss sees the global batch as negatives and
// every worker computes the same loss, with gradients reaching its own rows only; the queue takes
// the global batch's projections in the global order; the encoder, head and probe gradients are
// summed across workers (CollectiveReduceV2, Add, one packed tensor per optimizer); every batch
// norm of the train step (the heads' with HeadBN, a ResNet's) normalises with the global batch's
// moments, forward and backward (syncBN). Weights, Adam state, the queue and the moving
// statistics stay identical on every worker.
type DataParallel struct {
	Workers, Task        int
	Unlabelled, Labelled int
	// Timeout bounds every collective (0: DefaultCollectiveTimeout).
	Timeout time.Duration
}

func (d *DataParallel) validate() error {
	switch {
	case d.Workers < 1 || d.Task < 0 || d.Task >= d.Workers:
		return fmt.Errorf("tfgraph: data-parallel task %d of %d workers", d.Task, d.Workers)
	case d.Unlabelled < 0 || d.Labelled < 0 || d.Unlabelled+d.Labelled <= 0:
		return fmt.Errorf("tfgraph: data-parallel worker share %d unlabelled + %d labelled images: want >= 0 each and > 0 in all", d.Unlabelled, d.Labelled)
	case d.Timeout < 0:
		return fmt.Errorf("tfgraph: data-parallel collective timeout %s: want >= 0", d.Timeout)
	}
	return nil
}

// timeout is the collectives' bound.
func (d *DataParallel) timeout() time.Duration {
	if d.Timeout > 0 {
		return d.Timeout
	}
	return tfrun.DefaultCollectiveTimeout
}

// DefaultModelConfig returns the Keras example's model for STL-10 (96×96×3, 10 classes), trained
// by Adam at a constant 1e-3 (the probe too), with SGD's and LARS's settings at their defaults
// (momentum 0.9, η 0.001).
func DefaultModelConfig() ModelConfig {
	return ModelConfig{Height: 96, Width: 96, Channels: 3, NumClasses: 10, ModelWidth: 128,
		Temperature: 0.1, QueueSize: 10000, LearningRate: 1e-3, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7, SupportTopK: 1,
		Optimizer: OptimizerAdam, Momentum: 0.9, LARSEta: 0.001, LRSchedule: ScheduleConstant}
}

// Validate reports the first setting that cannot make a model as a *setting.Error (wrapped
// with the package prefix) naming the field in snake_case: "model_width", "queue_size",
// "height" (an input too small for the four convolutions), ...
func (c ModelConfig) Validate() error {
	if c.Parallel != nil {
		if err := c.Parallel.validate(); err != nil {
			return err
		}
		if c.HasProbe() && c.Parallel.Labelled == 0 {
			return fmt.Errorf("tfgraph: data-parallel worker share of 0 labelled images: the probe (num_classes %d) needs labelled images", c.NumClasses)
		}
	}
	bad := func(name string, v any, want string, args ...any) error {
		return fmt.Errorf("tfgraph: model: %w", setting.Errorf(name, v, want, args...))
	}
	finitePos := func(v float64) bool { return v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) }
	switch {
	case c.Channels <= 0:
		return bad("channels", c.Channels, "want > 0")
	case c.NumClasses < 0 || c.NumClasses == 1:
		return bad("num_classes", c.NumClasses, "want >= 2, or 0 for a model without a probe (a dataset without labels)")
	case c.ModelWidth <= 0:
		return bad("model_width", c.ModelWidth, "want > 0")
	case !finitePos(c.Temperature):
		return bad("temperature", c.Temperature, "want a finite value > 0")
	case c.QueueSize <= 0:
		return bad("queue_size", c.QueueSize, "want > 0")
	case c.SupportTopK < 0:
		return bad("support_topk", c.SupportTopK, "want >= 1 (1: the nearest neighbour)")
	case c.SupportTopK > c.QueueSize:
		return bad("support_topk", c.SupportTopK, "more neighbours than the queue's %d rows", c.QueueSize)
	case c.PredHidden < 0:
		return bad("pred_hidden", c.PredHidden, "want >= 0 (0: no prediction head)")
	case c.ProjHidden < 0:
		return bad("proj_hidden", c.ProjHidden, "want >= 0 (0: the model width)")
	case c.ProjDim < 0:
		return bad("proj_dim", c.ProjDim, "want >= 0 (0: the model width)")
	case !finitePos(c.LearningRate):
		return bad("learning_rate", c.LearningRate, "want a finite value > 0")
	case !(c.Beta1 >= 0 && c.Beta1 < 1):
		return bad("beta1", c.Beta1, "want in [0, 1)")
	case !(c.Beta2 >= 0 && c.Beta2 < 1):
		return bad("beta2", c.Beta2, "want in [0, 1)")
	case !finitePos(c.Epsilon):
		return bad("epsilon", c.Epsilon, "want a finite value > 0")
	}
	if err := c.validateRecipe(); err != nil {
		return fmt.Errorf("tfgraph: model: %w", err)
	}
	if err := c.validateBackbone(); err != nil {
		return fmt.Errorf("tfgraph: model: %w", err)
	}
	if err := backboneOf(c).validate(); err != nil {
		return fmt.Errorf("tfgraph: model: %w", err)
	}
	return nil
}

// validateBackbone checks Backbone, Stem and InputNorm.
func (c ModelConfig) validateBackbone() error {
	switch {
	case !slices.Contains(Backbones, c.backbone()):
		return setting.Errorf("backbone", c.Backbone, "want one of %s", strings.Join(Backbones, ", "))
	case c.Stem != "" && !slices.Contains(Stems, c.Stem):
		return setting.Errorf("stem", c.Stem, "want one of %s", strings.Join(Stems, ", "))
	case c.Stem != "" && !c.isResNet():
		return setting.Errorf("stem", c.Stem, "only a ResNet backbone has a stem (backbone %s)", c.backbone())
	case !slices.Contains(InputNorms, c.inputNorm()):
		return setting.Errorf("input_norm", c.InputNorm, "want one of %s", strings.Join(InputNorms, ", "))
	case c.inputNorm() != NormUnit && c.Channels != 3:
		return setting.Errorf("input_norm", c.InputNorm, "normalises RGB images: want 3 channels, not %d", c.Channels)
	}
	return nil
}

// backbone, stem and inputNorm are Backbone, Stem and InputNorm with their zero values read.
func (c ModelConfig) backbone() string { return cmp.Or(c.Backbone, BackboneConv4) }
func (c ModelConfig) isResNet() bool   { return c.backbone() != BackboneConv4 }

// IsResNet reports a ResNet backbone (resnet18, resnet50).
func (c ModelConfig) IsResNet() bool    { return c.isResNet() }
func (c ModelConfig) inputNorm() string { return cmp.Or(c.InputNorm, NormUnit) }
func (c ModelConfig) stem() string {
	switch {
	case c.Stem != "":
		return c.Stem
	case min(c.Height, c.Width) < 64:
		return StemCIFAR
	}
	return StemImageNet
}

// ResolvedStem is the stem a ResNet of c uses (Stem, or its default for the input size); ""
// for conv4.
func (c ModelConfig) ResolvedStem() string {
	if !c.isResNet() {
		return ""
	}
	return c.stem()
}

// VarSpec names a model variable and its shape. Names are shared with the Keras reference
// (pyref/nnclr_keras.py) and the checkpoints.
type VarSpec struct {
	Name  string
	Shape []int64
}

func (v VarSpec) size() int64 { return tfrun.Array{Shape: v.Shape}.Size() }

// EncoderVars returns the encoder's variables in layer order.
func (c ModelConfig) EncoderVars() []VarSpec { return backboneOf(c).vars() }

// FeatureWidth is the width of the encoder's features (the probe's input, the embedding).
func (c ModelConfig) FeatureWidth() int { return backboneOf(c).featureWidth() }

// EncoderStatVars returns the encoder's BN moving statistics (none for conv4).
func (c ModelConfig) EncoderStatVars() []VarSpec { return backboneOf(c).statVars() }

// projHidden and projDim are ProjHidden and ProjDim with their zero values read: ModelWidth for
// conv4, 2048 and 256 on a ResNet.
func (c ModelConfig) projHidden() int {
	if c.isResNet() {
		return cmp.Or(c.ProjHidden, 2048)
	}
	return cmp.Or(c.ProjHidden, c.ModelWidth)
}

func (c ModelConfig) projDim() int {
	if c.isResNet() {
		return cmp.Or(c.ProjDim, 256)
	}
	return cmp.Or(c.ProjDim, c.ModelWidth)
}

// HeadWidths returns the projection head's input, hidden and output widths (ProjHidden and
// ProjDim with their zero values read).
func (c ModelConfig) HeadWidths() (in, hidden, out int) {
	return c.FeatureWidth(), c.projHidden(), c.projDim()
}

// Describe names the encoder: "conv4 width 128", "resnet18 (cifar stem)", and the input
// normalisation when it is not unit.
func (c ModelConfig) Describe() string {
	d := fmt.Sprintf("%s width %d", BackboneConv4, c.ModelWidth)
	if c.isResNet() {
		d = fmt.Sprintf("%s (%s stem, %d features)", c.backbone(), c.stem(), c.FeatureWidth())
	}
	if c.inputNorm() != NormUnit {
		d += ", input norm " + c.inputNorm()
	}
	return d
}

// HeadVars returns the projection head's trained variables: per layer a kernel and a bias, or
// with HeadBN a kernel and the BN's gamma and beta.
func (c ModelConfig) HeadVars() []VarSpec {
	return c.mlpVars("head", []int{c.FeatureWidth(), c.projHidden(), c.projDim()}, c.HeadBN, c.HeadBN)
}

// mlpVars are the trained variables of a two-layer MLP of sizes in → hidden → out named
// prefix/dense0, prefix/dense1 (prefix/bn0, prefix/bn1 for the BNs after them when bn0, bn1).
func (c ModelConfig) mlpVars(prefix string, sizes []int, bn0, bn1 bool) []VarSpec {
	var out []VarSpec
	for i, bn := range []bool{bn0, bn1} {
		in, o := int64(sizes[i]), int64(sizes[i+1])
		out = append(out, VarSpec{fmt.Sprintf("%s/dense%d/kernel", prefix, i), []int64{in, o}})
		if bn {
			out = append(out, VarSpec{fmt.Sprintf("%s/bn%d/gamma", prefix, i), []int64{o}}, VarSpec{fmt.Sprintf("%s/bn%d/beta", prefix, i), []int64{o}})
		} else {
			out = append(out, VarSpec{fmt.Sprintf("%s/dense%d/bias", prefix, i), []int64{o}})
		}
	}
	return out
}

// StatVars returns the heads' BN moving statistics (none without HeadBN): not trained, updated
// by the train step, saved in checkpoints.
func (c ModelConfig) StatVars() []VarSpec {
	if !c.HeadBN {
		return nil
	}
	stats := func(prefix string, width int) []VarSpec {
		w := []int64{int64(width)}
		return []VarSpec{{prefix + "/moving_mean", w}, {prefix + "/moving_variance", w}}
	}
	out := append(stats("head/bn0", c.projHidden()), stats("head/bn1", c.projDim())...)
	if c.PredHidden > 0 {
		out = append(out, stats("pred/bn0", c.PredHidden)...)
	}
	return out
}

// PredVars returns the prediction head's variables (none without one).
func (c ModelConfig) PredVars() []VarSpec {
	if c.PredHidden <= 0 {
		return nil
	}
	return c.mlpVars("pred", []int{c.projDim(), c.PredHidden, c.projDim()}, c.HeadBN, false)
}

// topK is SupportTopK with its zero value read as 1.
func (c ModelConfig) topK() int { return max(c.SupportTopK, 1) }

// HasProbe reports whether the model has the online linear probe: NumClasses > 0.
func (c ModelConfig) HasProbe() bool { return c.NumClasses > 0 }

// ProbeVars returns the linear probe's variables (none without a probe).
func (c ModelConfig) ProbeVars() []VarSpec {
	if !c.HasProbe() {
		return nil
	}
	return c.probeSpecs()
}

// probeSpecs are the probe's variables of a model with a probe.
func (c ModelConfig) probeSpecs() []VarSpec {
	return []VarSpec{
		{"probe/kernel", []int64{int64(c.FeatureWidth()), int64(c.NumClasses)}},
		{"probe/bias", []int64{int64(c.NumClasses)}},
	}
}

// ForwardFLOPs returns the floating-point operations (2 per multiply-add) of one image through
// the encoder and, separately, through the projection head.
func (c ModelConfig) ForwardFLOPs() (encoder, head float64) {
	ph, pd := float64(c.projHidden()), float64(c.projDim())
	return backboneOf(c).flops(), 2*float64(c.FeatureWidth())*ph + 2*ph*pd
}

// StepFLOPs estimates the floating-point operations of one training step with b contrastive and
// bl probe images: forward and backward (about 3× forward) of encoder and head on both views,
// the nearest-neighbour searches and logits, and the probe's forward pass.
func (c ModelConfig) StepFLOPs(b, bl int) float64 {
	enc, head := c.ForwardFLOPs()
	pd := float64(c.projDim())
	contrastive := 2 * 3 * (enc + head) * float64(b)
	lookups := 2 * 2 * float64(b) * float64(c.QueueSize) * pd
	logits := 4 * 2 * float64(b) * float64(b) * pd
	probe := (enc + 2*float64(c.FeatureWidth())*float64(c.NumClasses)) * float64(bl)
	return contrastive + lookups + logits + probe
}
