"""Recomputes the nearest-neighbour sheet's same-class fraction from embeddings in NumPy.

Usage: neighbours_numpy.py QUERIES.npz GALLERY.npz SHEET.json
QUERIES.npz and GALLERY.npz are `nnclr --mode embed` outputs of the whole query and gallery
splits (rows in file order); SHEET.json is what `--mode neighbours` wrote beside its PNG, of
which only the query indices and k are used. Prints JSON: the fraction and the neighbours.
"""
import json
import sys

import numpy as np


def main():
    q, g = np.load(sys.argv[1]), np.load(sys.argv[2])
    with open(sys.argv[3]) as f:
        sheet = json.load(f)
    qi = np.array([x["index"] for x in sheet["queries"]])
    k = len(sheet["queries"][0]["neighbours"])
    qe = q["embeddings"][qi].astype(np.float64)
    ge = g["embeddings"].astype(np.float64)
    qe /= np.maximum(np.linalg.norm(qe, axis=1, keepdims=True), 1e-12)
    ge /= np.maximum(np.linalg.norm(ge, axis=1, keepdims=True), 1e-12)
    sims = qe @ ge.T
    nearest = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    same = g["labels"][nearest] == q["labels"][qi][:, None]
    print(json.dumps({"fraction": float(same.mean()), "same": int(same.sum()), "drawn": int(same.size),
                      "neighbours": nearest.tolist()}))


if __name__ == "__main__":
    main()
