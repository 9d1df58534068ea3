"""Writes Fashion-MNIST train images as the Keras reference's in-memory inputs for
BenchmarkPretrain32VsKeras: resized to SIZE×SIZE with tf.image.resize (bilinear, half-pixel
centres, rounded to uint8, as nnclr's loader resizes), grey replicated to 3 channels, the first
UNLABELLED images as u.npy and the next LABELLED as x.npy with their labels y.npy.

usage: fmnist_npy.py IDX_DIR OUT_DIR SIZE UNLABELLED LABELLED
"""
import gzip
import sys

import numpy as np
import tensorflow as tf


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    src, out, size, nu, nl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    x = idx(f"{src}/train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1)[: nu + nl]
    y = idx(f"{src}/train-labels-idx1-ubyte.gz", 8).astype(np.int64)[: nu + nl]
    r = tf.image.resize(x, (size, size), method="bilinear", antialias=False)
    r = tf.image.grayscale_to_rgb(tf.cast(tf.clip_by_value(tf.round(r), 0, 255), tf.uint8)).numpy()
    np.save(f"{out}/u.npy", r[:nu])
    np.save(f"{out}/x.npy", r[nu:])
    np.save(f"{out}/y.npy", y[nu:])


if __name__ == "__main__":
    main()
