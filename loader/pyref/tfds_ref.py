"""Reference side of the loader cross-checks: the real tensorflow_datasets writes and reads here.

The Go tests in loader/ run this script with the pinned interpreter ($NNCLR_PYTHON, else
.venv/bin/python) and compare what it wrote or read with what the Go code reads or wrote. It is
also imported by loader/testdata/gen_testdata.py. Subcommands:

  build     write a dataset with tfds's own writer (a GeneratorBasedBuilder + download_and_prepare)
            from seeded random images or from Fashion-MNIST IDX files, then read it back with
            tfds.load and dump what tfds read.
  read      read a dataset directory (tfds.load by name, or tfds.builder_from_directory) and dump.
  stl10-bin write an STL-10 binary release (stl10_binary/*.bin) of seeded random images and dump the
            examples the real tfds STL-10 builder's _generate_examples yields from it.
  idx       dump the first N images and labels of the Fashion-MNIST train and t10k IDX gzip files,
            decoded with numpy, as splits train and test.
  resize    tf.image.resize (bilinear) of raw uint8 images to one or more sizes, rounded to uint8.

A dump directory holds, per split S: S.images (uint8, N*H*W*C, NHWC, in read order), S.labels
(int64 little endian, N) and meta.json ({"splits": {S: {"count": N, "shape": [H, W, C]}}}).
"""

import argparse
import gzip
import json
import os
import sys
import types

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

FASHION_MNIST_NAMES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def parse_counts(text):
    """'train=3,test=2' -> [('train', 3), ('test', 2)] (order kept)."""
    out = []
    for part in text.split(","):
        name, n = part.split("=")
        out.append((name, int(n)))
    return out


def random_split(seed, split_index, n, shape, num_classes, unlabelled, smooth=False):
    rng = np.random.default_rng([seed, split_index])
    if smooth:
        # Smooth colour waves (for JPEG, whose decoders agree closely only on smooth content).
        h, w, c = shape
        y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
        ph = rng.uniform(0, 2 * np.pi, size=(n, 1, 1, 1, 2))
        v = 128 + 60 * np.sin(x / 5.0 + ch + ph[..., 0]) + 50 * np.cos(y / 7.0 - ch + ph[..., 1])
        images = np.clip(np.round(v), 0, 255).astype(np.uint8)
    else:
        images = rng.integers(0, 256, size=(n,) + tuple(shape), dtype=np.uint8)
    if unlabelled:
        labels = np.full((n,), -1, dtype=np.int64)
    else:
        labels = rng.integers(0, num_classes, size=(n,), dtype=np.int64)
    return images, labels


def read_idx(images_gz, labels_gz, n):
    with gzip.open(images_gz, "rb") as f:
        raw = f.read()
    magic, count, rows, cols = np.frombuffer(raw[:16], dtype=">u4")
    assert magic == 2051, magic
    n = min(n, int(count))
    images = np.frombuffer(raw[16:16 + n * rows * cols], dtype=np.uint8).reshape(n, rows, cols, 1)
    with gzip.open(labels_gz, "rb") as f:
        raw = f.read()
    magic, lcount = np.frombuffer(raw[:8], dtype=">u4")
    assert magic == 2049, magic
    labels = np.frombuffer(raw[8:8 + n], dtype=np.uint8).astype(np.int64)
    return images, labels


def dump(out, splits):
    """splits: list of (name, images uint8 NHWC, labels int64)."""
    os.makedirs(out, exist_ok=True)
    meta = {"splits": {}}
    for name, images, labels in splits:
        images = np.ascontiguousarray(images, dtype=np.uint8)
        labels = np.ascontiguousarray(labels, dtype="<i8")
        with open(os.path.join(out, name + ".images"), "wb") as f:
            f.write(images.tobytes())
        with open(os.path.join(out, name + ".labels"), "wb") as f:
            f.write(labels.tobytes())
        meta["splits"][name] = {"count": int(images.shape[0]), "shape": [int(d) for d in images.shape[1:]]}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)


def make_builder_class(name, version, shape, num_classes, names, encoding, split_data):
    """A GeneratorBasedBuilder named `name` whose splits yield split_data[split] = (images, labels)."""
    import tensorflow_datasets as tfds

    def body(ns):
        ns["name"] = name
        ns["VERSION"] = tfds.core.Version(version)

        def _info(self):
            label = (tfds.features.ClassLabel(names=names) if names
                     else tfds.features.ClassLabel(num_classes=num_classes))
            return tfds.core.DatasetInfo(
                builder=self,
                features=tfds.features.FeaturesDict({
                    "image": tfds.features.Image(shape=tuple(shape), encoding_format=encoding),
                    "label": label,
                }),
                supervised_keys=("image", "label"),
            )

        def _split_generators(self, dl_manager):
            return {s: self._generate_examples(s) for s in split_data}

        def _generate_examples(self, split):
            images, labels = split_data[split]
            for i in range(images.shape[0]):
                yield i, {"image": images[i], "label": int(labels[i])}

        ns["_info"] = _info
        ns["_split_generators"] = _split_generators
        ns["_generate_examples"] = _generate_examples

    cls_name = "".join(p.capitalize() for p in name.split("_")) + "Ref"
    return types.new_class(cls_name, (tfds.core.GeneratorBasedBuilder,),
                           {"skip_registration": True}, body)


def read_splits(ds_by_split):
    out = []
    for split, ds in ds_by_split:
        images, labels = [], []
        for ex in ds.as_numpy_iterator():
            images.append(ex["image"])
            labels.append(int(ex["label"]))
        shape = tuple(ds.element_spec["image"].shape)
        arr = np.stack(images) if images else np.zeros((0,) + shape, dtype=np.uint8)
        out.append((split, arr, np.asarray(labels, dtype=np.int64)))
    return out


def cmd_build(a):
    import tensorflow_datasets as tfds

    shape = [int(x) for x in a.shape.split(",")]
    names = a.names.split("|") if a.names else None
    if a.source == "fashion":
        names = names or FASHION_MNIST_NAMES
    split_data = {}
    for i, (split, n) in enumerate(parse_counts(a.splits)):
        if a.source == "random":
            split_data[split] = random_split(a.seed, i, n, shape, a.num_classes, split.startswith("unlabel"),
                                             smooth=a.encoding == "jpeg")
        elif a.source == "fashion":
            split_data[split] = read_idx(a.idx_images, a.idx_labels, n)
        else:
            sys.exit("unknown source " + a.source)
    cls = make_builder_class(a.name, a.version, shape, a.num_classes, names, a.encoding, split_data)
    builder = cls(data_dir=a.data_dir)
    builder.download_and_prepare()
    if a.via == "load":
        ds = [(s, tfds.load(a.name, data_dir=a.data_dir, split=s, download=False)) for s in split_data]
    else:
        ds = [(s, builder.as_dataset(split=s)) for s in split_data]
    read = read_splits(ds)
    # tfds's writer shuffles examples; check that what it reads back is what we generated (as a
    # multiset of (image, label)) before handing it to Go as the reference.
    for split, images, labels in read:
        gi, gl = split_data[split]
        key = lambda im, lb: (lb, im.tobytes())
        want = sorted(key(gi[i], gl[i]) for i in range(gi.shape[0]))
        got = sorted(key(images[i], labels[i]) for i in range(images.shape[0]))
        if a.encoding != "jpeg" and want != got:
            sys.exit(f"tfds round trip changed split {split}")
    dump(a.dump, read)


def cmd_read(a):
    import tensorflow_datasets as tfds

    splits = a.splits.split(",")
    rc = tfds.ReadConfig(interleave_cycle_length=a.cycle) if a.cycle else None
    for via in a.via.split(","):
        if via == "load":
            # download=False: tfds must find everything it needs in data_dir.
            name = a.name + (":" + a.version if a.version else "")
            ds = [(s, tfds.load(name, data_dir=a.data_dir, split=s, download=False,
                                shuffle_files=False, read_config=rc)) for s in splits]
        elif via == "dir":
            builder = tfds.builder_from_directory(a.dir)
            ds = [(s, builder.as_dataset(split=s, shuffle_files=False, read_config=rc)) for s in splits]
        else:
            sys.exit("unknown --via " + via)
        dump(os.path.join(a.dump, via), read_splits(ds))


def cmd_stl10_bin(a):
    from tensorflow_datasets.datasets.stl10 import stl10_dataset_builder as stl

    root = os.path.join(a.out, "stl10_binary")
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    with open(os.path.join(root, "class_names.txt"), "w") as f:
        for c in ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]:
            f.write(c + "\n")
    out = []
    for split, n in parse_counts(a.counts):
        x = rng.integers(0, 256, size=(n, 3, 96, 96), dtype=np.uint8)
        files = [os.path.join(root, split + "_X.bin")]
        x.tofile(files[0])
        if split != "unlabeled":
            y = rng.integers(1, 11, size=(n,), dtype=np.uint8)
            files.append(os.path.join(root, split + "_y.bin"))
            y.tofile(files[1])
        # The real tfds STL-10 builder's decoding of the binary release is the reference.
        examples = list(stl.Builder._generate_examples(None, files))
        images = np.stack([e["image"] for _, e in examples])
        labels = np.asarray([int(e["label"]) for _, e in examples], dtype=np.int64)
        out.append(("unlabelled" if split == "unlabeled" else split, images, labels))
    dump(a.dump, out)


def cmd_idx(a):
    out = []
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = read_idx(os.path.join(a.dir, prefix + "-images-idx3-ubyte.gz"),
                                  os.path.join(a.dir, prefix + "-labels-idx1-ubyte.gz"), a.n)
        out.append((split, images, labels))
    dump(a.dump, out)


def cmd_resize(a):
    import tensorflow as tf

    n, h, w, c = [int(x) for x in a.src_shape.split(",")]
    x = np.fromfile(a.input, dtype=np.uint8).reshape(n, h, w, c)
    out = []
    for size in a.size.split(";"):
        oh, ow = [int(v) for v in size.split(",")]
        y = tf.image.resize(tf.constant(x, tf.float32), (oh, ow), method="bilinear", antialias=False)
        y = tf.cast(tf.clip_by_value(tf.round(y), 0, 255), tf.uint8).numpy()
        out.append((f"{oh}x{ow}", y, np.zeros((n,), dtype=np.int64)))
    dump(a.dump, out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    b = sub.add_parser("build")
    b.add_argument("--data-dir", required=True)
    b.add_argument("--name", required=True)
    b.add_argument("--version", default="1.0.0")
    b.add_argument("--shape", default="96,96,3")
    b.add_argument("--num-classes", type=int, default=10)
    b.add_argument("--names", default="", help="class names separated by |")
    b.add_argument("--encoding", default=None, choices=[None, "png", "jpeg"])
    b.add_argument("--splits", required=True, help="train=3,test=2,unlabelled=4")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--source", default="random", choices=["random", "fashion"])
    b.add_argument("--idx-images")
    b.add_argument("--idx-labels")
    b.add_argument("--via", default="builder", choices=["builder", "load"])
    b.add_argument("--dump", required=True)
    b.set_defaults(fn=cmd_build)

    r = sub.add_parser("read")
    r.add_argument("--data-dir")
    r.add_argument("--name")
    r.add_argument("--version", default="")
    r.add_argument("--dir", help="dataset version directory, for --via dir")
    r.add_argument("--via", default="load", help="load (tfds.load by name), dir (builder_from_directory), or both: load,dir; dumps go to DUMP/VIA")
    r.add_argument("--splits", required=True)
    r.add_argument("--cycle", type=int, default=0, help="ReadConfig.interleave_cycle_length (0: tfds default)")
    r.add_argument("--dump", required=True)
    r.set_defaults(fn=cmd_read)

    s = sub.add_parser("stl10-bin")
    s.add_argument("--out", required=True)
    s.add_argument("--counts", default="train=3,test=2,unlabeled=4")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--dump", required=True)
    s.set_defaults(fn=cmd_stl10_bin)

    i = sub.add_parser("idx")
    i.add_argument("--dir", required=True, help="directory of the Fashion-MNIST IDX .gz files")
    i.add_argument("--n", type=int, default=64)
    i.add_argument("--dump", required=True)
    i.set_defaults(fn=cmd_idx)

    z = sub.add_parser("resize")
    z.add_argument("--input", required=True)
    z.add_argument("--src-shape", required=True, help="N,H,W,C")
    z.add_argument("--size", required=True, help="H,W[;H,W...]: one dumped split HxW per size")
    z.add_argument("--dump", required=True)
    z.set_defaults(fn=cmd_resize)

    a = p.parse_args(argv)
    a.fn(a)


if __name__ == "__main__":
    main()
