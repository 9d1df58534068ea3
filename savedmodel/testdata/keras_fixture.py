"""Python-trained NNCLR fixtures for the Go SavedModel tests, made during the test run.

keras_fixture.py OUT H W C WIDTH SEED

Trains the project's Keras reference (pyref/nnclr_keras.py) for two NNCLR steps on random views,
then rebuilds the encoder and projection head with Keras's default layer names (as the Keras
example does: conv2d, conv2d_1, ..., dense) holding the trained weights, and writes:
  OUT/tfsm      tf.saved_model.save of a module with the encoder and head and a serving_default
                signature: float32 images in [0, 1] -> {"embedding", "projection"}
  OUT/export    encoder.export(...) (Keras 3 ExportArchive): serving_default, float32 -> output_0
  OUT/dynamic   model.export(...) of a backbone built on Input((None, None, C)): the trained conv
                layers and a global average pool, so its signature takes images of any height
                and width, [?, ?, ?, C] float32 -> output_0 [?, WIDTH]
  OUT/expected.npz  x (uint8 images), embedding (encoder on x / 255), projection,
                dynamic_embedding (the dynamic backbone on x / 255), and the trained weights under
                the project's names (enc/..., head/...)
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "pyref"))
import nnclr_keras as ref_mod  # noqa: E402


def default_named(h, w, c, width):
    enc = keras.Sequential([layers.Input(shape=(h, w, c))]
                           + [layers.Conv2D(width, 3, strides=2, activation="relu") for _ in range(4)]
                           + [layers.Flatten(), layers.Dense(width, activation="relu")], name="encoder")
    head = keras.Sequential([layers.Input(shape=(width,)), layers.Dense(width, activation="relu"),
                             layers.Dense(width)], name="projection_head")
    return enc, head


def main():
    out, h, w, c, width, seed = sys.argv[1], *map(int, sys.argv[2:7])
    keras.utils.set_random_seed(seed)
    ref = ref_mod.Reference(h, w, c, width, 10, 64)
    q = tf.math.l2_normalize(keras.random.normal((64, width), seed=keras.random.SeedGenerator(seed)), axis=1)
    ref.queue.assign(q)
    rng = np.random.default_rng(seed)
    for _ in range(2):
        v1 = rng.random((16, h, w, c), dtype=np.float32)
        v2 = rng.random((16, h, w, c), dtype=np.float32)
        px = rng.random((8, h, w, c), dtype=np.float32)
        py = rng.integers(0, 10, size=8).astype(np.int64)
        ref.step(0.1, tf.constant(v1), tf.constant(v2), tf.constant(px), tf.constant(py))
    weights = ref.weights()

    enc, head = default_named(h, w, c, width)
    names = [f"enc/conv{i}/{p}" for i in range(4) for p in ("kernel", "bias")] + ["enc/dense/kernel", "enc/dense/bias"]
    enc.set_weights([weights[n] for n in names])
    head.set_weights([weights[n] for n in ["head/dense0/kernel", "head/dense0/bias", "head/dense1/kernel", "head/dense1/bias"]])

    class Module(tf.Module):
        def __init__(self):
            super().__init__()
            self.encoder = enc
            self.head = head

        @tf.function(input_signature=[tf.TensorSpec([None, h, w, c], tf.float32, name="images")])
        def serve(self, images):
            f = self.encoder(images, training=False)
            return {"embedding": f, "projection": self.head(f, training=False)}

    m = Module()
    tf.saved_model.save(m, os.path.join(out, "tfsm"), signatures={"serving_default": m.serve})
    enc.export(os.path.join(out, "export"))
    dyn = keras.Sequential([layers.Input(shape=(None, None, c))]
                           + [layers.Conv2D(width, 3, strides=2, activation="relu") for _ in range(4)]
                           + [layers.GlobalAveragePooling2D()], name="backbone")
    dyn.set_weights([weights[n] for n in names[:8]])
    dyn.export(os.path.join(out, "dynamic"))

    x = rng.integers(0, 256, size=(10, h, w, c), dtype=np.uint8)
    f = enc(x.astype(np.float32) * np.float32(1 / 255), training=False)
    p = head(f, training=False)
    exp = {k: v for k, v in weights.items() if k.startswith(("enc/", "head/"))}
    d = dyn(x.astype(np.float32) * np.float32(1 / 255), training=False)
    np.savez(os.path.join(out, "expected.npz"), x=x, embedding=np.asarray(f), projection=np.asarray(p),
             dynamic_embedding=np.asarray(d), **exp)


if __name__ == "__main__":
    main()
