"""numpy k-center greedy for bench/coreset.mjs, on the very rows the Node benchmark selects from
(read from the .f32 file it wrote). Prints one JSON object and writes each variant's selection.

Variants, each the usual PatchCore loop (one vectorized distance update and an argmax per step,
selected rows excluded, ties to the lowest index as numpy's argmax does):
  difference_f64  ((rows - rows[c])**2).sum(1) in float64: the definition itself
                  (python-export/refs/ref_coreset.py), so its output is the reference
  gemv_f64        |x|^2 - 2 x.c + |c|^2 with a matrix-vector product (BLAS), float64
  gemv_f32        the same in float32, as PatchCore's own sampler computes on float32 tensors

A variant runs at most `max_steps` steps or `max_seconds` (its per-step cost is the same at every
step, so the time of `count` steps is extrapolated linearly when it stops early; the JSON says so),
after projecting the rows with the documented Gaussian projection (timed too). Each variant's
selection is compared with oneclass's (cfg["ours"], int32): same_output says whether the steps it
ran selected the same rows.
"""
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python-export", "refs"))
import ref_coreset  # noqa: E402


def greedy(step_distances, n, count, start, max_steps, deadline):
    mind = np.full(n, np.inf)
    indices = []
    c = start
    cpu0 = cpu_seconds()
    t0 = time.perf_counter()
    for step in range(min(count, max_steps)):
        indices.append(c)
        mind[c] = -1.0
        d = step_distances(c)
        np.minimum(mind, d, out=mind, where=mind >= 0)
        c = int(np.argmax(mind))
        if time.perf_counter() > deadline:
            break
    return np.asarray(indices, dtype=np.int64), time.perf_counter() - t0, cpu_seconds() - cpu0


def cpu_seconds():
    """CPU time of this process, every thread (OpenBLAS's too): user + system."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    cfg = json.loads(sys.argv[1])
    n, d, count, start = cfg["rows"], cfg["cols"], cfg["count"], cfg["start"]
    x = np.fromfile(cfg["data"], dtype=np.float32, count=n * d).reshape(n, d)
    out = {"variants": {}}
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = [{k: i.get(k) for k in ("internal_api", "architecture", "num_threads", "version")}
                       for i in threadpool_info()]
    except Exception as e:  # noqa: BLE001
        out["blas"] = str(e)
    t0 = time.perf_counter()
    cpu0 = cpu_seconds()
    if cfg["projection"]:
        r = ref_coreset.gaussian_projection(cfg["projection"], d, cfg["seed"])
        rows64 = x.astype(np.float64) @ r.T
    else:
        rows64 = x.astype(np.float64)
    out["projection_s"] = time.perf_counter() - t0
    out["projection_cpu_s"] = cpu_seconds() - cpu0
    rows32 = rows64.astype(np.float32)
    norms64 = np.einsum("ij,ij->i", rows64, rows64)
    norms32 = np.einsum("ij,ij->i", rows32, rows32)
    variants = {
        "difference_f64": lambda c: ((rows64 - rows64[c]) ** 2).sum(axis=1),
        "gemv_f64": lambda c: norms64 - 2.0 * (rows64 @ rows64[c]) + norms64[c],
        "gemv_f32": lambda c: norms32 - np.float32(2) * (rows32 @ rows32[c]) + norms32[c],
    }
    ours = np.fromfile(cfg["ours"], dtype=np.int32) if cfg.get("ours") else None
    for name in cfg["variants"]:
        deadline = time.perf_counter() + cfg["max_seconds"]
        indices, seconds, cpu = greedy(variants[name], n, count, start, cfg["max_steps"], deadline)
        steps = len(indices)
        entry = {
            "steps": steps,
            "seconds": seconds,
            "seconds_for_count": seconds * count / steps + out["projection_s"],
            "cpu_seconds_for_count": cpu * count / steps + out["projection_cpu_s"],
            "extrapolated": steps < count,
        }
        if ours is not None:
            same = indices == ours[:steps]
            entry["same_output"] = bool(same.all())
            if not same.all():
                entry["first_difference_step"] = int(np.argmin(same))
        out["variants"][name] = entry
    print(json.dumps(out))


if __name__ == "__main__":
    main()
