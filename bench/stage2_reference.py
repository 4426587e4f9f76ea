"""Reference timings for bench/stage2.mjs: scikit-learn, numpy and scipy on the very data the
Node benchmark scores (read from the .f32 files it wrote). Prints one JSON object.

Run by bench/stage2.mjs with OPENBLAS_CORETYPE set to the fastest kernel that runs here."""
import json
import sys
import time

import numpy as np
import scipy.ndimage as ndi
from scipy.special import logsumexp
from sklearn.covariance import LedoitWolf
from sklearn.neighbors import KernelDensity


def best(fn, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    cfg = json.loads(sys.argv[1])
    n, m, d = cfg["n"], cfg["m"], cfg["d"]
    x = np.fromfile(cfg["train"], dtype=np.float32).reshape(m, d)
    y = np.fromfile(cfg["test"], dtype=np.float32).reshape(n, d)
    grids = np.fromfile(cfg["grids"], dtype=np.float32).reshape(cfg["maps"], cfg["grid"], cfg["grid"])
    h = cfg["bandwidth"]
    out = {}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")} for i in threadpool_info()]
    except Exception as e:  # noqa: BLE001
        out["blas"] = str(e)
    out["numpy_gemm_s"] = best(lambda: y @ x.T, 3)

    def numpy_kde():
        res = []
        for s in range(0, n, 2000):
            q = y[s:s + 2000]
            d2 = (q * q).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * (q @ x.T)
            res.append(logsumexp(-np.maximum(d2, 0) / (2 * h * h), axis=1))
        return np.concatenate(res)
    out["numpy_kde_s"] = best(numpy_kde, 2)

    def numpy_knn():
        for s in range(0, n, 2000):
            q = y[s:s + 2000]
            d2 = (q * q).sum(1)[:, None] + (x * x).sum(1)[None, :] - 2 * (q @ x.T)
            np.sqrt(np.maximum(d2.min(1), 0))
    out["numpy_knn1_s"] = best(numpy_knn, 2)

    # scikit-learn's KernelDensity takes 30-60 s at full size: time it on a slice of the
    # queries and scale linearly (its cost is proportional to the number of queries).
    sub = cfg["sklearn_kde_queries"]
    kde = KernelDensity(kernel="gaussian", bandwidth=h).fit(x)
    t = best(lambda: kde.score_samples(y[:sub]), 1)
    out["sklearn_kde_s"] = t * n / sub
    out["sklearn_kde_measured_queries"] = sub

    out["sklearn_ledoitwolf_fit_s"] = best(lambda: LedoitWolf().fit(y), 2)
    lw = LedoitWolf().fit(y)
    prec = np.linalg.inv(lw.covariance_).astype(np.float32)
    L = np.linalg.cholesky(lw.covariance_)
    Linv_t = np.linalg.inv(L).T.astype(np.float32)
    mu = lw.location_.astype(np.float32)
    out["numpy_gde_score_s"] = best(lambda: (((y - mu) @ Linv_t) ** 2).sum(1), 3)
    out["sklearn_mahalanobis_s"] = best(lambda: lw.mahalanobis(y), 1)
    del prec

    scale = cfg["out"] / cfg["grid"]

    def scipy_maps():
        for g in grids:
            ndi.gaussian_filter(ndi.zoom(g, scale, order=1), sigma=4)
    out["scipy_heatmaps_s"] = best(scipy_maps, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
