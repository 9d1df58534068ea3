"""Times the Keras reference's train step (pyref/nnclr_keras.py) on fixed inputs.

Usage: keras_step_bench.py B BL THREADS STEPS
Prints JSON {"seconds_per_step": median of the steps after the first}: the example's model at
96x96x3, width 128, queue 10,000, B contrastive and BL probe images, the same work as
tfgraph's BenchmarkTrainStep96.
"""
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

b, bl, threads, steps = (int(a) for a in sys.argv[1:5])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pyref"))
import nnclr_keras as ref_mod  # noqa: E402

ref = ref_mod.Reference(96, 96, 3, 128, 10, 10000)
ref.queue.assign(tf.math.l2_normalize(tf.random.normal((10000, 128)), axis=1))
rng = np.random.default_rng(0)
v1 = tf.constant(rng.random((b, 96, 96, 3), dtype=np.float32))
v2 = tf.constant(rng.random((b, 96, 96, 3), dtype=np.float32))
px = tf.constant(rng.random((bl, 96, 96, 3), dtype=np.float32))
py = tf.constant(rng.integers(0, 10, bl))
times = []
for _ in range(steps + 1):
    t0 = time.perf_counter()
    out = ref.step(0.1, v1, v2, px, py)
    float(out["c_loss"])
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds_per_step": float(np.median(times[1:]))}))
