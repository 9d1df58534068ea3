"""Times TensorFlow's in-graph version of the contrastive augmenter on one batch.

Usage: tf_augment_bench.py N H W C OUT_H OUT_W REPEATS THREADS
Prints JSON {"images_per_second": …, "seconds_per_batch": [...]}: the same work as augment's
Go path (Rescaling(1/255), per-image random flip, crop_and_resize of a per-image random box of the
contrastive law, per-image brightness add-and-clip), as one tf.function on uint8 input.
"""
import json
import sys
import time

import numpy as np
import tensorflow as tf

n, h, w, c, oh, ow, repeats, threads = (int(a) for a in sys.argv[1:9])
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
    return tf.clip_by_value(x + delta, 0.0, 1.0)


images = tf.constant(np.random.default_rng(0).integers(0, 256, size=(n, h, w, c), dtype=np.uint8))
augment(images).numpy()  # trace and warm up
times = []
for _ in range(repeats):
    t0 = time.perf_counter()
    augment(images).numpy()
    times.append(time.perf_counter() - t0)
print(json.dumps({"images_per_second": n / float(np.median(times)), "seconds_per_batch": times}))
