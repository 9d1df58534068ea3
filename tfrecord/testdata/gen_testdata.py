"""Regenerates tfrecord/testdata with the real TensorFlow.

Run from the repository root with the pinned interpreter:

    .venv/bin/python tfrecord/testdata/gen_testdata.py

Files written:
  records.tfrecord            3 records written by tf.io.TFRecordWriter: b"", b"hello", bytes(range(256))*3
  truncated_header.tfrecord   records.tfrecord cut 5 bytes into record 1's header
  truncated_data.tfrecord     records.tfrecord cut 100 bytes into record 2's data
  bad_length_crc.tfrecord     records.tfrecord with record 1's length CRC altered
  bad_data_crc.tfrecord       records.tfrecord with record 2's data altered (data CRC mismatch)
"""

import os

import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))


def write_records():
    recs = [b"", b"hello", bytes(range(256)) * 3]
    path = os.path.join(HERE, "records.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for r in recs:
            w.write(r)
    data = open(path, "rb").read()
    sizes = [12 + len(r) + 4 for r in recs]
    off1 = sizes[0]
    off2 = sizes[0] + sizes[1]

    def put(name, b):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(b)

    put("truncated_header.tfrecord", data[:off1 + 5])
    put("truncated_data.tfrecord", data[:off2 + 12 + 100])
    b = bytearray(data)
    b[off1 + 8] ^= 0x01
    put("bad_length_crc.tfrecord", bytes(b))
    b = bytearray(data)
    b[off2 + 12 + 10] ^= 0xFF
    put("bad_data_crc.tfrecord", bytes(b))


if __name__ == "__main__":
    write_records()
