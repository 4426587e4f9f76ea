"""numpy PaDiM for bench/positional-gaussian.mjs, on the very features the Node benchmark used
(.f32 files it wrote): per position the mean, np.cov + reg I and its inverse (PaDiM's fit), then
the squared Mahalanobis distance of every test feature (einsum over positions). Prints one JSON
object with the timings and the scores' largest deviation from oneclass's (read from its file).
"""
import json
import sys
import time

import numpy as np


def main():
    cfg = json.loads(sys.argv[1])
    n, m, p, d = cfg["images"], cfg["queries"], cfg["positions"], cfg["dim"]
    x = np.fromfile(cfg["train"], dtype=np.float32).reshape(n, p, d)
    y = np.fromfile(cfg["test"], dtype=np.float32).reshape(m, p, d)
    reg = cfg["regularization"]
    t0 = time.perf_counter()
    mean = x.mean(axis=0, dtype=np.float64)
    inv = np.empty((p, d, d))
    identity = np.identity(d)
    for i in range(p):
        inv[i] = np.linalg.inv(np.cov(x[:, i], rowvar=False) + reg * identity)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    delta = y.astype(np.float64) - mean[None]
    scores = np.einsum("mpi,pij,mpj->mp", delta, inv, delta, optimize=True)
    score_s = time.perf_counter() - t0
    ours = np.fromfile(cfg["ours"], dtype=np.float64).reshape(m, p)
    err = np.abs(ours - scores) / (1e-3 + 1e-5 * np.abs(scores))
    print(json.dumps({"fit_s": fit_s, "score_s": score_s, "max_tolerance_ratio": float(err.max())}))


if __name__ == "__main__":
    main()
