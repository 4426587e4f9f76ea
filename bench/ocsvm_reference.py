"""scikit-learn's OneClassSVM on the data bench/ocsvm.mjs wrote: fit time, nSV, rho, the dual
objective (recomputed in float64) and decision_function time. Prints one JSON object."""
import json
import sys
import time

import numpy as np
from sklearn.svm import OneClassSVM


def objective(x, sv, coef, gamma, chunk=2048):
    xs = x[sv].astype(np.float64)
    sq = (xs * xs).sum(1)
    total = 0.0
    for s in range(0, len(sv), chunk):
        d2 = np.maximum(sq[s:s + chunk, None] + sq[None, :] - 2.0 * xs[s:s + chunk] @ xs.T, 0)
        total += coef[s:s + chunk] @ np.exp(-gamma * d2) @ coef
    return 0.5 * total


def main():
    cfg = json.loads(sys.argv[1])
    m, d = cfg["m"], cfg["d"]
    x = np.fromfile(cfg["train"], dtype=np.float32).reshape(m, d)
    out = {}
    t0 = time.perf_counter()
    model = OneClassSVM(kernel="rbf", nu=cfg["nu"], gamma=cfg["gamma"], tol=1e-3).fit(x)
    out["fit_s"] = time.perf_counter() - t0
    out["n_support"] = int(len(model.support_))
    out["rho"] = float(model.offset_[0])
    out["n_iter"] = int(np.asarray(model.n_iter_).ravel()[0])
    gamma = 1.0 / (d * x.var()) if cfg["gamma"] == "scale" else float(cfg["gamma"])
    out["objective"] = float(objective(x, model.support_, model.dual_coef_[0], gamma))
    if cfg.get("test"):
        y = np.fromfile(cfg["test"], dtype=np.float32).reshape(-1, d)
        sub = min(len(y), cfg.get("decision_rows", len(y)))
        t0 = time.perf_counter()
        model.decision_function(y[:sub])
        out["decision_s"] = (time.perf_counter() - t0) * len(y) / sub
        out["decision_measured_rows"] = sub
    print(json.dumps(out))


if __name__ == "__main__":
    main()
