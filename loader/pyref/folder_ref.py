"""Image-folder fixtures and the real libraries' view of them, for loader/folder_test.go.

gen   --out DIR --layout classes|splits   writes a small folder of images of many sizes and formats
      with Pillow and NumPy (seeded, no TensorFlow); DIR/expected.json gives, per file, the
      pixels the stated conversion rule must give (for the lossless formats) as hex.
check --data-dir D --name N --root R --layout L --size S --out FILE
      reads dataset N with tfds.builder_from_directory (every split: filename, label, shape,
      pixels, and the image resized with tf.image.resize(bilinear) to S×S), and lists what
      tfds.folder_dataset.ImageFolder (split layout) or keras.utils.image_dataset_from_directory
      (classes layout) make of the folder R: class names and each file's label.
"""
import argparse
import io
import json
import os
import sys

import numpy as np
from PIL import Image


def _rng_image(rng, h, w, c):
    """A smooth random image (random gradients and a little noise), closer to a photo than noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.empty((h, w, c))
    for k in range(c):
        a, b, p = rng.uniform(-6, 6), rng.uniform(-6, 6), rng.uniform(0, 255)
        out[:, :, k] = p + a * y + b * x + rng.normal(0, 4, size=(h, w))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def gen(out, layout):
    rng = np.random.default_rng(7)
    expected = {}
    classes = ["cat", "dog", "zebra"]

    def put(rel, save, pixels=None):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        save(path)
        if pixels is not None:
            expected[rel] = {"shape": list(pixels.shape), "hex": pixels.tobytes().hex()}

    def files_for(prefix, k):
        # k picks sizes so that each class has images of several sizes.
        h, w = 9 + 3 * k, 13 + 2 * k
        rgb = _rng_image(rng, h, w, 3)
        put(prefix + "a_rgb.png", lambda p: Image.fromarray(rgb).save(p))
        put(prefix + "b_photo.jpg", lambda p: Image.fromarray(_rng_image(rng, h + 5, w, 3)).save(p, quality=92))
        put(prefix + "c_grey.jpeg", lambda p: Image.fromarray(_rng_image(rng, h, w + 4, 1)[:, :, 0]).save(p))
        rgba = _rng_image(rng, h, w, 4)
        put(prefix + "d_rgba.PNG", lambda p: Image.fromarray(rgba).save(p))
        g16 = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
        put(prefix + "e_grey16.png", lambda p: Image.fromarray(g16).save(p), (g16 >> 8).astype(np.uint8)[:, :, None])
        pal = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=16)
        put(prefix + "f_palette.png", lambda p: pal.save(p), np.asarray(pal.convert("RGB")))
        ga = _rng_image(rng, h, w, 2)
        put(prefix + "g_grey_alpha.png", lambda p: Image.fromarray(ga, mode="LA").save(p), ga[:, :, :1])
        gif = Image.fromarray(rgb).convert("P", palette=Image.ADAPTIVE, colors=32)
        put(prefix + "h_anim.gif", lambda p: gif.save(p), np.asarray(gif.convert("RGB")))
        bmp = _rng_image(rng, h + 1, w, 3)
        put(prefix + "i_bitmap.bmp", lambda p: Image.fromarray(bmp).save(p), bmp)
        webp = _rng_image(rng, h, w + 1, 3)
        put(prefix + "j_lossless.webp", lambda p: Image.fromarray(webp).save(p, lossless=True), webp)
        cmyk = Image.fromarray(_rng_image(rng, h, w, 4), mode="CMYK")
        put(prefix + "k_cmyk.jpg", lambda p: cmyk.save(p))
        tif = _rng_image(rng, h, w, 3)
        put(prefix + "l_scan.tiff", lambda p: Image.fromarray(tif).save(p), tif)
        # A JPEG with EXIF orientation 6 (rotate 90°): stored as given, read as its pixels lie.
        ex = Image.Exif()
        ex[0x0112] = 6
        put(prefix + "m_exif.jpg", lambda p: Image.fromarray(_rng_image(rng, h, w + 7, 3)).save(p, exif=ex))
        # A larger photo in a nested folder (Keras reads class folders recursively).
        put(prefix + "sub/n_big.jpg", lambda p: Image.fromarray(_rng_image(rng, 60 + k, 41, 3)).save(p))
        # Files that are not images.
        for junk in (".DS_Store", "._b_photo.jpg", "notes.txt"):
            put(prefix + junk, lambda p: open(p, "wb").write(b"\x00junk"))

    if layout == "classes":
        for k, c in enumerate(classes):
            files_for(c + "/", k)
    else:
        for k, c in enumerate(classes):
            files_for("train/" + c + "/", k)
        for k, c in enumerate(["dog", "ant"]):  # the union of the classes is the label set
            files_for("test/" + c + "/", k + 3)
    with open(os.path.join(out, "..", os.path.basename(out) + ".expected.json"), "w") as f:
        json.dump(expected, f)


def check(data_dir, name, root, layout, size, out):
    os.environ.setdefault("TFDS_DISABLE_GCS", "1")
    import tensorflow as tf
    import tensorflow_datasets as tfds

    res = {"splits": {}}
    b = tfds.builder_from_directory(os.path.join(data_dir, name, "1.0.0"))
    res["names"] = b.info.features["label"].names
    res["image_shape"] = [d if d is not None else -1 for d in b.info.features["image"].shape]
    for split in b.info.splits:
        rows = []
        for ex in b.as_dataset(split=split, shuffle_files=False):
            img = ex["image"]
            resized = tf.cast(tf.round(tf.image.resize(tf.cast(img, tf.float32), [size, size], method="bilinear")), tf.uint8)
            rows.append({
                "filename": ex["image/filename"].numpy().decode("utf-8"),
                "label": int(ex["label"]),
                "shape": list(img.shape),
                "hex": img.numpy().tobytes().hex(),
                "resized": resized.numpy().tobytes().hex(),
            })
        res["splits"][split] = rows
    if layout == "splits":
        # tfds's ImageFolder: its label names, and the file list and labels it builds its
        # examples from (its own indexing, without decoding the images).
        from tensorflow_datasets.core.folder_dataset import image_folder
        ifb = tfds.folder_dataset.ImageFolder(root)
        res["ref_names"] = ifb.info.features["label"].names
        res["ref_labels"] = {}
        split_examples, _ = image_folder._get_split_label_images(root)
        for split, examples in split_examples.items():
            for ex in examples:
                res["ref_labels"][os.path.relpath(ex.image_path, root)] = ifb.info.features["label"].str2int(ex.label)
    else:
        # The indexing behind keras.utils.image_dataset_from_directory (labels="inferred"):
        # its class names and each file's label, without decoding the images.
        from keras.src.utils import dataset_utils, image_dataset_utils
        paths, labels, names = dataset_utils.index_directory(
            root, labels="inferred", formats=image_dataset_utils.ALLOWLIST_FORMATS, shuffle=False)
        res["ref_names"] = list(names)
        res["ref_labels"] = {os.path.relpath(p, root): int(l) for p, l in zip(paths, labels)}
    with open(out, "w") as f:
        json.dump(res, f)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["gen", "check"])
    p.add_argument("--out")
    p.add_argument("--layout", default="classes")
    p.add_argument("--data-dir")
    p.add_argument("--name")
    p.add_argument("--root")
    p.add_argument("--size", type=int, default=16)
    a = p.parse_args()
    if a.cmd == "gen":
        gen(a.out, a.layout)
    else:
        check(a.data_dir, a.name, a.root, a.layout, a.size, a.out)


if __name__ == "__main__":
    sys.exit(main())
