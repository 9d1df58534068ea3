package tfgraph

import (
	"fmt"

	"github.com/nnclr/nnclr/setting"
	tf "github.com/wamuir/graft/tensorflow"
	"github.com/wamuir/graft/tensorflow/op"
)

// The ResNets' batch normalisation: keras.applications.ResNet50's (epsilon 1.001e-5, momentum
// 0.99 as bnMomentum), used by ResNet-18 too.
const resnetBNEpsilon = 1.001e-5

// resnet is ResNet-50 (keras.applications.ResNet50(include_top=False, pooling="avg") layer for
// layer: bottleneck blocks, a bias on every convolution) or ResNet-18 (BasicBlock, no
// convolution biases, a 1×1 projection shortcut with BN where the shape changes), with the
// ImageNet stem (7×7/2 convolution, 3×3/2 max-pool) or the CIFAR stem (3×3/1, no pool). Layer
// names are Keras's (conv1_conv, conv3_block2_2_bn, ...), under enc/. Its batch norm's forward
// pass is Keras's ops (tf.nn.moments, tf.nn.batch_normalization); in the train step the
// backward pass is the gradient registry's between the batch norms and written by hand through
// each of them (syncBN.backward: the same gradient in fewer activation-sized tensors).
type resnet struct {
	c     ModelConfig
	depth int // 18 or 50
}

// resnetStacks are the stages conv2..conv5: blocks per stage.
var resnetStacks = map[int][4]int{18: {2, 2, 2, 2}, 50: {3, 4, 6, 3}}

func (r resnet) featureWidth() int {
	if r.depth == 50 {
		return 2048
	}
	return 512
}

// fmap is a feature map of the walk: its tensor (none when the walk only counts) and shape.
type fmap struct {
	t       tf.Output
	h, w, c int
}

// rnWalk walks the network once: with s nil it only collects the variables, the output sizes
// and the FLOPs; with s it builds the forward pass, taking weights (and, in inference mode, the
// moving statistics) in vars order and collecting the batch moments in training mode.
type rnWalk struct {
	s               *op.Scope
	w, stats        []tf.Output
	training        bool
	sync            *syncBN // the training-mode BNs' (nil: the registry differentiates them)
	specs, statSpec []VarSpec
	moments         []tf.Output
	flops           float64
	tooSmall        bool
}

func (r *rnWalk) take() tf.Output { t := r.w[0]; r.w = r.w[1:]; return t }

func outSize(n, k, stride int, padding string) int {
	if padding == "SAME" {
		return (n + stride - 1) / stride
	}
	if n < k {
		return 0
	}
	return (n-k)/stride + 1
}

func (r *rnWalk) conv(name string, x fmap, k, out, stride int, padding string, bias bool) fmap {
	y := fmap{h: outSize(x.h, k, stride, padding), w: outSize(x.w, k, stride, padding), c: out}
	if y.h < 1 || y.w < 1 {
		r.tooSmall = true
	}
	r.specs = append(r.specs, VarSpec{"enc/" + name + "/kernel", []int64{int64(k), int64(k), int64(x.c), int64(out)}})
	if bias {
		r.specs = append(r.specs, VarSpec{"enc/" + name + "/bias", []int64{int64(out)}})
	}
	r.flops += 2 * float64(y.h*y.w*k*k*x.c*out)
	if r.s == nil || r.tooSmall {
		return y
	}
	ls := r.s.SubScope(name)
	strides := []int64{1, int64(stride), int64(stride), 1}
	kernel := r.take()
	if bias {
		y.t = conv2D(ls, x.t, kernel, r.take(), int64(stride), padding)
	} else {
		y.t = op.Conv2D(ls.SubScope("Conv2D"), x.t, kernel, strides, padding)
	}
	return y
}

func (r *rnWalk) bn(name string, x fmap) fmap {
	n := int64(x.c)
	r.specs = append(r.specs, VarSpec{"enc/" + name + "/gamma", []int64{n}}, VarSpec{"enc/" + name + "/beta", []int64{n}})
	r.statSpec = append(r.statSpec, VarSpec{"enc/" + name + "/moving_mean", []int64{n}}, VarSpec{"enc/" + name + "/moving_variance", []int64{n}})
	if r.s == nil || r.tooSmall {
		return x
	}
	gamma, beta := r.take(), r.take()
	var st []tf.Output
	if !r.training {
		st, r.stats = r.stats[:2], r.stats[2:]
	}
	var mo []tf.Output
	x.t, mo = r.sync.norm(r.s.SubScope(name), x.t, gamma, beta, st, resnetBNEpsilon, 0, 1, 2)
	r.moments = append(r.moments, mo...)
	return x
}

func (r *rnWalk) relu(name string, x fmap) fmap {
	if r.s != nil && !r.tooSmall {
		x.t = relu(r.s.SubScope(name), x.t)
	}
	return x
}

// pad is ZeroPadding2D(p): p rows and columns of zeros on every side.
func (r *rnWalk) pad(name string, x fmap, p int) fmap {
	x.h, x.w = x.h+2*p, x.w+2*p
	if r.s != nil && !r.tooSmall {
		ps := r.s.SubScope(name)
		pp := int32(p)
		x.t = op.Pad(ps.SubScope("Pad"), x.t, op.Const(ps.SubScope("paddings"), [][]int32{{0, 0}, {pp, pp}, {pp, pp}, {0, 0}}))
	}
	return x
}

// maxPool is MaxPooling2D(3, strides=2) with valid padding.
func (r *rnWalk) maxPool(name string, x fmap) fmap {
	y := fmap{h: outSize(x.h, 3, 2, "VALID"), w: outSize(x.w, 3, 2, "VALID"), c: x.c}
	if y.h < 1 || y.w < 1 {
		r.tooSmall = true
	}
	if r.s != nil && !r.tooSmall {
		y.t = op.MaxPool(r.s.SubScope(name).SubScope("MaxPool"), x.t, []int64{1, 3, 3, 1}, []int64{1, 2, 2, 1}, "VALID")
	}
	return y
}

// add is Add then ReLU (a block's output).
func (r *rnWalk) addRelu(name string, a, b fmap) fmap {
	if r.s != nil && !r.tooSmall {
		a.t = op.AddV2(r.s.SubScope(name+"_add").SubScope("AddV2"), a.t, b.t)
	}
	return r.relu(name+"_out", a)
}

// walk runs the network on an input of the model's shape.
func (e resnet) walk(r *rnWalk, x tf.Output) fmap {
	h := fmap{t: x, h: e.c.Height, w: e.c.Width, c: e.c.Channels}
	bias := e.depth == 50
	if e.c.stem() == StemImageNet {
		h = r.pad("conv1_pad", h, 3)
		h = r.relu("conv1_relu", r.bn("conv1_bn", r.conv("conv1_conv", h, 7, 64, 2, "VALID", bias)))
		h = r.maxPool("pool1_pool", r.pad("pool1_pad", h, 1))
	} else {
		h = r.relu("conv1_relu", r.bn("conv1_bn", r.conv("conv1_conv", h, 3, 64, 1, "SAME", bias)))
	}
	for i, blocks := range resnetStacks[e.depth] {
		filters := 64 << i
		for j := 1; j <= blocks; j++ {
			stride := 1
			if i > 0 && j == 1 {
				stride = 2
			}
			name := fmt.Sprintf("conv%d_block%d", i+2, j)
			if e.depth == 50 {
				h = e.bottleneck(r, name, h, filters, stride, j == 1)
			} else {
				h = e.basic(r, name, h, filters, stride)
			}
		}
	}
	return h
}

// bottleneck is keras.applications' ResNet50 block, its layers in the Keras model's order
// (_1, _2, then _0_conv, _3_conv, _0_bn, _3_bn): 1×1 with the stride, 3×3 same, 1×1 to
// 4·filters, the shortcut a 1×1 convolution with the stride in the stage's first block.
func (e resnet) bottleneck(r *rnWalk, name string, x fmap, filters, stride int, project bool) fmap {
	h := r.relu(name+"_1_relu", r.bn(name+"_1_bn", r.conv(name+"_1_conv", x, 1, filters, stride, "VALID", true)))
	h = r.relu(name+"_2_relu", r.bn(name+"_2_bn", r.conv(name+"_2_conv", h, 3, filters, 1, "SAME", true)))
	sc := x
	if project {
		sc = r.conv(name+"_0_conv", x, 1, 4*filters, stride, "VALID", true)
	}
	h = r.conv(name+"_3_conv", h, 1, 4*filters, 1, "VALID", true)
	if project {
		sc = r.bn(name+"_0_bn", sc)
	}
	return r.addRelu(name, sc, r.bn(name+"_3_bn", h))
}

// basic is ResNet-18's BasicBlock: 3×3 with the stride (zero padding 1, as torchvision's), BN,
// ReLU, 3×3, BN, the shortcut a 1×1 convolution with the stride and BN where the shape changes.
func (e resnet) basic(r *rnWalk, name string, x fmap, filters, stride int) fmap {
	sc := x
	if stride != 1 || x.c != filters {
		sc = r.bn(name+"_0_bn", r.conv(name+"_0_conv", x, 1, filters, stride, "VALID", false))
	}
	h := x
	if stride == 1 {
		h = r.conv(name+"_1_conv", h, 3, filters, 1, "SAME", false)
	} else {
		h = r.conv(name+"_1_conv", r.pad(name+"_1_pad", h, 1), 3, filters, stride, "VALID", false)
	}
	h = r.relu(name+"_1_relu", r.bn(name+"_1_bn", h))
	h = r.bn(name+"_2_bn", r.conv(name+"_2_conv", h, 3, filters, 1, "SAME", false))
	return r.addRelu(name, sc, h)
}

// count is the walk without a graph.
func (e resnet) count() *rnWalk {
	r := &rnWalk{}
	e.walk(r, tf.Output{})
	return r
}

func (e resnet) vars() []VarSpec     { return e.count().specs }
func (e resnet) statVars() []VarSpec { return e.count().statSpec }

func (e resnet) flops() float64 { return e.count().flops }

// minSize is the smallest input side a ResNet takes: its total stride (32 with the imagenet
// stem, 8 with the cifar one), so that the last stage sees at least one position computed from
// the image rather than from padding alone (keras.applications.ResNet50 refuses inputs below 32
// for the same reason).
func (e resnet) minSize() int {
	if e.c.stem() == StemImageNet {
		return 32
	}
	return 8
}

func (e resnet) validate() error {
	min := e.minSize()
	if e.c.Height >= min && e.c.Width >= min && !e.count().tooSmall {
		return nil
	}
	name, v := "height", e.c.Height
	if e.c.Height >= min {
		name, v = "width", e.c.Width
	}
	return setting.Errorf(name, v, "input %d×%d too small for %s with the %s stem (want at least %d×%d)", e.c.Height, e.c.Width, e.c.backbone(), e.c.stem(), min, min)
}

// resnetActs is one application of a ResNet: its pooled features and, in training mode, the
// batch moments of its BNs (mean and variance each, in statVars order).
type resnetActs struct {
	f  tf.Output
	mo []tf.Output
}

func (a resnetActs) features() tf.Output  { return a.f }
func (a resnetActs) moments() []tf.Output { return a.mo }

func (e resnet) forward(s *op.Scope, x tf.Output, w, stats []tf.Output, sync *syncBN) activations {
	r := &rnWalk{s: s, w: w, stats: stats, training: stats == nil, sync: sync}
	h := e.walk(r, x)
	ps := s.SubScope("avg_pool")
	f := op.Mean(ps.SubScope("Mean"), h.t, i32(ps.SubScope("axes"), 1, 2))
	return resnetActs{f: f, mo: r.moments}
}
