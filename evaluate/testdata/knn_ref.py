"""NumPy reference of evaluate.KNN's weighted k-nearest-neighbour vote (InstDisc / DINO eval_knn).

Usage: knn_ref.py IN.npz OUT.npz K:T [K:T ...]

IN.npz (written by the Go test) holds train_x [n, d] float32, train_y [n] int64, test_x [m, d]
float32, test_y [m] int64 and classes [] int64. For each K:T setting the vote is computed in
float64, independently of the Go code:
  * rows are L2-normalized: x / max(||x||, 1e-12);
  * sims = test @ train.T; identical train rows get identical similarities (BLAS may round a
    dot product differently from column to column, while Go computes identical rows
    identically, so exact ties must stay exact here too);
  * the K largest similarities are the neighbours (equal similarities: lower train index first,
    a stable argsort);
  * each neighbour adds exp(sim / T) to its class, in neighbour order (exp is taken once per
    distinct similarity, so equal similarities get equal weights);
  * classes rank by descending score, equal scores by ascending class index (stable argsort), so
    a tie goes to the lowest class index.
OUT.npz gets, per setting i: pred_i [m] int64 (top-ranked class), rank_i [m] int64 (classes ranked
above the label), top1_i, top5_i [] float64, and two margins that tell the Go test whether its
float32 rounding could change the outcome:
  kgap_i [m]   min |s_j - s_(K)| over the train similarities s_j that differ from the K-th
               largest s_(K) (exactly equal ones stay equal in Go, see above);
  margin_i [m] min over consecutive sorted non-zero class scores that differ of
               (s_i - s_(i+1)) / s_max (exactly equal scores are sums of equal weights).
"""
import sys

import numpy as np


def normalize(x):
    x = x.astype(np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn(tr, ty, te, classes, k, t):
    _, first, inverse = np.unique(tr, axis=0, return_index=True, return_inverse=True)
    sims = (te @ tr[first].T)[:, inverse.ravel()]
    order = np.argsort(-sims, axis=1, kind="stable")
    nb = order[:, :k]
    # exp of each distinct similarity once, so that equal similarities get equal weights.
    u, inv = np.unique(np.take_along_axis(sims, nb, axis=1), return_inverse=True)
    w = np.exp(u / t)[inv.reshape(nb.shape)]
    scores = np.zeros((te.shape[0], classes))
    rows = np.repeat(np.arange(te.shape[0]), k)
    np.add.at(scores, (rows, ty[nb].ravel()), w.ravel())

    kth = np.take_along_axis(sims, order[:, k - 1 : k], axis=1)
    diff = np.abs(sims - kth)
    kgap = np.where(diff > 0, diff, np.inf).min(axis=1)

    s = -np.sort(-scores, axis=1)
    gaps = (s[:, :-1] - s[:, 1:]) / s[:, :1]
    margin = np.where((s[:, 1:] > 0) & (gaps > 0), gaps, np.inf).min(axis=1)
    return scores, kgap, margin


def main():
    inp, out = sys.argv[1], sys.argv[2]
    z = np.load(inp)
    classes = int(z["classes"])
    tr, te = normalize(z["train_x"]), normalize(z["test_x"])
    ty, yy = z["train_y"].astype(np.int64), z["test_y"].astype(np.int64)
    res = {}
    for i, setting in enumerate(sys.argv[3:]):
        k, t = setting.split(":")
        scores, kgap, margin = knn(tr, ty, te, classes, int(k), float(t))
        order = np.argsort(-scores, axis=1, kind="stable")
        rank = np.argmax(order == yy[:, None], axis=1).astype(np.int64)
        res[f"pred_{i}"] = order[:, 0].astype(np.int64)
        res[f"rank_{i}"] = rank
        res[f"top1_{i}"] = np.float64(np.mean(rank < 1))
        res[f"top5_{i}"] = np.float64(np.mean(rank < 5))
        res[f"kgap_{i}"] = kgap
        res[f"margin_{i}"] = margin
    np.savez(out, **res)


if __name__ == "__main__":
    main()
