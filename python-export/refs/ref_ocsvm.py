"""Reference cases for the one-class SVM solver (issue 3), from scikit-learn 1.2's OneClassSVM.

Run with the Debian Python that has scikit-learn 1.2.1:

    /usr/bin/python3 python-export/refs/ref_ocsvm.py [out_dir]

Writes test/fixtures/ocsvm/<case>.safetensors (fixed seeds, deterministic). Each file holds
    X (l x d, float32)        training data, exactly what was fitted (sklearn sees float64(X))
    Y (m x d, float32)        test points
    decision (m, f64)         sklearn decision_function(Y)
    score_samples (m, f64)    sklearn score_samples(Y) = decision + offset_
    predict (m, i64)          sklearn predict(Y), +1 inlier / -1 outlier
    support (s, i64)          support_ (indices into X)
    dual_coef (s, f64)        dual_coef_[0] (= alpha of the support vectors)
and metadata (strings): gamma, nu, tol, offset (= rho), intercept (= -rho), n_support,
objective (0.5 a'Qa with a = the full alpha vector, Q from float64(X), exact differences),
objective_tight (the same for a refit with tol=1e-9: the optimum to within ~1e-9), n_iter (libsvm's
iteration count), description.
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.svm import OneClassSVM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FMNIST = "/work/shared/data/fashion-mnist/train-images-idx3-ubyte.gz"


def rbf(a, b, gamma):
    """Exact differences in float64, 64 rows of a at a time (the l = 4096 cases)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    out = np.empty((a.shape[0], b.shape[0]))
    for i in range(0, a.shape[0], 64):
        d2 = ((a[i:i + 64, None, :] - b[None, :, :]) ** 2).sum(-1)
        out[i:i + 64] = np.exp(-gamma * d2)
    return out


def gamma_scale(x):
    x = x.astype(np.float64)
    return 1.0 / (x.shape[1] * x.var())


def gamma_droc(x):
    """The 'droc' bandwidth: 10 / (Var(X) * D), Var over all entries of the L2-normalized X."""
    x = x.astype(np.float64)
    return 10.0 / (x.var() * x.shape[1])


def l2_normalize(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def gaussian(rng, l, m, d):
    x = rng.standard_normal((l, d)).astype(np.float32)
    y = np.concatenate([rng.standard_normal((m // 2, d)), 2.5 * rng.standard_normal((m - m // 2, d))])
    return x, y.astype(np.float32)


def clustered(rng, l, m, d, k=3):
    centers = 4.0 * rng.standard_normal((k, d))
    lab = rng.integers(0, k, l)
    x = centers[lab] + 0.7 * rng.standard_normal((l, d))
    laby = rng.integers(0, k, m)
    y = centers[laby] + 0.7 * rng.standard_normal((m, d))
    y[m // 2:] = 6.0 * rng.standard_normal((m - m // 2, d))  # background outliers
    return x.astype(np.float32), y.astype(np.float32)


def embeddings(rng, l, m, d):
    """Unit vectors around a few directions, like L2-normalized backbone features."""
    base = rng.standard_normal((4, d))
    x = base[rng.integers(0, 4, l)] + 0.3 * rng.standard_normal((l, d))
    y = base[rng.integers(0, 4, m)] + 0.3 * rng.standard_normal((m, d))
    y[m // 2:] = rng.standard_normal((m - m // 2, d))
    return l2_normalize(x), l2_normalize(y)


def fashion_mnist(rng, l, m, d):
    """Class 0 (T-shirt/top) images as normal data, other classes mixed into the test points;
    28x28 pixels scaled to [0, 1], reduced to d dims by a PCA fitted on the training images."""
    import gzip
    with gzip.open(FMNIST, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(FMNIST.replace("images-idx3", "labels-idx1"), "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    normal = np.flatnonzero(labels == 0)
    other = np.flatnonzero(labels != 0)
    tr = rng.choice(normal, l, replace=False)
    rest = np.setdiff1d(normal, tr)
    te = np.concatenate([rng.choice(rest, m // 2, replace=False), rng.choice(other, m - m // 2, replace=False)])
    xt = raw[tr].astype(np.float64) / 255.0
    mean = xt.mean(0)
    _, _, vt = np.linalg.svd(xt - mean, full_matrices=False)
    proj = vt[:d].T
    x = ((xt - mean) @ proj).astype(np.float32)
    y = ((raw[te].astype(np.float64) / 255.0 - mean) @ proj).astype(np.float32)
    return x, y


# name, generator, l, m, d, gamma rule, nu values, description
CASES = [
    ("gauss", gaussian, 300, 80, 8, "scale", [0.05, 0.5], "standard normal, D=8, gamma='scale'"),
    ("clustered", clustered, 400, 80, 16, "scale", [0.1, 0.9], "3 Gaussian clusters, D=16, gamma='scale'"),
    ("droc", embeddings, 400, 80, 32, "droc", [0.05, 0.1, 0.5], "L2-normalized, D=32, gamma=10/(Var*D)"),
    ("fmnist", fashion_mnist, 250, 80, 48, "scale", [0.1, 0.5],
     "Fashion-MNIST class 0, PCA to D=48, gamma='scale'"),
    # Large enough (l >= 4 * 1024) for the solver's default start from a sub-problem.
    ("fmnist4096", fashion_mnist, 4096, 80, 16, "scale", [0.05, 0.2],
     "Fashion-MNIST class 0, l=4096, PCA to D=16, gamma='scale' (start from a sub-problem)"),
]


def make_case(out_dir, name, x, y, gamma, nu, description):
    model = OneClassSVM(kernel="rbf", gamma=gamma, nu=nu).fit(x)
    alpha = np.zeros(x.shape[0])
    alpha[model.support_] = model.dual_coef_[0]
    q = rbf(x, x, gamma)
    objective = 0.5 * alpha @ q @ alpha
    tight = OneClassSVM(kernel="rbf", gamma=gamma, nu=nu, tol=1e-9).fit(x)
    alpha_t = np.zeros(x.shape[0])
    alpha_t[tight.support_] = tight.dual_coef_[0]
    objective_tight = 0.5 * alpha_t @ q @ alpha_t
    decision = model.decision_function(y)
    tensors = {
        "X": x, "Y": y,
        "decision": decision.astype(np.float64),
        "score_samples": model.score_samples(y).astype(np.float64),
        "predict": model.predict(y).astype(np.int64),
        "support": model.support_.astype(np.int64),
        "dual_coef": model.dual_coef_[0].astype(np.float64),
    }
    meta = {
        "gamma": repr(float(gamma)), "nu": repr(float(nu)), "tol": "0.001",
        "offset": repr(float(model.offset_[0])), "intercept": repr(float(model.intercept_[0])),
        "n_support": str(int(model.n_support_.sum())), "objective": repr(float(objective)),
        "objective_tight": repr(float(objective_tight)), "description": description,
        "n_iter": str(int(np.ravel(model.n_iter_)[0])),
        "sklearn": sklearn.__version__,
    }
    path = os.path.join(out_dir, f"{name}.safetensors")
    st_io.save(path, tensors, meta)
    print(f"{name:22s} l={x.shape[0]:4d} d={x.shape[1]:3d} nu={nu:<5} gamma={gamma:.5g} nSV={meta['n_support']:>4s} "
          f"obj={objective:.10g} (tight {objective_tight:.10g}) rho={model.offset_[0]:.6g} "
          f"mean|f|={np.abs(decision).mean():.3g}")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "test", "fixtures", "ocsvm")
    os.makedirs(out_dir, exist_ok=True)
    for seed, (name, gen, l, m, d, rule, nus, desc) in enumerate(CASES):
        rng = np.random.default_rng(1000 + seed)
        x, y = gen(rng, l, m, d)
        gamma = gamma_droc(x) if rule == "droc" else gamma_scale(x)
        for nu in nus:
            make_case(out_dir, f"{name}_nu{str(nu).replace('.', '')}", x, y, gamma, nu, desc)


if __name__ == "__main__":
    main()
