"""Python side of the SavedModel tests: the real TensorFlow loads and runs SavedModels.

run DIR IN.npz OUT.npz [--signature KEY]
    tf.saved_model.load(DIR).signatures[KEY](**inputs from IN.npz) -> OUT.npz (every output).
"""
import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def cmd_run(a):
    model = tf.saved_model.load(a.dir)
    fn = model.signatures[a.signature]
    inputs = {k: tf.constant(v) for k, v in np.load(a.inputs).items()}
    out = fn(**inputs)
    np.savez(a.out, **{k: v.numpy() for k, v in out.items()})


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("inputs")
    r.add_argument("out")
    r.add_argument("--signature", default="serving_default")
    a = p.parse_args()
    {"run": cmd_run}[a.cmd](a)


if __name__ == "__main__":
    main()
