"""numpy's SGEMM of the k-NN benchmark's shapes (bench/knn-bank.mjs): queries (n x d) times the
bank transposed (d x m), on the very data the Node benchmark scores (.f32 files it wrote). Best
of `reps` runs, with a fresh output array (what `q @ bank.T` does) and into a preallocated one.
Prints one JSON object, with the BLAS numpy ran (threadpoolctl).
"""
import json
import sys
import time

import numpy as np


def best(fn, reps):
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def main():
    cfg = json.loads(sys.argv[1])
    m, n, d = cfg["m"], cfg["n"], cfg["d"]
    bank = np.fromfile(cfg["bank"], dtype=np.float32).reshape(m, d)
    q = np.fromfile(cfg["queries"], dtype=np.float32).reshape(n, d)
    out = {}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
                       for i in threadpool_info()]
    except Exception as e:  # noqa: BLE001
        out["blas"] = str(e)
    c = np.empty((n, m), dtype=np.float32)
    out["sgemm_s"] = best(lambda: q @ bank.T, cfg["reps"])
    out["sgemm_preallocated_s"] = best(lambda: np.matmul(q, bank.T, out=c), cfg["reps"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
