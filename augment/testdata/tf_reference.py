"""Reference outputs of the real TensorFlow / Keras image ops for augment's cross-check tests.

Usage: tf_reference.py SPEC.json. SPEC names raw little-endian files written by the Go test and
the file to write the float32 result to. Modes:
  crop      tf.image.crop_and_resize(cast(images) * scale, boxes, box_indices, size, "bilinear")
  flip      tf.image.flip_left_right(Rescaling(1/255)(images))
  rescale   keras.layers.Rescaling(1/255)(images)
  brightness keras.layers.RandomBrightness(factor, value_range=(0, 1)).transform_images with the
            given per-image deltas (the layer's own add-and-clip)
  pipeline  the Keras example's augmenter with given draws: Rescaling(1/255) → flip where drawn →
            crop_and_resize of the drawn box → RandomBrightness add-and-clip of the drawn delta
"""
import json
import sys

import numpy as np
import tensorflow as tf
import keras


def load(spec, key, dtype, shape):
    return np.fromfile(spec[key], dtype=dtype).reshape(shape)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    n, h, w, c = spec["shape"]
    images = load(spec, "images", np.uint8, (n, h, w, c))
    mode = spec["mode"]
    if mode == "crop":
        m = spec["num_boxes"]
        boxes = load(spec, "boxes", np.float32, (m, 4))
        idx = load(spec, "box_indices", np.int32, (m,))
        img = tf.cast(images, tf.float32) * np.float32(spec["scale"])
        out = tf.image.crop_and_resize(img, boxes, idx, spec["size"], method="bilinear", extrapolation_value=0.0)
    elif mode == "flip":
        out = tf.image.flip_left_right(keras.layers.Rescaling(1.0 / 255)(images))
    elif mode == "rescale":
        out = keras.layers.Rescaling(1.0 / 255)(images)
    elif mode == "brightness":
        deltas = load(spec, "deltas", np.float32, (n, 1, 1, 1))
        layer = keras.layers.RandomBrightness(factor=spec["factor"], value_range=(0, 1))
        x = keras.layers.Rescaling(1.0 / 255)(images)
        out = layer.transform_images(x, {"rgb_delta": tf.constant(deltas)}, training=True)
    elif mode == "pipeline":
        flips = load(spec, "flips", np.uint8, (n,)).astype(bool)
        boxes = load(spec, "boxes", np.float32, (n, 4))
        deltas = load(spec, "deltas", np.float32, (n, 1, 1, 1))
        x = keras.layers.Rescaling(1.0 / 255)(images)
        x = tf.where(flips[:, None, None, None], tf.image.flip_left_right(x), x)
        x = tf.image.crop_and_resize(x, boxes, tf.range(n), spec["size"], method="bilinear")
        layer = keras.layers.RandomBrightness(factor=spec["factor"], value_range=(0, 1))
        out = layer.transform_images(x, {"rgb_delta": tf.constant(deltas)}, training=True)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    np.asarray(out, dtype=np.float32).tofile(spec["out"])


if __name__ == "__main__":
    main()
