"""Times TensorFlow's in-graph version of the contrastive augmenter on one batch.

Usage: tf_augment_bench.py N H W C OUT_H OUT_W REPEATS THREADS [paper]
Prints JSON {"images_per_second": …, "seconds_per_batch": [...]}: the same work as augment's
Go path (Rescaling(1/255), per-image random flip, crop_and_resize of a per-image random box of the
contrastive law, per-image brightness add-and-clip), as one tf.function on uint8 input.
With "paper", every image then also gets, at p = 1 as augment's benchmark sets them, SimCLR's
colour jitter (strength 1: brightness 0.8, contrast 0.8, saturation 0.8, hue 0.2, in a random
order with a clip after each step), rgb_to_grayscale tiled to 3 channels, and SimCLR's Gaussian
blur (σ ~ U(0.1, 2.0), kernel OUT_H // 10, two depthwise convolutions, then a clip). Their factors
differ per image, which tf.vectorized_map cannot batch (its converters need one factor for the
batch), so they run per image in tf.map_fn, as SimCLR's per-image map does.
"""
import json
import sys
import time

import numpy as np
import tensorflow as tf

n, h, w, c, oh, ow, repeats, threads = (int(a) for a in sys.argv[1:9])
paper = sys.argv[9:10] == ["paper"]
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
tf.random.set_seed(0)


@tf.function(jit_compile=False)
def augment(images):
    x = tf.cast(images, tf.float32) * np.float32(1.0 / 255)
    flip = tf.random.uniform([n]) < 0.5
    x = tf.where(flip[:, None, None, None], tf.image.flip_left_right(x), x)
    area = tf.random.uniform([n], 0.2, 1.0)
    aspect = tf.random.uniform([n], 3 / 4, 4 / 3)
    bh = tf.clip_by_value(tf.sqrt(area / aspect), 0.0, 1.0)
    bw = tf.clip_by_value(tf.sqrt(area * aspect), 0.0, 1.0)
    y1 = tf.random.uniform([n]) * (1 - bh)
    x1 = tf.random.uniform([n]) * (1 - bw)
    boxes = tf.stack([y1, x1, y1 + bh, x1 + bw], axis=1)
    x = tf.image.crop_and_resize(x, boxes, tf.range(n), [oh, ow])
    delta = tf.random.uniform([n, 1, 1, 1], -0.5, 0.5)
    x = tf.clip_by_value(x + delta, 0.0, 1.0)
    if paper:
        x = tf.map_fn(paper_ops, x, parallel_iterations=32)
    return x


def paper_ops(x):
    b = tf.random.uniform([], -0.8, 0.8)
    cf = tf.random.uniform([], 0.2, 1.8)
    sf = tf.random.uniform([], 0.2, 1.8)
    hd = tf.random.uniform([], -0.2, 0.2)
    steps = [
        lambda x: tf.image.adjust_brightness(x, b),
        lambda x: tf.image.adjust_contrast(x, cf),
        lambda x: tf.image.adjust_saturation(x, sf),
        lambda x: tf.image.adjust_hue(x, hd),
    ]
    perm = tf.random.shuffle(tf.range(4))
    for i in range(4):
        x = tf.switch_case(perm[i], [lambda f=f, x=x: f(x) for f in steps])
        x = tf.clip_by_value(x, 0.0, 1.0)
    x = tf.tile(tf.image.rgb_to_grayscale(x), [1, 1, 3])
    radius = oh // 10 // 2
    k = tf.cast(tf.range(-radius, radius + 1), tf.float32)
    sigma = tf.random.uniform([], 0.1, 2.0)
    f = tf.exp(-tf.pow(k, 2.0) / (2.0 * tf.pow(sigma, 2.0)))
    f /= tf.reduce_sum(f)
    fh = tf.tile(tf.reshape(f, [1, -1, 1, 1]), [1, 1, c, 1])
    fv = tf.tile(tf.reshape(f, [-1, 1, 1, 1]), [1, 1, c, 1])
    y = tf.nn.depthwise_conv2d(x[None], fh, [1, 1, 1, 1], "SAME")
    y = tf.nn.depthwise_conv2d(y, fv, [1, 1, 1, 1], "SAME")
    return tf.clip_by_value(y[0], 0.0, 1.0)


images = tf.constant(np.random.default_rng(0).integers(0, 256, size=(n, h, w, c), dtype=np.uint8))
augment(images).numpy()  # trace and warm up
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    augment(images).numpy()
    times.append(time.perf_counter() - t0)
print(json.dumps({"images_per_second": n / float(np.median(times)), "seconds_per_batch": times}))
