"""Cross-check of the Go .npz reader/writer with NumPy.

write OUT.npz: NumPy writes known arrays (np.savez and np.savez_compressed members).
check IN.npz: NumPy loads what Go wrote and verifies the known arrays; prints "ok".
"""
import sys

import numpy as np


def known():
    return {
        "f32": np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7,
        "f64": np.linspace(-1, 1, 5),
        "i64": np.array([-(2**40), 0, 7], dtype=np.int64),
        "i32": np.array([[1, -2], [3, 4]], dtype=np.int32),
        "u8": np.arange(256, dtype=np.uint8),
        "b": np.array([True, False, True]),
        "scalar": np.float32(3.5),
        "empty": np.zeros((0, 4), dtype=np.float32),
    }


if sys.argv[1] == "write":
    np.savez(sys.argv[2], **known())
elif sys.argv[1] == "check":
    got = np.load(sys.argv[2])
    for k, v in known().items():
        g = got[k]
        assert g.dtype == v.dtype, (k, g.dtype, v.dtype)
        assert g.shape == np.shape(v), (k, g.shape, np.shape(v))
        assert np.array_equal(g, v), k
    print("ok")
