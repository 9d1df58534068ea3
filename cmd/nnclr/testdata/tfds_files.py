"""Prints, as JSON, each example of a split of a tfds dataset directory in file order, as
tensorflow_datasets reads it: its image/filename, its label and the SHA-256 of its encoded image
bytes (not decoded). For cmd/nnclr's TestInspectFolder.

usage: tfds_files.py DATASET_VERSION_DIR SPLIT
"""
import hashlib
import json
import os
import sys

os.environ.setdefault("TFDS_DISABLE_GCS", "1")
import tensorflow_datasets as tfds  # noqa: E402


def main():
    path, split = sys.argv[1], sys.argv[2]
    b = tfds.builder_from_directory(path)
    rows = []
    for ex in tfds.as_numpy(b.as_dataset(split=split, shuffle_files=False, decoders={"image": tfds.decode.SkipDecoding()})):
        rows.append({"filename": ex["image/filename"].decode("utf-8"), "label": int(ex["label"]),
                     "sha256": hashlib.sha256(ex["image"]).hexdigest()})
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    main()
