"""scikit-learn reference for evaluate.Linear: LogisticRegression on standardized features.

Usage: linear_ref.py IN.npz OUT.npz C MAX_ITER

IN.npz (written by the Go test) holds train_x [n, d] float32, train_y [n] int64, test_x [m, d]
float32, test_y [m] int64. The features are standardized with StandardScaler fitted on the train
split (the transform evaluate.Linear applies with Standardize), then
LogisticRegression(C, solver="lbfgs", max_iter) is fitted; with more than two classes lbfgs fits
the multinomial (softmax) loss — the default in scikit-learn 1.5, where the multi_class parameter
is deprecated. Classes rank by descending decision function, equal values by ascending class index.
OUT.npz gets top1, top5 [] float64, n_iter [] int64, and the standardized features
train_std [n, d], test_std [m, d] as float64, for the Go test to compare its own standardization.
"""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def main():
    inp, out, c, max_iter = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    z = np.load(inp)
    xtr = z["train_x"].astype(np.float64)
    xte = z["test_x"].astype(np.float64)
    ytr, yte = z["train_y"], z["test_y"]
    scaler = StandardScaler().fit(xtr)
    xtr, xte = scaler.transform(xtr), scaler.transform(xte)
    clf = LogisticRegression(C=c, solver="lbfgs", max_iter=max_iter).fit(xtr, ytr)
    if not np.array_equal(clf.classes_, np.arange(len(clf.classes_))):
        raise SystemExit(f"train labels {clf.classes_} are not 0..k-1")
    order = np.argsort(-clf.decision_function(xte), axis=1, kind="stable")
    rank = np.argmax(order == yte[:, None], axis=1)
    np.savez(
        out,
        top1=np.float64(np.mean(rank < 1)),
        top5=np.float64(np.mean(rank < 5)),
        n_iter=np.int64(clf.n_iter_.max()),
        train_std=xtr,
        test_std=xte,
    )


if __name__ == "__main__":
    main()
