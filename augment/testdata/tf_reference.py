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
The paper's optional augmentations, on float32 images x (values in [0, 1]) with given draws:
  jitter    per image, SimCLR's colour jitter in the given order (0 brightness, 1 contrast,
            2 saturation, 3 hue): tf.image.adjust_brightness / adjust_contrast / adjust_saturation
            / adjust_hue with the drawn value, tf.clip_by_value(·, 0, 1) after each; a step whose
            strength is 0 is skipped, as SimCLR's color_jitter_rand does
  grayscale tf.image.rgb_to_grayscale, tiled to 3 channels
  blur      SimCLR's gaussian_blur (kernel size height // 10, weights computed in TF float32, or
            in float64 when "weights" is "f64") as two tf.nn.depthwise_conv2d passes with padding
            SAME, then tf.clip_by_value(·, 0, 1)
  full      pipeline, then per image where drawn: jitter → grayscale → blur as above →
            solarization (tf.where(x < 0.5, x, 1 - x))
A spec with "jobs" (a list of specs, each with its own "out") runs them all in one process.
"""
import json
import sys

import numpy as np
import tensorflow as tf
import keras


def load(spec, key, dtype, shape):
    return np.fromfile(spec[key], dtype=dtype).reshape(shape)


def jitter(x, order, params, strengths):
    """SimCLR's color_jitter_rand on one image with drawn values instead of random ones."""
    for op in order:
        if strengths[op] == 0:
            continue
        v = params[op]
        if op == 0:
            x = tf.image.adjust_brightness(x, v)
        elif op == 1:
            x = tf.image.adjust_contrast(x, v)
        elif op == 2:
            x = tf.image.adjust_saturation(x, v)
        else:
            x = tf.image.adjust_hue(x, v)
        x = tf.clip_by_value(x, 0.0, 1.0)
    return x


def grayscale(x):
    return tf.tile(tf.image.rgb_to_grayscale(x), [1] * (len(x.shape) - 1) + [3])


def gaussian_blur(image, kernel_size, sigma, weights="tf"):
    """SimCLR's gaussian_blur (data_util.py) on one HWC image, then the clip to [0, 1]."""
    radius = int(kernel_size / 2)
    kernel_size = radius * 2 + 1
    if weights == "tf":
        x = tf.cast(tf.range(-radius, radius + 1), tf.float32)
        blur_filter = tf.exp(-tf.pow(x, 2.0) / (2.0 * tf.pow(tf.cast(sigma, tf.float32), 2.0)))
        blur_filter /= tf.reduce_sum(blur_filter)
    else:
        x = np.arange(-radius, radius + 1, dtype=np.float64)
        f = np.exp(-x * x / (2.0 * np.float64(sigma) ** 2))
        blur_filter = tf.constant((f / f.sum()).astype(np.float32))
    blur_v = tf.reshape(blur_filter, [kernel_size, 1, 1, 1])
    blur_h = tf.reshape(blur_filter, [1, kernel_size, 1, 1])
    num_channels = tf.shape(image)[-1]
    blur_h = tf.tile(blur_h, [1, 1, num_channels, 1])
    blur_v = tf.tile(blur_v, [1, 1, num_channels, 1])
    image = tf.expand_dims(image, axis=0)
    blurred = tf.nn.depthwise_conv2d(image, blur_h, strides=[1, 1, 1, 1], padding="SAME")
    blurred = tf.nn.depthwise_conv2d(blurred, blur_v, strides=[1, 1, 1, 1], padding="SAME")
    return tf.clip_by_value(tf.squeeze(blurred, axis=0), 0.0, 1.0)


def jitter_params(spec, n):
    order = load(spec, "order", np.int32, (n, 4))
    params = np.stack([load(spec, k, np.float32, (n,)) for k in ("brightness", "contrast", "saturation", "hue")], 1)
    return order, params, spec["strengths"]


def paper_ops(spec, x):
    n, h = x.shape[0], x.shape[1]
    mode = spec["mode"]
    if mode == "grayscale":
        return grayscale(x)
    out = []
    if mode in ("jitter", "full"):
        order, params, strengths = jitter_params(spec, n)
    if mode in ("blur", "full"):
        sigmas = load(spec, "sigmas", np.float32, (n,))
    if mode == "full":
        flags = load(spec, "flags", np.uint8, (n, 4)).astype(bool)
    for i in range(n):
        y = x[i]
        if mode == "jitter" or (mode == "full" and flags[i, 0]):
            y = jitter(y, order[i], params[i], strengths)
        if mode == "full" and flags[i, 1]:
            y = grayscale(y)
        if mode == "blur" or (mode == "full" and flags[i, 2]):
            y = gaussian_blur(y, h // 10, sigmas[i], spec.get("weights", "tf"))
        if mode == "full" and flags[i, 3]:
            y = tf.where(y < 0.5, y, 1 - y)  # BYOL's solarization
        out.append(y)
    return tf.stack(out)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    for job in spec.get("jobs", [spec]):
        run(job)


def run(spec):
    n, h, w, c = spec["shape"]
    mode = spec["mode"]
    if mode in ("jitter", "grayscale", "blur"):
        x = tf.constant(load(spec, "x", np.float32, (n, h, w, c)))
        np.asarray(paper_ops(spec, x), dtype=np.float32).tofile(spec["out"])
        return
    images = load(spec, "images", np.uint8, (n, h, w, c))
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
    elif mode in ("pipeline", "full"):
        flips = load(spec, "flips", np.uint8, (n,)).astype(bool)
        boxes = load(spec, "boxes", np.float32, (n, 4))
        deltas = load(spec, "deltas", np.float32, (n, 1, 1, 1))
        x = keras.layers.Rescaling(1.0 / 255)(images)
        x = tf.where(flips[:, None, None, None], tf.image.flip_left_right(x), x)
        x = tf.image.crop_and_resize(x, boxes, tf.range(n), spec["size"], method="bilinear")
        layer = keras.layers.RandomBrightness(factor=spec["factor"], value_range=(0, 1))
        out = layer.transform_images(x, {"rgb_delta": tf.constant(deltas)}, training=True)
        if mode == "full":
            out = paper_ops(spec, out)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    np.asarray(out, dtype=np.float32).tofile(spec["out"])


if __name__ == "__main__":
    main()
