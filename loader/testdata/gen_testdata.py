"""Regenerates loader/testdata with the real TensorFlow and tensorflow_datasets.

Run from the repository root with the pinned interpreter:

    .venv/bin/python loader/testdata/gen_testdata.py

Files written (all small; the TFRecord framing fixtures are tfrecord/testdata's):
  tfds/tiny/1.0.0/            tfds-written dataset: Image(shape=(8,8,3)), ClassLabel(10),
                              splits train=5, test=3, unlabelled=4 (label -1), seeded random pixels
  tfds/tiny.expected/         what tfds.load read from it (see pyref/tfds_ref.py for the format)
  tfds/tinygray/1.0.0/, tfds/tinygray.expected/   the same with shape (8,8,1) and class names
  tfds/tinyjpeg/1.0.0/, tfds/tinyjpeg.expected/   the same with encoding_format="jpeg" (16x16x3, smooth
                              colour waves instead of noise)
  tfds/escape/1.0.0/          tiny, with a filepathTemplate that climbs out of the data dir
  tfds/missingshard/1.0.0/    tiny, with the train shard removed
  tfds/badpng/1.0.0/          tiny, train record 1 holds a corrupt PNG (valid TFRecord CRCs)
  tfds/wrongshape/1.0.0/      tiny, train record 2 holds a 7x8x3 PNG (features.json says 8x8x3)
"""

import glob
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pyref"))

import tfds_ref  # noqa: E402
import tensorflow as tf  # noqa: E402


def build(name, shape, splits, seed, names="", encoding=None):
    root = os.path.join(HERE, "tfds")
    shutil.rmtree(os.path.join(root, name), ignore_errors=True)
    args = ["build", "--data-dir", root, "--name", name, "--shape", shape, "--splits", splits,
            "--seed", str(seed), "--dump", os.path.join(root, name + ".expected")]
    if names:
        args += ["--names", names]
    if encoding:
        args += ["--encoding", encoding]
    tfds_ref.main(args)
    shutil.rmtree(os.path.join(root, "downloads"), ignore_errors=True)


def variant(new, edit):
    """Copies tfds/tiny/1.0.0 to tfds/NEW/1.0.0 (renaming files and the dataset) and edits it."""
    root = os.path.join(HERE, "tfds")
    src = os.path.join(root, "tiny", "1.0.0")
    dst = os.path.join(root, new, "1.0.0")
    shutil.rmtree(os.path.join(root, new), ignore_errors=True)
    os.makedirs(dst)
    for p in glob.glob(os.path.join(src, "*")):
        base = os.path.basename(p)
        if base.startswith("tiny-"):
            base = new + base[len("tiny"):]
        shutil.copy(p, os.path.join(dst, base))
    info_path = os.path.join(dst, "dataset_info.json")
    info = json.load(open(info_path))
    info["name"] = new
    edit(dst, info)
    with open(info_path, "w") as f:
        json.dump(info, f, indent=2)


def rewrite_train(dst, new, fn):
    """Rewrites NEW-train shard, passing each tf.train.Example (index, proto) through fn."""
    path = glob.glob(os.path.join(dst, new + "-train.tfrecord-*"))[0]
    recs = list(tf.data.TFRecordDataset(path).as_numpy_iterator())
    with tf.io.TFRecordWriter(path) as w:
        for i, r in enumerate(recs):
            ex = tf.train.Example.FromString(r)
            fn(i, ex)
            w.write(ex.SerializeToString())


def main():
    os.chdir(HERE)
    build("tiny", "8,8,3", "train=5,test=3,unlabelled=4", seed=7)
    build("tinygray", "8,8,1", "train=4,test=2", seed=8, names="zero|one|two|three|four|five|six|seven|eight|nine")
    build("tinyjpeg", "16,16,3", "train=3", seed=9, encoding="jpeg")

    def escape(dst, info):
        for s in info["splits"]:
            s["filepathTemplate"] = "../../../{DATASET}-{SPLIT}.{FILEFORMAT}-{SHARD_X_OF_Y}"
    variant("escape", escape)

    def missing(dst, info):
        for p in glob.glob(os.path.join(dst, "missingshard-train.tfrecord-*")):
            os.remove(p)
    variant("missingshard", missing)

    def badpng(dst, info):
        def fn(i, ex):
            if i == 1:
                img = bytearray(ex.features.feature["image"].bytes_list.value[0])
                img[40:60] = b"\x00" * 20
                ex.features.feature["image"].bytes_list.value[0] = bytes(img)
        rewrite_train(dst, "badpng", fn)
    variant("badpng", badpng)

    def wrongshape(dst, info):
        def fn(i, ex):
            if i == 2:
                png = tf.io.encode_png(tf.zeros((7, 8, 3), tf.uint8)).numpy()
                ex.features.feature["image"].bytes_list.value[0] = png
        rewrite_train(dst, "wrongshape", fn)
    variant("wrongshape", wrongshape)


if __name__ == "__main__":
    main()
