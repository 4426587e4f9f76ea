"""Reference vectors for the stage-2 detectors and heatmaps, from scikit-learn, scipy and
PyTorch (Debian's packages; run with /usr/bin/python3). Fixed seeds; writes small safetensors
files into test/fixtures/stage2/ that the vitest suites compare against.

    /usr/bin/python3 python-export/refs/ref_stage2.py [--data ../shared/data]
"""
import argparse
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import logsumexp
from sklearn.covariance import LedoitWolf, ShrunkCovariance, ledoit_wolf_shrinkage
from sklearn.mixture import GaussianMixture
from sklearn.neighbors import KernelDensity, NearestNeighbors
from sklearn.preprocessing import normalize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "stage2")


def fashion_mnist(data_dir, count, offset=0):
    """Fashion-MNIST test images, 2x2-average-pooled to 14x14 = 196 dims, scaled to [0, 1]."""
    with gzip.open(os.path.join(data_dir, "fashion-mnist", "t10k-images-idx3-ubyte.gz")) as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
    imgs = raw[offset:offset + count].astype(np.float64) / 255.0
    pooled = imgs.reshape(count, 14, 2, 14, 2).mean(axis=(2, 4))
    return pooled.reshape(count, 196).astype(np.float32)


def datasets(data_dir):
    rng = np.random.default_rng(20261128)
    out = {}
    out["random"] = (rng.normal(size=(400, 16)).astype(np.float32),
                     (1.5 * rng.normal(size=(120, 16))).astype(np.float32))
    centers = rng.normal(scale=4.0, size=(5, 24))
    lab = rng.integers(0, 5, size=600)
    xc = (centers[lab] + rng.normal(scale=0.7, size=(600, 24))).astype(np.float32)
    lab2 = rng.integers(0, 5, size=150)
    yc = (centers[lab2] + rng.normal(scale=1.2, size=(150, 24))).astype(np.float32)
    out["clustered"] = (xc, yc)
    if data_dir and os.path.isdir(os.path.join(data_dir, "fashion-mnist")):
        out["fmnist"] = (fashion_mnist(data_dir, 500), fashion_mnist(data_dir, 150, offset=5000))
    return out


def exact_kde(x, y, h):
    """log of the mean of normalized Gaussian kernels, float64 log-sum-exp (sklearn's definition)."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    d2 = (y ** 2).sum(1)[:, None] + (x ** 2).sum(1)[None, :] - 2 * y @ x.T
    d2 = np.maximum(d2, 0)
    # exact distances for accuracy
    d2 = ((y[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    dim = x.shape[1]
    return logsumexp(-d2 / (2 * h * h), axis=1) - np.log(len(x)) - 0.5 * dim * np.log(2 * np.pi) - dim * np.log(h)


def kde_cases(sets):
    for name, (x, y) in sets.items():
        for normalized in (False, True):
            xs = normalize(x).astype(np.float32) if normalized else x
            ys = normalize(y).astype(np.float32) if normalized else y
            rules = {}
            n, dim = xs.shape
            rules["scott"] = n ** (-1.0 / (dim + 4))
            rules["silverman"] = (n * (dim + 2) / 4.0) ** (-1.0 / (dim + 4))
            gamma = 10.0 / (np.var(xs.astype(np.float64)) * dim)
            rules["droc"] = 1.0 / np.sqrt(2 * gamma)
            rules["fixed"] = float(np.sqrt(np.var(xs.astype(np.float64)) * dim) * 0.5)
            for rule, h in rules.items():
                tag = f"kde_{name}{'_l2' if normalized else ''}_{rule}"
                ref = exact_kde(xs, ys, h)
                # scikit-learn itself, recorded where it agrees with the exact value (NUMERICS.md:
                # its trees are not exact far from the data).
                sk = KernelDensity(kernel="gaussian", bandwidth=h).fit(xs.astype(np.float64)).score_samples(ys.astype(np.float64))
                sk_exact = np.abs(sk - ref) < 1e-6
                st_io.save(os.path.join(OUT, tag + ".safetensors"),
                           {"exact": ref, "sklearn": sk, "sklearn_exact": sk_exact.astype(np.uint8)},
                           {"data": name, "bandwidth": repr(float(h)), "rule": rule, "normalize": str(normalized).lower()})
                print(tag, "h=%.4g" % h, "sklearn exact on %d/%d rows" % (sk_exact.sum(), len(sk)))


def gde_cases(sets):
    for name, (x, y) in sets.items():
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        lw = LedoitWolf().fit(x64)
        shrink = ledoit_wolf_shrinkage(x64)
        gm = GaussianMixture(n_components=1, covariance_type="full", random_state=0).fit(x64)
        sc = ShrunkCovariance(shrinkage=0.3).fit(x64)
        lw_ll = _gauss_ll(y64, lw.location_, lw.covariance_)
        st_io.save(os.path.join(OUT, f"gde_{name}.safetensors"), {
            "lw_covariance": lw.covariance_, "lw_mean": lw.location_, "lw_mahalanobis": lw.mahalanobis(y64),
            "lw_loglik": lw_ll,
            "gm_loglik": gm.score_samples(y64), "gm_covariance": gm.covariances_[0],
            "shrunk_mahalanobis": sc.mahalanobis(y64), "shrunk_covariance": sc.covariance_,
        }, {"data": name, "lw_shrinkage": repr(float(shrink))})
        print(f"gde_{name} shrinkage={shrink:.4g}")


def _gauss_ll(y, mean, cov):
    from scipy.stats import multivariate_normal
    return multivariate_normal(mean=mean, cov=cov).logpdf(y)


def knn_cases(sets):
    for name, (x, y) in sets.items():
        for metric in ("euclidean", "cosine"):
            nn = NearestNeighbors(n_neighbors=5, metric=metric, algorithm="brute").fit(x.astype(np.float64))
            dist, idx = nn.kneighbors(y.astype(np.float64), 5)
            st_io.save(os.path.join(OUT, f"knn_{name}_{metric}.safetensors"),
                       {"distances": dist, "indices": idx.astype(np.int32)}, {"data": name, "metric": metric})
            print(f"knn_{name}_{metric}")


def heatmap_cases():
    torch.manual_seed(0)
    grids = torch.rand(3, 1, 13, 9, dtype=torch.float64)
    for (h, w, sigma) in ((256, 256, 4.0), (100, 61, 2.0), (40, 40, 0.0)):
        up = F.interpolate(grids, size=(h, w), mode="bilinear", align_corners=False)
        if sigma > 0:
            ks = 2 * int(4.0 * sigma + 0.5) + 1
            t = torch.arange(ks, dtype=torch.float64) - ks // 2
            g = torch.exp(-t ** 2 / (2 * sigma ** 2))
            g = g / g.sum()
            k2 = (g[:, None] * g[None, :])[None, None]
            up = F.conv2d(F.pad(up, (ks // 2,) * 4, mode="reflect"), k2)
        st_io.save(os.path.join(OUT, f"heatmap_bilinear_{h}x{w}_s{sigma:g}.safetensors"),
                   {"grids": grids[:, 0].numpy().astype(np.float32), "maps": up[:, 0].numpy().astype(np.float32)},
                   {"height": str(h), "width": str(w), "sigma": repr(sigma)})
        print(f"heatmap bilinear {h}x{w} sigma {sigma}")
    # receptive field: transposed convolution with a Gaussian patch kernel, divided by coverage
    patch, stride, sigma = 32, 4, 4.0
    gh, gw = 13, 9
    c = (patch - 1) / 2.0
    t = torch.arange(patch, dtype=torch.float64) - c
    g = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k2 = (g[:, None] * g[None, :])[None, None]
    num = F.conv_transpose2d(grids, k2, stride=stride)
    den = F.conv_transpose2d(torch.ones(1, 1, gh, gw, dtype=torch.float64), k2, stride=stride)
    maps = num / den
    st_io.save(os.path.join(OUT, "heatmap_receptive_field.safetensors"),
               {"grids": grids[:, 0].numpy().astype(np.float32), "maps": maps[:, 0].numpy().astype(np.float32)},
               {"height": str(maps.shape[2]), "width": str(maps.shape[3]), "sigma": repr(sigma),
                "patchSize": str(patch), "stride": str(stride)})
    print("heatmap receptive-field", tuple(maps.shape))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = p.parse_args()
    os.makedirs(OUT, exist_ok=True)
    sets = datasets(args.data)
    for name, (x, y) in sets.items():
        st_io.save(os.path.join(OUT, f"data_{name}.safetensors"), {"x": x, "y": y})
    kde_cases(sets)
    gde_cases(sets)
    knn_cases(sets)
    heatmap_cases()


if __name__ == "__main__":
    main()
