"""Times tf.data reading a tfds dataset directory the way the Keras NNCLR example does.

Usage: tfdata_bench.py DATASET_DIR SPLIT BATCH SHUFFLE_BUFFER THREADS
Prints JSON {"images_per_second": …, "images": N, "seconds": S}: one epoch of
builder_from_directory(DIR).as_dataset(split, shuffle_files=True).shuffle(buffer).batch(batch,
drop_remainder=True).prefetch(AUTOTUNE), decoded to uint8, after one warm-up epoch.
"""
import json
import sys
import time

import tensorflow as tf
import tensorflow_datasets as tfds

path, split, batch, buf, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
builder = tfds.builder_from_directory(path)


def epoch():
    ds = builder.as_dataset(split=split, shuffle_files=True, as_supervised=True)
    ds = ds.shuffle(buf).batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
    n = 0
    t0 = time.perf_counter()
    for x, _ in ds:
        n += int(x.shape[0])
    return n, time.perf_counter() - t0


epoch()
n, s = epoch()
print(json.dumps({"images_per_second": n / s, "images": n, "seconds": s}))
