"""Times the Keras reference's train step (pyref/nnclr_keras.py) on fixed inputs.

Usage: keras_step_bench.py B BL THREADS STEPS [--trace] [--bf16] [--backbone NAME --size S [--cifar]]
The example's model at 96x96x3, width 128, queue 10,000, B contrastive and BL probe images (the
work of tfgraph's BenchmarkTrainStep96 and BenchmarkStepOps; --size S: at SxSx3); with
--backbone resnet18|resnet50, that ResNet at SxSx3 (--cifar: its CIFAR stem) with heads
2048 -> 256; --bf16: with oneDNN's bfloat16 rewrite (auto_mixed_precision_onednn_bfloat16, the
rewrite nnclr's --precision bf16 turns on). After a warm-up step, STEPS steps
are timed. Prints JSON {"seconds_per_step": median of the timed steps}. With --trace, STEPS more
steps then run under TensorFlow's profiler, whose XSpace gives every kernel's time (events named
"node:OpType" on the host plane), and the JSON also has
"ops": {OpType: {"ms": per step, "count": kernels per step}}.
"""
import glob
import json
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

b, bl, threads, steps = (int(a) for a in sys.argv[1:5])
opts = sys.argv[5:]
trace = "--trace" in opts
backbone = opts[opts.index("--backbone") + 1] if "--backbone" in opts else "conv4"
size = int(opts[opts.index("--size") + 1]) if "--size" in opts else 96
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
if "--bf16" in opts:
    tf.config.optimizer.set_experimental_options({"auto_mixed_precision_onednn_bfloat16": True})
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pyref"))
import nnclr_keras as ref_mod  # noqa: E402

if backbone == "conv4":
    ref = ref_mod.Reference(size, size, 3, 128, 10, 10000)
else:
    ref = ref_mod.Reference(size, size, 3, 128, 10, 10000, proj_hidden=2048, proj_dim=256,
                            backbone=backbone, cifar="--cifar" in opts)
ref.queue.assign(tf.math.l2_normalize(tf.random.normal(tuple(ref.queue.shape)), axis=1))
rng = np.random.default_rng(0)
v1 = tf.constant(rng.random((b, size, size, 3), dtype=np.float32))
v2 = tf.constant(rng.random((b, size, size, 3), dtype=np.float32))
px = tf.constant(rng.random((bl, size, size, 3), dtype=np.float32))
py = tf.constant(rng.integers(0, 10, bl))


def step():
    out = ref.step(0.1, v1, v2, px, py)
    float(out["c_loss"])


times = []
for _ in range(steps + 1):
    t0 = time.perf_counter()
    step()
    times.append(time.perf_counter() - t0)
result = {"seconds_per_step": float(np.median(times[1:]))}


def kernel_times():
    try:
        from tsl.profiler.protobuf import xplane_pb2
    except ImportError:  # the module's place in other wheels
        from tensorflow.tsl.profiler.protobuf import xplane_pb2
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        for _ in range(steps):
            step()
        tf.profiler.experimental.stop()
        paths = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        if len(paths) != 1:
            sys.exit("keras_step_bench: want one profile, found %d in %s" % (len(paths), logdir))
        space = xplane_pb2.XSpace()
        with open(paths[0], "rb") as f:
            space.ParseFromString(f.read())
    kernel = re.compile(r"^[^\s:]+:([A-Za-z0-9_]+)$")
    ops = {}
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            for ev in line.events:
                m = kernel.match(plane.event_metadata[ev.metadata_id].name)
                if not m:
                    continue
                o = ops.setdefault(m.group(1), {"ms": 0.0, "count": 0.0})
                o["ms"] += ev.duration_ps / 1e9 / steps
                o["count"] += 1 / steps
    if not ops:
        sys.exit("keras_step_bench: the profile has no kernel events")
    return ops


if trace:
    result["ops"] = kernel_times()
print(json.dumps(result))
