"""Python/Keras reference of the project's NNCLR model and training step (an oracle for Go tests).

It restates the Keras example "Self-supervised contrastive learning with NNCLR" (Keras 3, TF
backend) as described in shared/DESIGN.md, "The model and the step". Not a product feature.

Subcommands (see pyref/README.md for the .npz names):
  init OUT.npz --height H --width-px W --channels C --width WIDTH --classes K --queue Q --seed S
      Keras-initialised weights (glorot-uniform kernels, zero biases) and a queue of L2-normalized
      standard-normal rows, plus the scalars temperature and num_classes.
  forward IN.npz OUT.npz
      weights + x [N,H,W,C] float32 -> features [N,WIDTH], projections [N,WIDTH] (not normalized),
      logits [N,K].
  step IN.npz OUT.npz
      runs K training steps on already augmented inputs (view1, view2, probe_x, probe_y) and writes
      per-step metrics, final weights, queue and both Adams' slots.
  train --images-npy X.npy --labels-npy Y.npy --unlabelled-npy U.npy ... --json OUT.json
      trains the full Keras NNCLR (augmentation inside, model.fit) and writes timing JSON.

Deviation from the Keras example, on purpose: the contrastive loss that is differentiated is the
MEAN of the 4B cross-entropy terms (the example differentiates their sum through the vector loss).
"""
import argparse
import json
import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

LEARNING_RATE = 1e-3
BETA_1 = 0.9
BETA_2 = 0.999
EPSILON = 1e-7
NUM_CONV = 4

# ---------------------------------------------------------------------------------------------
# Models


def build_encoder(height, width_px, channels, width):
    """4 x Conv2D(width, 3, strides=2, relu, valid) -> Flatten (row-major h, w, c) -> Dense(relu)."""
    return keras.Sequential(
        [layers.Input(shape=(height, width_px, channels))]
        + [layers.Conv2D(width, kernel_size=3, strides=2, activation="relu", name=f"conv{i}")
           for i in range(NUM_CONV)]
        + [layers.Flatten(name="flatten"), layers.Dense(width, activation="relu", name="dense")],
        name="encoder",
    )


# keras.applications.ResNet50's batch norm, used by the ResNet-18 below too.
RESNET_BN = dict(axis=3, epsilon=1.001e-5, momentum=0.99)


def resnet18_keras(height, width_px, channels, cifar):
    """ResNet-18 written for this reference from He et al. 2016 (BasicBlock, 2-2-2-2 blocks of
    64-512 filters, no convolution biases, 1x1 projection shortcut + BN where the shape changes,
    a stride-2 3x3 convolution padded by 1 on every side as torchvision's), named in
    keras.applications' style; global average pooling at the end. cifar: the 3x3/1 stem
    without max-pool; else 7x7/2 + 3x3/2 max-pool."""
    inp = layers.Input(shape=(height, width_px, channels))

    def conv_bn(x, name, filters, k, stride=1, padding="valid"):
        x = layers.Conv2D(filters, k, strides=stride, padding=padding, use_bias=False,
                          name=name + "_conv")(x)
        return layers.BatchNormalization(name=name + "_bn", **RESNET_BN)(x)

    if cifar:
        x = conv_bn(inp, "conv1", 64, 3, padding="same")
    else:
        x = layers.ZeroPadding2D(3, name="conv1_pad")(inp)
        x = conv_bn(x, "conv1", 64, 7, 2)
    x = layers.Activation("relu", name="conv1_relu")(x)
    if not cifar:
        x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
        x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for i, filters in enumerate((64, 128, 256, 512)):
        for j in (1, 2):
            name = f"conv{i + 2}_block{j}"
            stride = 2 if i > 0 and j == 1 else 1
            shortcut = x
            if stride != 1 or x.shape[-1] != filters:
                shortcut = conv_bn(x, name + "_0", filters, 1, stride)
            h = x
            if stride == 1:
                h = conv_bn(h, name + "_1", filters, 3, padding="same")
            else:
                h = conv_bn(layers.ZeroPadding2D(1, name=name + "_1_pad")(h), name + "_1", filters, 3, 2)
            h = layers.Activation("relu", name=name + "_1_relu")(h)
            h = conv_bn(h, name + "_2", filters, 3, padding="same")
            x = layers.Add(name=name + "_add")([shortcut, h])
            x = layers.Activation("relu", name=name + "_out")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inp, x, name="resnet18")


def build_backbone(backbone, height, width_px, channels, width, cifar):
    """conv4 (the example's), resnet18 (above) or resnet50: the real keras.applications.ResNet50
    (include_top=False, pooling="avg", no weights; ImageNet stem only)."""
    if backbone == "conv4":
        return build_encoder(height, width_px, channels, width)
    if backbone == "resnet18":
        return resnet18_keras(height, width_px, channels, cifar)
    if cifar:
        raise SystemExit("resnet50 with the cifar stem is not keras.applications' model")
    return keras.applications.ResNet50(include_top=False, weights=None, pooling="avg",
                                       input_shape=(height, width_px, channels))


BACKBONES = {0: "conv4", 18: "resnet18", 50: "resnet50"}
INPUT_NORMS = ("unit", "imagenet", "caffe")


def with_input_norm(base, norm):
    """base applied after the input normalisation norm to [0, 1] inputs: caffe is
    keras.applications.resnet.preprocess_input on the 0-255 values."""
    if norm == "unit":
        return base
    inp = layers.Input(shape=base.input_shape[1:])
    if norm == "caffe":
        x = layers.Lambda(lambda t: keras.applications.resnet.preprocess_input(t * 255.0))(inp)
    else:
        mean = np.array([0.485, 0.456, 0.406], floatx())
        std = np.array([0.229, 0.224, 0.225], floatx())
        x = layers.Lambda(lambda t: (t - mean) / std)(inp)
    return keras.Model(inp, base(x), name="encoder")


def mlp_layers(hidden, out, bn_hidden, bn_out):
    """Dense(hidden) [BN] ReLU, Dense(out) [BN]; a Dense before a BN has no bias."""
    seq = [layers.Dense(hidden, use_bias=not bn_hidden, name="dense0")]
    if bn_hidden:
        seq.append(layers.BatchNormalization(name="bn0"))
    seq += [layers.ReLU(name="relu0"), layers.Dense(out, use_bias=not bn_out, name="dense1")]
    if bn_out:
        seq.append(layers.BatchNormalization(name="bn1"))
    return seq


def build_projection_head(width, hidden=None, dim=None, bn=False):
    """The example's head: Dense(width, relu) -> Dense(width). With bn, the paper's:
    Linear-BN-ReLU, Linear-BN (BN on the output layer too)."""
    return keras.Sequential(
        [layers.Input(shape=(width,))] + mlp_layers(hidden or width, dim or width, bn, bn),
        name="projection_head",
    )


def build_prediction_head(dim, hidden, bn=False):
    """The paper's prediction MLP on a projection: Dense(hidden) [BN] ReLU -> Dense(dim)."""
    return keras.Sequential(
        [layers.Input(shape=(dim,))] + mlp_layers(hidden, dim, bn, False),
        name="prediction_head",
    )


def build_linear_probe(width, num_classes):
    return keras.Sequential(
        [layers.Input(shape=(width,)), layers.Dense(num_classes, name="dense")],
        name="linear_probe",
    )


def conv_out(n):
    return (n - 3) // 2 + 1


def flat_size(height, width_px, width):
    h, w = height, width_px
    for _ in range(NUM_CONV):
        h, w = conv_out(h), conv_out(w)
    if h < 1 or w < 1:
        raise SystemExit(f"input {height}x{width_px} is too small for 4 valid stride-2 3x3 convs")
    return h * w * width


def named_variables(encoder, head, probe, pred=None):
    """The shared naming convention: name -> Keras variable, in a fixed order. The encoder's are
    enc/<layer>/<kernel|bias|gamma|beta> (conv4: conv0..conv3, dense)."""
    out = {}
    for l in encoder.layers:
        if isinstance(l, (layers.Conv2D, layers.Dense)):
            out[f"enc/{l.name}/kernel"] = l.kernel
            if l.use_bias:
                out[f"enc/{l.name}/bias"] = l.bias
        elif isinstance(l, layers.BatchNormalization):
            out[f"enc/{l.name}/gamma"] = l.gamma
            out[f"enc/{l.name}/beta"] = l.beta
    for prefix, model in (("head", head), ("pred", pred)):
        if model is None:
            continue
        for l in model.layers:
            if isinstance(l, layers.Dense):
                out[f"{prefix}/{l.name}/kernel"] = l.kernel
                if l.use_bias:
                    out[f"{prefix}/{l.name}/bias"] = l.bias
            elif isinstance(l, layers.BatchNormalization):
                out[f"{prefix}/{l.name}/gamma"] = l.gamma
                out[f"{prefix}/{l.name}/beta"] = l.beta
    pl = [l for l in probe.layers if isinstance(l, layers.Dense)][0]
    out["probe/kernel"] = pl.kernel
    out["probe/bias"] = pl.bias
    return out


CONTRASTIVE_PREFIXES = ("enc/", "head/", "pred/")


def named_stats(head, pred=None, encoder=None):
    """The heads' and the encoder's BatchNormalization moving statistics by name (not trained)."""
    out = {}
    for prefix, model in (("head", head), ("pred", pred), ("enc", encoder)):
        for l in (model.layers if model is not None else []):
            if isinstance(l, layers.BatchNormalization):
                out[f"{prefix}/{l.name}/moving_mean"] = l.moving_mean
                out[f"{prefix}/{l.name}/moving_variance"] = l.moving_variance
    return out


def hyper(x):
    """An optimizer's hyperparameter x as Keras should see it: a Python float, or in float64 a
    NumPy float64. Keras's optimizers take ops.cast(x, variable.dtype), which makes a float32
    tensor of a Python float first: in float64, 0.999 would become 0.9990000128746033 (and
    Adam's steps 6.4e-6 smaller)."""
    return np.float64(x) if keras.config.floatx() == "float64" else x


def make_adam(epsilon=EPSILON, learning_rate=LEARNING_RATE, weight_decay=None):
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=hyper(BETA_1),
                                 beta_2=hyper(BETA_2), epsilon=epsilon, weight_decay=weight_decay)


# --- the training recipe: optimizers, weight decay, schedule ----------------------------------

OPTIMIZERS = ("adam", "sgd", "lars")


def decays(name):
    """Weight decay and LARS's trust ratio apply to every variable but biases and BN parameters."""
    return not name.endswith(("/bias", "/gamma", "/beta"))


def make_schedule(lr, warmup_steps, total_steps):
    """The learning rate: constant (total_steps 0), else Keras's CosineDecay with a linear warm-up
    from 0 over warmup_steps to lr, then a cosine to 0 at total_steps."""
    if not total_steps:
        return lr
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=total_steps - warmup_steps, warmup_target=lr, warmup_steps=warmup_steps)


class L2SGD:
    """keras.optimizers.SGD (momentum in Keras's form) on the gradient plus the L2 term wd*w of
    the decaying variables."""

    def __init__(self, lr, momentum, weight_decay, decaying):
        self.opt = keras.optimizers.SGD(learning_rate=lr, momentum=hyper(momentum))
        self.wd, self.decaying = weight_decay, decaying
        self.iterations = self.opt.iterations

    def build(self, variables):
        self.opt.build(variables)
        self.iterations = self.opt.iterations

    def slots(self):
        # Keras's SGD keeps no slot at momentum 0 (w = w - lr*g): nothing to load or export.
        return {"momentum": self.opt.momentums} if self.opt.momentum else {}

    def apply_gradients(self, pairs):
        pairs = [(g + self.wd * tf.convert_to_tensor(v) if self.wd and id(v) in self.decaying
                  else g, v) for g, v in pairs]
        self.opt.apply_gradients(pairs)


class LARS:
    """LARS as You et al. 2017 write it (Algorithm 1), with momentum mu, weight decay beta and
    trust coefficient eta, for a decaying variable w with gradient g at learning rate lr:
        lambda = eta * ||w|| / (||g|| + beta * ||w||)   (1 when ||w|| or ||g|| is 0)
        vel    = mu * vel + lr * lambda * (g + beta * w);  w = w - vel
    With clip, solo-learn's clip_lr: lr * min(lambda / lr, 1) = min(lambda, lr) in place of
    lr * lambda. Biases and BN parameters: vel = mu * vel + lr * g (no decay, no lambda). The
    slot kept (and exported) is Keras's momentum form, -vel."""

    def __init__(self, lr, momentum, weight_decay, eta, clip, decaying):
        self.lr, self.mu, self.wd, self.eta, self.clip = lr, momentum, weight_decay, eta, clip
        self.decaying = decaying
        self.iterations = tf.Variable(np.int64(0), trainable=False, name="lars_iterations")
        self.momentums, self.index = [], {}

    def build(self, variables):
        for i, v in enumerate(variables):
            self.index[id(v)] = i
            self.momentums.append(tf.Variable(tf.zeros(v.shape, v.dtype), trainable=False))

    def slots(self):
        return {"momentum": self.momentums}

    def apply_gradients(self, pairs):
        lr = self.lr(self.iterations) if callable(self.lr) else tf.constant(self.lr, floatx())
        for g, v in pairs:
            m = self.momentums[self.index[id(v)]]
            w = tf.convert_to_tensor(v)
            step = lr * g
            if id(v) in self.decaying:
                wn, gn = tf.norm(w), tf.norm(g)
                trust = self.eta * wn / (gn + self.wd * wn)
                trust = tf.where(tf.logical_and(wn > 0, gn > 0), trust, 1.0)
                rate = tf.minimum(trust, lr) if self.clip else lr * trust
                step = rate * (g + self.wd * w)
            vel = self.mu * -tf.convert_to_tensor(m) + step
            m.assign(-vel)
            v.assign_sub(vel)
        self.iterations.assign_add(1)


def optimizer_slots(opt):
    """The slot lists of an optimizer by slot name (the names Go's checkpoints use)."""
    if isinstance(opt, keras.optimizers.Adam):
        return {"m": opt._momentums, "v": opt._velocities}
    return opt.slots()


def make_contrastive_optimizer(recipe, epsilon, named):
    """The contrastive optimizer of recipe (the step's npz settings) for the named variables."""
    lr = make_schedule(recipe["learning_rate"], recipe["warmup_steps"], recipe["total_steps"])
    decaying = {id(v) for n, v in named.items() if decays(n)}
    kind, wd = recipe["optimizer"], recipe["weight_decay"]
    if kind == "sgd":
        return L2SGD(lr, recipe["momentum"], wd, decaying)
    if kind == "lars":
        return LARS(lr, recipe["momentum"], wd, recipe["lars_eta"], recipe["lars_clip"], decaying)
    opt = make_adam(epsilon, lr, wd or None)
    if wd:
        opt.exclude_from_weight_decay(var_list=[v for n, v in named.items() if not decays(n)])
    return opt


DEFAULT_RECIPE = {"optimizer": "adam", "learning_rate": LEARNING_RATE,
                  "probe_learning_rate": LEARNING_RATE, "momentum": 0.9, "weight_decay": 0.0,
                  "lars_eta": 0.001, "lars_clip": False, "warmup_steps": 0, "total_steps": 0}


def read_recipe(arrs):
    """The recipe's settings from a step npz (each optional, DEFAULT_RECIPE's when absent)."""
    r = dict(DEFAULT_RECIPE)
    for k, v in DEFAULT_RECIPE.items():
        if k in arrs:
            r[k] = type(v)(arrs[k]) if k != "optimizer" else OPTIMIZERS[int(arrs[k])]
    if "learning_rate" in arrs and "probe_learning_rate" not in arrs:
        r["probe_learning_rate"] = r["learning_rate"]
    return r


# ---------------------------------------------------------------------------------------------
# The step: plain float32 TF ops, shared by the oracle (tf.function) and the Keras model (fit).


def l2n(x):
    return tf.math.l2_normalize(x, axis=1)


def nearest_neighbour(p, queue, k=1, pick=None):
    """Forward: the queue row most similar to p; backward: identity to p (straight-through).

    With k > 1 the row is the pick[i]-th of the k most similar (the paper's top-k support:
    pick drawn uniformly from 0..k-1 by the caller), in tf.math.top_k's order.
    """
    sims = tf.matmul(p, queue, transpose_b=True)
    if k > 1:
        idx = tf.gather(tf.math.top_k(sims, k).indices, pick, axis=1, batch_dims=1)
    else:
        idx = tf.argmax(sims, axis=1)
    nn = tf.gather(queue, idx, axis=0)
    return p + tf.stop_gradient(nn - p)


def contrastive_loss(p1, p2, queue, temperature, q1=None, q2=None, k=1, picks=None):
    """p1, p2: L2-normalized projections; queue: the queue before this step's update (a tensor).

    q1, q2: L2-normalized predictions (the paper's prediction head): the nearest neighbour of one
    view's projection is the positive of the other view's prediction. Without them q = p (the
    example). picks: [2, B] int32, each row's choice among the k nearest (view 1, view 2).
    """
    q1 = p1 if q1 is None else q1
    q2 = p2 if q2 is None else q2
    nn1 = nearest_neighbour(p1, queue, k, None if picks is None else picks[0])
    nn2 = nearest_neighbour(p2, queue, k, None if picks is None else picks[1])
    s121 = tf.matmul(nn1, q2, transpose_b=True) / temperature
    s122 = tf.matmul(q2, nn1, transpose_b=True) / temperature
    s211 = tf.matmul(nn2, q1, transpose_b=True) / temperature
    s212 = tf.matmul(q1, nn2, transpose_b=True) / temperature
    b = tf.shape(p1)[0]
    labels = tf.range(b, dtype=tf.int64)
    labels4 = tf.concat([labels, labels, labels, labels], axis=0)
    logits = tf.concat([s121, s122, s211, s212], axis=0)
    per_row = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels4, logits=logits)
    return tf.reduce_mean(per_row)  # the mean of the 4B terms (the example: their sum)


def diagonal_accuracy(m):
    """Fraction of the rows of [m; m^T] whose argmax (TF's ArgMax) is the row index."""
    n = tf.shape(m)[0]
    labels = tf.range(n, dtype=tf.int64)
    rows = tf.concat([m, tf.transpose(m)], axis=0)
    hits = tf.equal(tf.argmax(rows, axis=1), tf.concat([labels, labels], axis=0))
    return tf.reduce_mean(tf.cast(hits, m.dtype))


def contrastive_accuracy(f1, f2):
    return diagonal_accuracy(tf.matmul(l2n(f1), l2n(f2), transpose_b=True))


def correlation_accuracy(f1, f2):
    z1 = (f1 - tf.reduce_mean(f1, axis=0)) / tf.math.reduce_std(f1, axis=0)
    z2 = (f2 - tf.reduce_mean(f2, axis=0)) / tf.math.reduce_std(f2, axis=0)
    b = tf.cast(tf.shape(f1)[0], f1.dtype)
    return diagonal_accuracy(tf.matmul(z1, z2, transpose_a=True) / b)


def train_step_core(encoder, head, probe, queue, opt_c, opt_p, temperature,
                    view1, view2, probe_x, probe_y, pred=None, k=1, picks=None):
    """One NNCLR step on augmented float32 views; returns the step's own metrics.

    pred: the prediction head (or None); k, picks: the top-k support (see contrastive_loss).
    """
    c_vars = encoder.trainable_weights + head.trainable_weights
    if pred is not None:
        c_vars = c_vars + pred.trainable_weights
    old_queue = tf.convert_to_tensor(queue)  # read before the assignment below
    with tf.GradientTape() as tape:
        f1 = encoder(view1, training=True)
        f2 = encoder(view2, training=True)
        z1 = head(f1, training=True)
        z2 = head(f2, training=True)
        p1, p2 = l2n(z1), l2n(z2)
        q1 = q2 = None
        if pred is not None:
            q1, q2 = l2n(pred(z1, training=True)), l2n(pred(z2, training=True))
        c_loss = contrastive_loss(p1, p2, old_queue, temperature, q1, q2, k, picks)
    b = tf.shape(p1)[0]
    queue.assign(tf.concat([p1, old_queue[:-b]], axis=0))
    grads = tape.gradient(c_loss, c_vars)
    opt_c.apply_gradients(zip(grads, c_vars))
    c_acc = contrastive_accuracy(f1, f2)
    r_acc = correlation_accuracy(f1, f2)

    # Probe on the labelled images, through the encoder as updated just above.
    feats = encoder(probe_x, training=False)  # the encoder's BNs: the moving statistics
    with tf.GradientTape() as tape:
        logits = probe(feats, training=True)
        p_loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(probe_y, tf.int64), logits=logits))
    p_vars = probe.trainable_weights
    grads = tape.gradient(p_loss, p_vars)
    opt_p.apply_gradients(zip(grads, p_vars))
    p_acc = tf.reduce_mean(tf.cast(
        tf.equal(tf.argmax(logits, axis=1), tf.cast(probe_y, tf.int64)), logits.dtype))
    return {"c_loss": c_loss, "c_acc": c_acc, "r_acc": r_acc, "p_loss": p_loss, "p_acc": p_acc}


# ---------------------------------------------------------------------------------------------
# The oracle: models + queue + two Adams, loadable from / exportable to the shared names.


class Reference:
    def __init__(self, height, width_px, channels, width, num_classes, queue_size, pred_hidden=0,
                 topk=1, proj_hidden=None, proj_dim=None, head_bn=False, epsilon=EPSILON,
                 backbone="conv4", cifar=False, input_norm="unit", recipe=None):
        dim = proj_dim or width
        base = build_backbone(backbone, height, width_px, channels, width, cifar)
        self.encoder = with_input_norm(base, input_norm)
        feat = base.output_shape[-1]
        self.head = build_projection_head(feat, proj_hidden, dim, head_bn)
        self.probe = build_linear_probe(feat, num_classes)
        self.pred = build_prediction_head(dim, pred_hidden, head_bn) if pred_hidden else None
        self.topk = topk
        self.vars = named_variables(base, self.head, self.probe, self.pred)
        self.stats = named_stats(self.head, self.pred, base)
        self.queue = tf.Variable(tf.zeros([queue_size, dim], floatx()), trainable=False, name="queue")
        self.c_names = [n for n in self.vars if n.startswith(CONTRASTIVE_PREFIXES)]
        self.p_names = [n for n in self.vars if n.startswith("probe/")]
        self.recipe = dict(recipe or DEFAULT_RECIPE)
        self.c_prefix = self.recipe["optimizer"] + "_c"
        self.opt_c = make_contrastive_optimizer(
            self.recipe, epsilon, {n: self.vars[n] for n in self.c_names})
        self.opt_p = make_adam(epsilon, self.recipe["probe_learning_rate"])
        self._step_fn = None

    @staticmethod
    def from_arrays(arrs, height=None, width_px=None, channels=None):
        backbone = BACKBONES[int(arrs["backbone_depth"])] if "backbone_depth" in arrs else "conv4"
        cifar = bool(int(arrs["stem_cifar"])) if "stem_cifar" in arrs else False
        input_norm = INPUT_NORMS[int(arrs["input_norm"])] if "input_norm" in arrs else "unit"
        k0 = arrs["enc/conv0/kernel" if backbone == "conv4" else "enc/conv1_conv/kernel"]
        channels = channels or k0.shape[2]
        width = k0.shape[3]
        num_classes = arrs["probe/kernel"].shape[1]
        if "num_classes" in arrs and int(arrs["num_classes"]) != num_classes:
            raise SystemExit(f"num_classes={int(arrs['num_classes'])} but probe/kernel is "
                             f"{arrs['probe/kernel'].shape}")
        queue_size = arrs["queue"].shape[0] if "queue" in arrs else 1
        pred_hidden = arrs["pred/dense0/kernel"].shape[1] if "pred/dense0/kernel" in arrs else 0
        topk = int(arrs["support_topk"]) if "support_topk" in arrs else 1
        proj_hidden = arrs["head/dense0/kernel"].shape[1]
        proj_dim = arrs["head/dense1/kernel"].shape[1]
        epsilon = float(arrs["adam_epsilon"]) if "adam_epsilon" in arrs else EPSILON
        ref = Reference(height, width_px, channels, width, num_classes, queue_size, pred_hidden,
                        topk, proj_hidden, proj_dim, "head/bn0/gamma" in arrs, epsilon,
                        backbone, cifar, input_norm, read_recipe(arrs))
        ref.load(arrs)
        return ref

    def load(self, arrs):
        for n, v in list(self.vars.items()) + list(self.stats.items()):
            a = np.asarray(arrs[n], dtype=floatx())
            if tuple(a.shape) != tuple(v.shape):
                raise SystemExit(f"{n}: shape {a.shape}, model wants {tuple(v.shape)}")
            v.assign(a)
        if "queue" in arrs:
            q = np.asarray(arrs["queue"], dtype=floatx())
            if q.shape != tuple(self.queue.shape):
                raise SystemExit(f"queue: shape {q.shape}, want {tuple(self.queue.shape)}")
            self.queue.assign(q)
        for prefix, opt, names in self.optimizers():
            opt.build([self.vars[n] for n in names])
            if f"{prefix}/iterations" not in arrs:
                continue  # fresh: zero slots, iterations 0
            opt.iterations.assign(np.int64(arrs[f"{prefix}/iterations"]))
            for i, n in enumerate(names):
                for slot, lst in optimizer_slots(opt).items():
                    key = f"{prefix}/{n}/{slot}"
                    if key not in arrs:
                        raise SystemExit(f"{prefix}/iterations given but {key} missing")
                    lst[i].assign(np.asarray(arrs[key], dtype=floatx()))

    def weights(self):
        return {n: np.asarray(v.numpy(), dtype=np.float32)
                for n, v in list(self.vars.items()) + list(self.stats.items())}

    def export(self):
        out = self.weights()
        out["queue"] = self.queue.numpy().astype(np.float32)
        for prefix, opt, names in self.optimizers():
            out[f"{prefix}/iterations"] = np.int64(opt.iterations.numpy())
            for i, n in enumerate(names):
                for slot, lst in optimizer_slots(opt).items():
                    out[f"{prefix}/{n}/{slot}"] = np.asarray(lst[i].numpy(), dtype=np.float32)
        return out

    def optimizers(self):
        """(checkpoint prefix, optimizer, variable names) of the contrastive and probe optimizers."""
        return ((self.c_prefix, self.opt_c, self.c_names), ("adam_p", self.opt_p, self.p_names))

    def step(self, temperature, view1, view2, probe_x, probe_y, picks=None):
        if self._step_fn is None:
            @tf.function(autograph=False, jit_compile=False)
            def fn(temperature, view1, view2, probe_x, probe_y, picks):
                return train_step_core(self.encoder, self.head, self.probe, self.queue,
                                       self.opt_c, self.opt_p, temperature,
                                       view1, view2, probe_x, probe_y, self.pred, self.topk,
                                       picks)
            self._step_fn = fn
        if picks is None:
            picks = tf.zeros([2, tf.shape(view1)[0]], tf.int32)
        return self._step_fn(tf.constant(temperature, floatx()), view1, view2, probe_x,
                             probe_y, picks)

    def forward(self, x):
        f = self.encoder(x, training=False)
        p = self.head(f, training=False)
        logits = self.probe(f, training=False)
        return f.numpy(), p.numpy(), logits.numpy()


def load_npz(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def floatx():
    """The NumPy type of Keras's float type: float32, or float64 after use_float64."""
    return np.dtype(keras.config.floatx())


def use_float64(arrs):
    """With float64 = 1 in arrs, build and run everything in float64 (keras.config.set_floatx):
    the variables, the inputs (cast from the npz's float32), the step's arithmetic and the
    optimizers' slots; what is written stays float32. Go's tests use it to compare the step
    without float32 rounding (tfgraph's TestResNetStepsMatchKerasFloat64)."""
    if "float64" in arrs and int(arrs["float64"]):
        keras.config.set_floatx("float64")


def set_threads(intra, inter):
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)


# ---------------------------------------------------------------------------------------------
# Subcommands


def cmd_init(a):
    keras.utils.set_random_seed(a.seed)
    flat_size(a.height, a.width_px, a.width)
    ref = Reference(a.height, a.width_px, a.channels, a.width, a.classes, a.queue)
    out = ref.weights()
    q = keras.random.normal((a.queue, a.width), seed=keras.random.SeedGenerator(a.seed))
    out["queue"] = np.asarray(tf.math.l2_normalize(q, axis=1), dtype=np.float32)
    out["temperature"] = np.float32(a.temperature)
    out["num_classes"] = np.int64(a.classes)
    np.savez(a.out, **out)


def cmd_forward(a):
    arrs = load_npz(a.inp)
    x = np.asarray(arrs["x"], dtype=np.float32)
    _, h, w, c = x.shape
    ref = Reference.from_arrays(arrs, h, w, c)
    f, p, logits = ref.forward(x)
    np.savez(a.out, features=f.astype(np.float32), projections=p.astype(np.float32),
             logits=logits.astype(np.float32))


def cmd_step(a):
    arrs = load_npz(a.inp)
    use_float64(arrs)
    v1 = np.asarray(arrs["view1"], dtype=floatx())
    v2 = np.asarray(arrs["view2"], dtype=floatx())
    px = np.asarray(arrs["probe_x"], dtype=floatx())
    py = np.asarray(arrs["probe_y"], dtype=np.int64)
    k, b, h, w, c = v1.shape
    if v2.shape != v1.shape or px.shape[0] != k or px.shape[2:] != (h, w, c) \
            or py.shape != px.shape[:2]:
        raise SystemExit(f"inconsistent shapes view1 {v1.shape} view2 {v2.shape} "
                         f"probe_x {px.shape} probe_y {py.shape}")
    for need in ("queue", "temperature"):
        if need not in arrs:
            raise SystemExit(f"step needs {need!r} in {a.inp}")
    if arrs["queue"].shape[0] < b:
        raise SystemExit(f"queue of {arrs['queue'].shape[0]} rows is smaller than the batch {b}")
    temperature = floatx().type(arrs["temperature"])
    ref = Reference.from_arrays(arrs, h, w, c)
    if a.forward:
        # The forward pass of arrs["x"] before any step (as the forward command writes it).
        f, p, logits = ref.forward(np.asarray(arrs["x"], dtype=floatx()))
        np.savez(a.forward, features=f.astype(np.float32), projections=p.astype(np.float32),
                 logits=logits.astype(np.float32))
    metrics = {m: np.zeros([k], np.float32) for m in ("c_loss", "c_acc", "r_acc", "p_loss", "p_acc")}
    picks = None
    if ref.topk > 1:
        if "support_pick" not in arrs:
            raise SystemExit(f"support_topk {ref.topk} needs support_pick [steps, 2, batch] in {a.inp}")
        picks = np.asarray(arrs["support_pick"], dtype=np.int32)
        if picks.shape != (k, 2, b):
            raise SystemExit(f"support_pick of shape {picks.shape}, want {(k, 2, b)}")
    for i in range(k):
        res = ref.step(temperature, tf.constant(v1[i]), tf.constant(v2[i]), tf.constant(px[i]),
                       tf.constant(py[i]), None if picks is None else tf.constant(picks[i]))
        for m in metrics:
            metrics[m][i] = np.float32(res[m].numpy())
        if i == 0 and a.first:
            save_state(a.first, ref, {m: v[:1] for m, v in metrics.items()}, temperature)
    save_state(a.out, ref, metrics, temperature)


def cmd_schedule(a):
    """The learning rate Keras's optimizers use at iterations 0..steps-1 under make_schedule."""
    sched = make_schedule(a.learning_rate, a.warmup_steps, a.total_steps)
    opt = keras.optimizers.SGD(learning_rate=sched)
    lrs = []
    for t in range(a.steps):
        opt.iterations.assign(t)
        lrs.append(np.float32(opt.learning_rate.numpy()))
    np.savez(a.out, lr=np.asarray(lrs, dtype=np.float32))


def save_state(path, ref, metrics, temperature):
    """Every variable, slot and the queue of ref, with the steps' metrics, as step writes them."""
    out = ref.export()
    out.update(metrics)
    out["temperature"] = temperature
    out["num_classes"] = np.int64(ref.vars["probe/kernel"].shape[1])
    np.savez(path, **out)


# --- training mode (benchmarks): the whole Keras model with augmentation inside, via fit -------


class RandomCropAndResize(layers.Layer):
    """DESIGN.md's box law: a ~ U(scale), r ~ U(3/4, 4/3), h = clip(sqrt(a/r)), w = clip(sqrt(a*r)),
    y1 ~ U(0, 1-h), x1 ~ U(0, 1-w); bilinear tf.image.crop_and_resize to the target size."""

    def __init__(self, target_size, scale, aspect=(3 / 4, 4 / 3), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.target_size = tuple(target_size)
        self.scale = tuple(scale)
        self.aspect = tuple(aspect)
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return tf.image.resize(images, self.target_size)
        n = tf.shape(images)[0]
        area = keras.random.uniform([n], self.scale[0], self.scale[1], seed=self.generator)
        aspect = keras.random.uniform([n], self.aspect[0], self.aspect[1], seed=self.generator)
        bh = tf.clip_by_value(tf.sqrt(area / aspect), 0.0, 1.0)
        bw = tf.clip_by_value(tf.sqrt(area * aspect), 0.0, 1.0)
        y1 = keras.random.uniform([n], 0.0, 1.0, seed=self.generator) * (1.0 - bh)
        x1 = keras.random.uniform([n], 0.0, 1.0, seed=self.generator) * (1.0 - bw)
        boxes = tf.stack([y1, x1, y1 + bh, x1 + bw], axis=1)
        return tf.image.crop_and_resize(images, boxes, tf.range(n), self.target_size,
                                        method="bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + self.target_size + (input_shape[3],)


def build_augmenter(shape, brightness, scale, name):
    h, w, c = shape
    return keras.Sequential(
        [layers.Input(shape=(h, w, c)),
         layers.Rescaling(1 / 255),
         layers.RandomFlip("horizontal"),
         RandomCropAndResize((h, w), scale),
         layers.RandomBrightness(factor=brightness, value_range=(0, 1))],
        name=name,
    )


class NNCLR(keras.Model):
    """The example's NNCLR for keras.Model.fit; backbone, stem (cifar), input_norm and the
    projection widths as nnclr's flags (a ResNet's head defaults to 2048 -> 256)."""

    def __init__(self, shape, width, num_classes, queue_size, temperature, backbone="conv4",
                 cifar=False, input_norm="unit", proj_hidden=0, proj_dim=0):
        super().__init__()
        h, w, c = shape
        self.contrastive_augmenter = build_augmenter(shape, 0.5, (0.2, 1.0), "contrastive_aug")
        self.classification_augmenter = build_augmenter(shape, 0.2, (0.5, 1.0),
                                                        "classification_aug")
        self.encoder = with_input_norm(build_backbone(backbone, h, w, c, width, cifar), input_norm)
        features = int(self.encoder.output_shape[-1])
        if backbone != "conv4":
            proj_hidden, proj_dim = proj_hidden or 2048, proj_dim or 256
        dim = proj_dim or width
        self.projection_head = build_projection_head(features, proj_hidden or width, dim)
        self.linear_probe = build_linear_probe(features, num_classes)
        self.temperature = temperature
        self.feature_queue = keras.Variable(
            tf.math.l2_normalize(keras.random.normal((queue_size, dim)), axis=1),
            trainable=False, name="feature_queue")

    def compile(self, contrastive_optimizer, probe_optimizer, **kwargs):
        super().compile(**kwargs)
        self.contrastive_optimizer = contrastive_optimizer
        self.probe_optimizer = probe_optimizer

    def train_step(self, data):
        (unlabelled, _), (labelled, labels) = data
        images = tf.concat([unlabelled, labelled], axis=0)
        v1 = self.contrastive_augmenter(images, training=True)
        v2 = self.contrastive_augmenter(images, training=True)
        px = self.classification_augmenter(labelled, training=True)
        return train_step_core(self.encoder, self.projection_head, self.linear_probe,
                               self.feature_queue, self.contrastive_optimizer,
                               self.probe_optimizer, tf.constant(self.temperature, tf.float32),
                               v1, v2, px, labels)


class StepTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.durations, self.logs = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        vals = {k: float(np.asarray(v)) for k, v in (logs or {}).items()}  # syncs the step
        self.durations.append(time.perf_counter() - self._t0)
        self.logs.append(vals)


def cmd_train(a):
    set_threads(a.intra_op_threads, a.inter_op_threads)  # before anything runs
    if a.precision == "bf16":
        # The same graph rewrite nnclr's --precision bf16 turns on (oneDNN's bfloat16 AMP):
        # float32 variables, bfloat16 convolutions and matmuls.
        tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})
    if a.seed is not None:
        keras.utils.set_random_seed(a.seed)
    if a.tfds_dir:
        # The example's input pipeline: a tfds dataset read (and PNG-decoded) every epoch.
        import tensorflow_datasets as tfds
        builder = tfds.builder_from_directory(a.tfds_dir)
        shape = tuple(int(d) for d in builder.info.features["image"].shape)
        n_u = builder.info.splits[a.unlabelled_split].num_examples
        n_l = builder.info.splits["train"].num_examples
        num_classes = a.classes or builder.info.features["label"].num_classes
    else:
        x = np.load(a.images_npy)
        y = np.load(a.labels_npy).astype(np.int64)
        u = np.load(a.unlabelled_npy)
        if x.ndim == 3:
            x = x[..., None]
        if u.ndim == 3:
            u = u[..., None]
        if x.shape[1:] != u.shape[1:] or len(x) != len(y):
            raise SystemExit(f"shapes: images {x.shape} labels {y.shape} unlabelled {u.shape}")
        shape = tuple(int(d) for d in x.shape[1:])
        n_u, n_l = len(u), len(x)
        num_classes = a.classes or int(y.max()) + 1
    resize = None
    if a.image_size or a.channels:
        # As nnclr's loader does for --image-size/--channels: bilinear resize with half-pixel
        # centres rounded to uint8, one channel replicated into three.
        out = (a.image_size or shape[0], a.image_size or shape[1], a.channels or shape[2])
        if out[2] != shape[2] and (shape[2], out[2]) != (1, 3):
            raise SystemExit(f"channels {shape[2]} -> {out[2]}: only 1 -> 3 is supported")

        def resize(x, y, out=out, gray=out[2] != shape[2]):
            x = tf.image.resize(x, out[:2], method="bilinear", antialias=False)
            x = tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8)
            if gray:
                x = tf.image.grayscale_to_rgb(x)
            return x, y
        shape = out
    if a.backbone == "conv4":
        flat_size(shape[0], shape[1], a.width)
    s = a.steps_per_epoch
    bu, bl = n_u // s, n_l // s
    if bu < 1 or bl < 1:
        raise SystemExit(f"too few images for {s} steps per epoch")
    if a.queue < bu + bl:
        raise SystemExit(f"queue {a.queue} smaller than the batch {bu + bl}")

    if a.tfds_dir:
        unl = builder.as_dataset(split=a.unlabelled_split, shuffle_files=True, as_supervised=True)
        lab = builder.as_dataset(split="train", shuffle_files=True, as_supervised=True)
        if resize:
            unl, lab = unl.map(resize), lab.map(resize)
        unl = unl.shuffle(a.shuffle_buffer).batch(bu, drop_remainder=True)
        lab = lab.shuffle(a.shuffle_buffer).batch(bl, drop_remainder=True)
    else:
        unl = (tf.data.Dataset.from_tensor_slices((u, np.full([len(u)], -1, np.int64)))
               .shuffle(a.shuffle_buffer).batch(bu, drop_remainder=True))
        lab = (tf.data.Dataset.from_tensor_slices((x, y))
               .shuffle(a.shuffle_buffer).batch(bl, drop_remainder=True))
    train_ds = tf.data.Dataset.zip((unl, lab)).prefetch(tf.data.AUTOTUNE)

    cifar = a.stem == "cifar" or (a.stem == "" and min(shape[0], shape[1]) < 64)
    model = NNCLR(shape, a.width, num_classes, a.queue, a.temperature, a.backbone, cifar,
                  a.input_norm, a.proj_hidden, a.proj_dim)
    jit = {"auto": "auto", "true": True, "false": False}[a.jit_compile]
    model.compile(contrastive_optimizer=make_adam(), probe_optimizer=make_adam(),
                  jit_compile=jit)
    timer = StepTimer()
    t0 = time.perf_counter()
    model.fit(train_ds, epochs=a.epochs, steps_per_epoch=s, callbacks=[timer], verbose=0)
    wall = time.perf_counter() - t0
    steady = timer.durations[1:]
    med = float(np.median(steady)) if steady else float("nan")
    last_epoch = timer.logs[-s:]
    result = {
        "images_per_second": (bu + bl) / med if steady else None,
        "seconds_per_step_median": med if steady else None,
        "seconds_per_step_mean": float(np.mean(steady)) if steady else None,
        "first_step_seconds": timer.durations[0] if timer.durations else None,
        "steps": len(timer.durations),
        "wall_seconds": wall,
        "unlabelled_batch": bu,
        "labelled_batch": bl,
        "input_shape": list(shape),
        "width": a.width,
        "queue": a.queue,
        "temperature": a.temperature,
        "num_classes": num_classes,
        "final_metrics": timer.logs[-1] if timer.logs else {},
        "last_epoch_mean_metrics": {k: float(np.mean([l[k] for l in last_epoch]))
                                    for k in (last_epoch[0] if last_epoch else {})},
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "jit_compile": bool(model.jit_compile),
        "precision": a.precision,
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "loss": "mean of the 4B cross-entropy terms",
    }
    result["step_seconds"] = timer.durations
    if a.weights_npz:
        named = named_variables(model.encoder, model.projection_head, model.linear_probe)
        np.savez(a.weights_npz, **{k: np.asarray(v.numpy(), dtype=np.float32) for k, v in named.items()})
    text = json.dumps(result, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    pi = sub.add_parser("init", help="Keras-initialised weights and queue")
    pi.add_argument("out")
    pi.add_argument("--height", type=int, required=True)
    pi.add_argument("--width-px", type=int, required=True)
    pi.add_argument("--channels", type=int, required=True)
    pi.add_argument("--width", type=int, required=True)
    pi.add_argument("--classes", type=int, required=True)
    pi.add_argument("--queue", type=int, required=True)
    pi.add_argument("--seed", type=int, required=True)
    pi.add_argument("--temperature", type=float, default=0.1)

    pf = sub.add_parser("forward", help="features, projections, logits")
    pf.add_argument("inp")
    pf.add_argument("out")

    ps = sub.add_parser("step", help="K training steps on given views")
    ps.add_argument("inp")
    ps.add_argument("out")
    ps.add_argument("--first", help="also write the state after the first step here")
    ps.add_argument("--forward", help="also write the forward pass of x before the steps here")

    pl = sub.add_parser("schedule", help="the learning rate per step of make_schedule")
    pl.add_argument("out")
    pl.add_argument("--learning-rate", type=float, required=True)
    pl.add_argument("--warmup-steps", type=int, required=True)
    pl.add_argument("--total-steps", type=int, required=True)
    pl.add_argument("--steps", type=int, required=True)

    for sp in (pi, pf, ps, pl):
        sp.add_argument("--threads", type=int, default=0,
                        help="intra- and inter-op threads (0: TensorFlow's default)")

    pt = sub.add_parser("train", help="full Keras NNCLR with augmentation (benchmark)")
    pt.add_argument("--images-npy", help="labelled images (uint8 NHWC .npy); or use --tfds-dir")
    pt.add_argument("--labels-npy")
    pt.add_argument("--unlabelled-npy")
    pt.add_argument("--tfds-dir", help="tfds dataset version dir with splits unlabelled, train (read and "
                    "decoded every epoch, as the example does)")
    pt.add_argument("--epochs", type=int, default=5)
    pt.add_argument("--steps-per-epoch", type=int, default=50)
    pt.add_argument("--width", type=int, default=128)
    pt.add_argument("--backbone", choices=tuple(BACKBONES.values()), default="conv4")
    pt.add_argument("--stem", choices=("", "imagenet", "cifar"), default="",
                    help="a ResNet's stem ('': cifar below 64 pixels, as nnclr)")
    pt.add_argument("--input-norm", choices=INPUT_NORMS, default="unit")
    pt.add_argument("--proj-hidden", type=int, default=0, help="0: width (conv4), 2048 (ResNets)")
    pt.add_argument("--proj-dim", type=int, default=0, help="0: width (conv4), 256 (ResNets)")
    pt.add_argument("--queue", type=int, default=10000)
    pt.add_argument("--temperature", type=float, default=0.1)
    pt.add_argument("--classes", type=int, default=0, help="0: max(label)+1")
    pt.add_argument("--shuffle-buffer", type=int, default=5000)
    pt.add_argument("--intra-op-threads", type=int, default=0)
    pt.add_argument("--inter-op-threads", type=int, default=0)
    pt.add_argument("--jit-compile", choices=("auto", "true", "false"), default="auto")
    pt.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                    help="bf16: oneDNN's bfloat16 auto-mixed-precision graph rewrite")
    pt.add_argument("--seed", type=int, default=None)
    pt.add_argument("--unlabelled-split", default="unlabelled",
                    help="the tfds split of unlabelled images (train for datasets without one)")
    pt.add_argument("--image-size", type=int, default=0, help="resize images to this size (0: keep)")
    pt.add_argument("--channels", type=int, default=0, help="1 -> 3 replicates the channel (0: keep)")
    pt.add_argument("--weights-npz", default=None,
                    help="write the trained weights here, named as nnclr names its variables")
    pt.add_argument("--json", default=None)

    a = p.parse_args(argv)
    if a.cmd == "train":
        cmd_train(a)
        return
    set_threads(a.threads, a.threads)
    {"init": cmd_init, "forward": cmd_forward, "step": cmd_step, "schedule": cmd_schedule}[a.cmd](a)


if __name__ == "__main__":
    main()
