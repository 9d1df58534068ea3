"""Self-check of pyref/nnclr_keras.py against an independent NumPy (float64) computation.

Usage: TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python pyref/selfcheck.py [--keep DIR] [--no-train]

Runs the CLI end to end (init, forward, step, and a tiny train) at small sizes (48x64x3 input,
width 16, B=8, Bl=4, Q=32, K=2 steps) and checks with NumPy only (no TensorFlow here):
  - forward: features / projections / logits of a NumPy conv net with the same weights;
  - step 1 and step 2: c_loss, c_acc, r_acc, p_loss, p_acc;
  - the queue after each step: concat(normalized p1, old_queue[:-B]);
  - the contrastive Adam's first update (m, v, weights) and its gradient (recovered as m / 0.1)
    against central finite differences of the NumPy MEAN loss with straight-through neighbours;
  - the probe's gradient and Adam update in closed form;
  - resuming: step(K=1) then step(K=1) from its output equals step(K=2).
Exits non-zero on any failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "nnclr_keras.py")
H, WPX, C, WIDTH, CLASSES, Q, B, BL, K, SEED = 48, 64, 3, 16, 5, 32, 8, 4, 2, 1
T = np.float32(0.1)

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + detail) if detail else ''}")
    if not ok:
        failures.append(name)


def run(*args):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    subprocess.run([sys.executable, SCRIPT, *args], check=True, env=env)


def load(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


# ---------------------------------------------------------------------------------------------
# NumPy model (float64)


def conv_s2_valid(x, k, b):
    patches = sliding_window_view(x, (3, 3), axis=(1, 2))[:, ::2, ::2]  # [N,Ho,Wo,C,3,3]
    return np.einsum("nhwcij,ijco->nhwo", patches, k) + b


def relu(x):
    return np.maximum(x, 0.0)


def np_encoder(w, x):
    h = x.astype(np.float64)
    for i in range(4):
        h = relu(conv_s2_valid(h, w[f"enc/conv{i}/kernel"], w[f"enc/conv{i}/bias"]))
    h = h.reshape(h.shape[0], -1)  # row-major (h, w, c), as keras Flatten
    return relu(h @ w["enc/dense/kernel"] + w["enc/dense/bias"])


def np_head(w, f):
    h = relu(f @ w["head/dense0/kernel"] + w["head/dense0/bias"])
    return h @ w["head/dense1/kernel"] + w["head/dense1/bias"]


def l2n(x):
    return x / np.sqrt(np.maximum(np.sum(x * x, axis=1, keepdims=True), 1e-12))


def tf_argmax(m):
    """TF CPU ArgMax as observed (Eigen's reducer): the first index of the maximum over the non-NaN
    entries (NaN never wins, like np.nanargmax); 0 for an all-NaN row."""
    best = np.full(m.shape[0], -np.inf)
    idx = np.zeros(m.shape[0], np.int64)
    for j in range(m.shape[1]):
        better = m[:, j] > best
        best = np.where(better, m[:, j], best)
        idx = np.where(better, j, idx)
    return idx


def diag_acc(m):
    rows = np.concatenate([m, m.T], axis=0)
    n = m.shape[0]
    return float(np.mean(tf_argmax(rows) == np.concatenate([np.arange(n), np.arange(n)])))


def ce_rows(logits, labels):
    mx = logits.max(axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(logits - mx), axis=1)) + mx[:, 0]
    return lse - logits[np.arange(len(labels)), labels]


def contrastive(w, v1, v2, queue, offsets=None):
    """Returns loss (mean of 4B), p1n, metrics and the straight-through offsets (nn - p)."""
    q = queue.astype(np.float64)
    f1, f2 = np_encoder(w, v1), np_encoder(w, v2)
    p1, p2 = l2n(np_head(w, f1)), l2n(np_head(w, f2))
    if offsets is None:
        i1, i2 = tf_argmax(p1 @ q.T), tf_argmax(p2 @ q.T)
        offsets = (q[i1] - p1, q[i2] - p2)
    nn1, nn2 = p1 + offsets[0], p2 + offsets[1]
    logits = np.concatenate([nn1 @ p2.T, p2 @ nn1.T, nn2 @ p1.T, p1 @ nn2.T], axis=0) / float(T)
    b = len(v1)
    loss = float(np.mean(ce_rows(logits, np.tile(np.arange(b), 4))))
    c_acc = diag_acc(l2n(f1) @ l2n(f2).T)
    with np.errstate(invalid="ignore", divide="ignore"):
        z1 = (f1 - f1.mean(0)) / f1.std(0)
        z2 = (f2 - f2.mean(0)) / f2.std(0)
        cc = z1.T @ z2 / b
    r_acc = diag_acc(cc)
    dead = int(np.sum((f1.std(0) == 0) | (f2.std(0) == 0)))
    return loss, p1, c_acc, r_acc, offsets, dead


def probe_step(w_enc, w_probe0, x, y, m_slots=None):
    f = np_encoder(w_enc, x)
    logits = f @ w_probe0["probe/kernel"] + w_probe0["probe/bias"]
    loss = float(np.mean(ce_rows(logits, y)))
    acc = float(np.mean(np.argmax(logits, 1) == y))
    e = np.exp(logits - logits.max(1, keepdims=True))
    sm = e / e.sum(1, keepdims=True)
    sm[np.arange(len(y)), y] -= 1.0
    grads = {"probe/kernel": f.T @ sm / len(y), "probe/bias": sm.mean(0)}
    return loss, acc, grads


def adam_first(g):
    """Keras Adam's first step from zero slots, in float32 as Keras computes it."""
    g = g.astype(np.float32)
    m = g * np.float32(1 - 0.9)
    v = np.square(g) * np.float32(1 - 0.999)
    alpha = np.float32(1e-3) * np.sqrt(np.float32(1) - np.float32(0.999)) / (
        np.float32(1) - np.float32(0.9))
    return m, v, alpha * m / (np.sqrt(v) + np.float32(1e-7))


def rel_err(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-12))


# ---------------------------------------------------------------------------------------------


def make_inputs(rng):
    """Per-image smooth patterns; view 2 much noisier than view 1 so the accuracies are partial."""
    n = K * B
    yy, xx = np.meshgrid(np.linspace(0, 1, H), np.linspace(0, 1, WPX), indexing="ij")
    base = []
    for _ in range(n):
        fy, fx, ph = rng.uniform(0.5, 4, 3)
        col = rng.uniform(0, 1, C)
        pat = 0.5 + 0.5 * np.sin(2 * np.pi * (fy * yy + fx * xx) + ph)
        base.append(np.clip(pat[..., None] * col + rng.uniform(-0.2, 0.2), 0, 1))
    base = np.array(base).reshape(K, B, H, WPX, C)
    v1 = np.clip(base + rng.normal(0, 0.05, base.shape), 0, 1).astype(np.float32)
    v2 = np.clip(base + rng.normal(0, 0.3, base.shape), 0, 1).astype(np.float32)
    px = np.clip(base[:, B - BL:] + rng.normal(0, 0.05, (K, BL, H, WPX, C)), 0, 1)
    py = rng.integers(0, CLASSES, (K, BL)).astype(np.int64)
    return v1, v2, px.astype(np.float32), py


def weights_of(d):
    return {k: d[k].astype(np.float64) for k in d
            if k.startswith(("enc/", "head/", "probe/"))}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep", default=None, help="directory for the .npz files (kept)")
    ap.add_argument("--no-train", action="store_true", help="skip the tiny train-mode run")
    a = ap.parse_args()
    d = a.keep or tempfile.mkdtemp(prefix="nnclr_pyref_")
    os.makedirs(d, exist_ok=True)
    p = lambda n: os.path.join(d, n)  # noqa: E731
    rng = np.random.default_rng(SEED)

    # init ------------------------------------------------------------------------------------
    run("init", p("init.npz"), "--height", str(H), "--width-px", str(WPX), "--channels", str(C),
        "--width", str(WIDTH), "--classes", str(CLASSES), "--queue", str(Q), "--seed",
        str(SEED), "--threads", "1")
    init = load(p("init.npz"))
    qn = np.linalg.norm(init["queue"].astype(np.float64), axis=1)
    check("init: queue rows unit norm", np.allclose(qn, 1, atol=1e-6))
    check("init: biases zero", all(not np.any(init[k]) for k in init if k.endswith("/bias")))
    lim = np.sqrt(6 / (27 + 9 * WIDTH))
    check("init: conv0 kernel within glorot limit",
          np.max(np.abs(init["enc/conv0/kernel"])) <= lim and
          np.max(np.abs(init["enc/conv0/kernel"])) > 0.9 * lim, f"limit {lim:.4f}")
    check("init: enc/dense/kernel shape [F,W]",
          init["enc/dense/kernel"].shape == (2 * 3 * WIDTH, WIDTH),
          str(init["enc/dense/kernel"].shape))
    w0 = weights_of(init)
    q0 = init["queue"]

    v1, v2, px, py = make_inputs(rng)

    # forward ---------------------------------------------------------------------------------
    np.savez(p("fwd_in.npz"), **init, x=v1[0])
    run("forward", p("fwd_in.npz"), p("fwd_out.npz"), "--threads", "1")
    fo = load(p("fwd_out.npz"))
    f_np = np_encoder(w0, v1[0])
    e = [rel_err(fo["features"], f_np), rel_err(fo["projections"], np_head(w0, f_np)),
         rel_err(fo["logits"], f_np @ w0["probe/kernel"] + w0["probe/bias"])]
    check("forward: features/projections/logits vs numpy", max(e) < 1e-5,
          "rel errs " + ", ".join(f"{x:.2e}" for x in e))

    # steps -----------------------------------------------------------------------------------
    def step_input(state, sl):
        return dict(state, view1=v1[sl], view2=v2[sl], probe_x=px[sl], probe_y=py[sl])

    np.savez(p("in_k2.npz"), **step_input(init, slice(0, 2)))
    run("step", p("in_k2.npz"), p("out_k2.npz"), "--threads", "1")
    np.savez(p("in_k1.npz"), **step_input(init, slice(0, 1)))
    run("step", p("in_k1.npz"), p("out_k1.npz"), "--threads", "1")
    o1 = load(p("out_k1.npz"))
    state1 = {k: v for k, v in o1.items() if k not in ("c_loss", "c_acc", "r_acc", "p_loss",
                                                        "p_acc")}
    np.savez(p("in_resume.npz"), **step_input(state1, slice(1, 2)))
    run("step", p("in_resume.npz"), p("out_resume.npz"), "--threads", "1")
    o2, orr = load(p("out_k2.npz")), load(p("out_resume.npz"))

    # step 1 from init weights
    loss, p1, c_acc, r_acc, offs, dead = contrastive(w0, v1[0], v2[0], q0)
    print(f"     step 1 numpy: c_loss {loss:.6f} c_acc {c_acc:.4f} r_acc {r_acc:.4f} "
          f"(dead features {dead}); tf: c_loss {o1['c_loss'][0]:.6f} c_acc {o1['c_acc'][0]:.4f} "
          f"r_acc {o1['r_acc'][0]:.4f}")
    check("step 1: c_loss", abs(loss - o1["c_loss"][0]) <= 1e-5 * abs(loss),
          f"{o1['c_loss'][0]:.7f} vs {loss:.7f}")
    check("step 1: c_acc", c_acc == o1["c_acc"][0])
    check("step 1: r_acc", r_acc == o1["r_acc"][0])
    exp_q1 = np.concatenate([p1, q0[:-B]], axis=0)
    check("step 1: queue = concat(p1n, queue[:-B])", rel_err(o1["queue"], exp_q1) < 1e-5,
          f"rel err {rel_err(o1['queue'], exp_q1):.2e}")
    check("step 1 (K=2 run): metrics of step 1 equal the K=1 run",
          all(o2[m][0] == o1[m][0] for m in ("c_loss", "c_acc", "r_acc", "p_loss", "p_acc")))

    # contrastive Adam, first update, and the gradient it used
    c_names = [k for k in w0 if k.startswith(("enc/", "head/"))]
    check("adam_c/iterations == 1 after one step", int(o1["adam_c/iterations"]) == 1)
    worst_v, worst_w = 0.0, 0.0
    grads = {}
    for n in c_names:
        m = o1[f"adam_c/{n}/m"]
        g = (m.astype(np.float64) / np.float32(0.1)).astype(np.float32)
        grads[n] = g.astype(np.float64)
        em, ev, delta = adam_first(g)
        worst_v = max(worst_v, rel_err(o1[f"adam_c/{n}/v"], ev))
        dw = init[n].astype(np.float64) - o1[n].astype(np.float64)
        worst_w = max(worst_w, float(np.max(np.abs(dw - delta))))
    check("contrastive Adam: v = 0.001 g^2 with g = m / 0.1", worst_v < 1e-5,
          f"max rel err {worst_v:.2e}")
    check("contrastive Adam: w1 = w0 - alpha m / (sqrt(v) + eps)", worst_w < 2e-7,
          f"max abs err {worst_w:.2e} (updates are ~1e-3)")

    # finite differences of the NumPy mean loss with straight-through neighbours
    fd_rng = np.random.default_rng(7)
    h = 1e-5
    fd_errs = []
    for n in c_names:
        scale = np.max(np.abs(grads[n]))
        for flat in fd_rng.choice(w0[n].size, size=min(4, w0[n].size), replace=False):
            idx = np.unravel_index(flat, w0[n].shape)
            wp = dict(w0)
            wp[n] = w0[n].copy()
            wp[n][idx] += h
            lp = contrastive(wp, v1[0], v2[0], q0, offs)[0]
            wp[n] = w0[n].copy()
            wp[n][idx] -= h
            lm = contrastive(wp, v1[0], v2[0], q0, offs)[0]
            fd = (lp - lm) / (2 * h)
            fd_errs.append(abs(fd - grads[n][idx]) / max(scale, 1e-8))
    check("contrastive gradient (of the MEAN loss) vs finite differences, 4 entries per tensor",
          max(fd_errs) < 2e-3, f"max err / max|g| = {max(fd_errs):.2e} over {len(fd_errs)}")

    # probe step 1: encoder after the contrastive update, probe from init
    w1 = weights_of(o1)
    pl, pa, pg = probe_step(w1, w0, px[0], py[0])
    check("step 1: p_loss", abs(pl - o1["p_loss"][0]) <= 1e-5 * abs(pl),
          f"{o1['p_loss'][0]:.7f} vs {pl:.7f}")
    check("step 1: p_acc", pa == o1["p_acc"][0])
    perr = 0.0
    for n in ("probe/kernel", "probe/bias"):
        em, ev, delta = adam_first(pg[n])
        perr = max(perr, rel_err(o1[f"adam_p/{n}/m"], em), rel_err(o1[f"adam_p/{n}/v"], ev))
        perr = max(perr, float(np.max(np.abs((w0[n] - delta) - o1[n]))) / 1e-3)
    check("probe Adam: m, v, weights from the closed-form gradient", perr < 1e-4,
          f"max rel err {perr:.2e}")

    # step 2 from the K=1 output (weights and queue after step 1)
    loss2, p12, c_acc2, r_acc2, _, dead2 = contrastive(w1, v1[1], v2[1], o1["queue"])
    print(f"     step 2 numpy: c_loss {loss2:.6f} c_acc {c_acc2:.4f} r_acc {r_acc2:.4f} "
          f"(dead features {dead2}); tf: c_loss {o2['c_loss'][1]:.6f} c_acc "
          f"{o2['c_acc'][1]:.4f} r_acc {o2['r_acc'][1]:.4f}")
    check("step 2: c_loss", abs(loss2 - o2["c_loss"][1]) <= 1e-5 * abs(loss2))
    check("step 2: c_acc", c_acc2 == o2["c_acc"][1])
    check("step 2: r_acc", r_acc2 == o2["r_acc"][1])
    exp_q2 = np.concatenate([p12, o1["queue"][:-B]], axis=0)
    check("step 2: queue = concat(p1n, queue[:-B])", rel_err(o2["queue"], exp_q2) < 1e-5,
          f"rel err {rel_err(o2['queue'], exp_q2):.2e}")
    w_after = weights_of(o2)
    pl2, pa2, _ = probe_step(w_after, w1, px[1], py[1])
    check("step 2: p_loss / p_acc", abs(pl2 - o2["p_loss"][1]) <= 1e-5 * abs(pl2)
          and pa2 == o2["p_acc"][1])

    # resume: step(K=1) -> step(K=1) == step(K=2)
    keys = [k for k in o2 if k not in ("c_loss", "c_acc", "r_acc", "p_loss", "p_acc")]
    diff = max(float(np.max(np.abs(o2[k].astype(np.float64) - orr[k].astype(np.float64))))
               for k in keys)
    same_metrics = all(orr[m][0] == o2[m][1] for m in ("c_loss", "c_acc", "r_acc", "p_loss",
                                                       "p_acc"))
    check("resume from saved slots reproduces the K=2 run", diff <= 1e-6 and same_metrics,
          f"max abs diff {diff:.1e} over {len(keys)} arrays")

    # tiny train mode -------------------------------------------------------------------------
    if not a.no_train:
        img_rng = np.random.default_rng(3)
        np.save(p("u.npy"), img_rng.integers(0, 256, (16, H, WPX, C), dtype=np.uint8))
        np.save(p("x.npy"), img_rng.integers(0, 256, (8, H, WPX, C), dtype=np.uint8))
        np.save(p("y.npy"), img_rng.integers(0, CLASSES, 8).astype(np.int64))
        run("train", "--images-npy", p("x.npy"), "--labels-npy", p("y.npy"), "--unlabelled-npy",
            p("u.npy"), "--epochs", "2", "--steps-per-epoch", "2", "--width", str(WIDTH),
            "--queue", "64", "--classes", str(CLASSES), "--temperature", "0.1",
            "--intra-op-threads", "1", "--inter-op-threads", "1", "--seed", "0",
            "--json", p("train.json"))
        with open(p("train.json")) as f:
            tj = json.load(f)
        print("     train:", json.dumps({k: tj[k] for k in (
            "images_per_second", "seconds_per_step_median", "steps", "unlabelled_batch",
            "labelled_batch", "peak_rss_mib", "jit_compile", "final_metrics")}))
        check("train: 4 steps, batches 8 + 4, finite metrics",
              tj["steps"] == 4 and tj["unlabelled_batch"] == 8 and tj["labelled_batch"] == 4
              and all(np.isfinite(v) for k, v in tj["final_metrics"].items() if k != "r_acc"))

    if a.keep:
        print(f"files in {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)
    if failures:
        print(f"{len(failures)} FAILED: {failures}")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
