"""One-class SVM fit: our native solver (native/bench/bench_ocsvm.cpp) against scikit-learn 1.2's
OneClassSVM on the same data, in the same run.

    /usr/bin/python3 bench/ocsvm_sklearn.py [--bin /tmp/ocsvm/bench_ocsvm]
        [--configs 5000:scale,5000:1/D,20000:scale] [--sklearn-max-m 5000]
        [--variants "reference:--lazy;fast:;fast:--lazy"] [--cache-mb 1024] [--threads 0]

Each config is M:gamma with gamma 'scale' or '1/D'; data are uniform [0, 1) float32, D=512, fixed
seed, nu=0.5 and tol=1e-3 (scikit-learn's defaults; its cache_size stays at its default, 200 MB).
Each variant is SOURCE:EXTRA-ARGS for the native bench: SOURCE 'reference' (the exact-difference
double kernel of ocsvm.h) or 'fast' (the bench's GEMM-style fp32 stand-in for the addon's source).
scikit-learn runs once per config, and only for M <= --sklearn-max-m (it took 133 s at M=20000 on
our machine). Prints one line per config and variant: fit time and its split (kernel rows /
solver), rows computed, peak RSS, iterations, nSV, the speedup over scikit-learn and the relative
differences of the dual objective 0.5 a'Qa (scikit-learn's recomputed here in float64) and rho.
Also times numpy's fp32 GEMM over the whole kernel matrix, for reference.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

# Debian's OpenBLAS runs SSE3 kernels on this CPU unless told otherwise (see NUMERICS.md); only the
# numpy GEMM timing below uses BLAS, scikit-learn's libsvm does not.
os.environ.setdefault("OPENBLAS_CORETYPE", "SkylakeX")
import numpy as np  # noqa: E402
from sklearn.svm import OneClassSVM  # noqa: E402


def objective(x, sv, coef, gamma, chunk=2048):
    """0.5 a'Qa over the support vectors in float64 (expanded squared distances: fine at the 1e-9
    level for this sum of positive terms)."""
    xs = x[sv].astype(np.float64)
    sq = (xs * xs).sum(1)
    total = 0.0
    for s in range(0, len(sv), chunk):
        d2 = sq[s:s + chunk, None] + sq[None, :] - 2.0 * xs[s:s + chunk] @ xs.T
        np.maximum(d2, 0, out=d2)
        total += coef[s:s + chunk] @ np.exp(-gamma * d2) @ coef
    return 0.5 * total


def gemm_kernel_seconds(x, gamma, block=2048):
    """Seconds for every row of the fp32 kernel matrix with numpy's GEMM (|a|^2 + |b|^2 - 2ab,
    clamped, exp), computed in row blocks that are discarded."""
    sq = (x * x).sum(1)
    t0 = time.perf_counter()
    for s in range(0, x.shape[0], block):
        d2 = sq[s:s + block, None] + sq[None, :] - 2.0 * (x[s:s + block] @ x.T)
        np.maximum(d2, 0, out=d2)
        d2 *= np.float32(-gamma)
        np.exp(d2, out=d2)
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="/tmp/ocsvm/bench_ocsvm")
    ap.add_argument("--configs", default="5000:scale,5000:1/D,20000:scale")
    ap.add_argument("--variants", default="reference:--lazy;fast:;fast:--lazy")
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--nu", type=float, default=0.5)
    ap.add_argument("--sklearn-max-m", type=int, default=5000)
    ap.add_argument("--cache-mb", type=float, default=1024)
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="ocsvm_bench_")
    for cfg in args.configs.split(","):
        m_text, rule = cfg.split(":")
        m, d = int(m_text), args.d
        rng = np.random.default_rng(20240 + m)
        x = rng.random((m, d), dtype=np.float32)
        gamma = 1.0 / (d * x.astype(np.float64).var()) if rule == "scale" else 1.0 / d
        path = os.path.join(tmp, f"x_{m}_{d}.f32")
        x.tofile(path)
        head = f"M={m} D={d} gamma={rule}({gamma:.6g}) nu={args.nu}"

        sk = None
        if m <= args.sklearn_max_m:
            t0 = time.perf_counter()
            model = OneClassSVM(kernel="rbf", gamma=gamma, nu=args.nu).fit(x)
            t_sk = time.perf_counter() - t0
            sk = (t_sk, objective(x, model.support_, model.dual_coef_[0], gamma), model.offset_[0],
                  int(model.n_support_.sum()))
            print(f"{head}: sklearn {t_sk:.2f} s, {int(np.ravel(model.n_iter_)[0])} iters, nSV {sk[3]}", flush=True)
        t_gemm = gemm_kernel_seconds(x, gamma)
        print(f"{head}: numpy fp32 GEMM over the whole kernel matrix {t_gemm:.2f} s", flush=True)

        for variant in args.variants.split(";"):
            source, _, extra = variant.partition(":")
            cmd = [args.bin, "--m", str(m), "--d", str(d), "--data", path, "--gamma", repr(gamma),
                   "--nu", str(args.nu), "--cache-mb", str(args.cache_mb), "--threads", str(args.threads),
                   "--source", source] + extra.split()
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            layout = "full matrix" if r["full_matrix"] else "packed triangle" if r["packed_matrix"] else "rows on demand"
            line = (f"{head} [{source} {extra or '(defaults)'}]: ours {r['fit_s']:.2f} s (kernel rows "
                    f"{r['kernel_s']:.2f} s, solver {r['solver_only_s']:.2f} s; {layout}, {r['kernel_rows']} rows, "
                    f"peak RSS {r['peak_rss_mb']:.0f} MB), {r['iterations']} iters, nSV {r['n_support']}")
            if sk:
                line += (f" | speedup {sk[0] / r['fit_s']:.1f}x; objective rel diff "
                         f"{abs(r['objective'] - sk[1]) / abs(sk[1]):.1e}, rho rel diff "
                         f"{abs(r['rho'] - sk[2]) / abs(sk[2]):.1e}, nSV diff {r['n_support'] - sk[3]}")
            print(line, flush=True)
        os.remove(path)
    os.rmdir(tmp)


if __name__ == "__main__":
    main()
