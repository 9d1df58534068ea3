"""Reads a checkpoint directory written by nnclr with TensorFlow's own readers.

read_checkpoint.py CKPT_DIR OUT.npz

tf.train.latest_checkpoint(CKPT_DIR) finds the latest prefix from the "checkpoint" state file;
tf.train.load_checkpoint(prefix) (a CheckpointReader) reads every variable. OUT.npz holds each
variable under its checkpoint name, and "__latest__" the latest prefix's base name as bytes.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    ckpt_dir, out = sys.argv[1], sys.argv[2]
    prefix = tf.train.latest_checkpoint(ckpt_dir)
    if prefix is None:
        sys.exit("tf.train.latest_checkpoint found no checkpoint in %s" % ckpt_dir)
    reader = tf.train.load_checkpoint(prefix)
    arrays = {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}
    arrays["__latest__"] = np.frombuffer(os.path.basename(prefix).encode(), dtype=np.uint8)
    np.savez(out, **arrays)


if __name__ == "__main__":
    main()
