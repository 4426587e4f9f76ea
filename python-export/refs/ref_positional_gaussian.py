"""Reference scores for the per-position Gaussian (PaDiM, Defard et al. 2021;
native/core/include/oneclass/positional_gaussian.h), computed the way PaDiM's code does it with
numpy in float64: per position the mean, np.cov (unbiased) + regularization * I, its inverse, and
the squared Mahalanobis distance (x - mean)^T inv (x - mean) of every test feature.

    /usr/bin/python3 python-export/refs/ref_positional_gaussian.py [--data ../shared/data]

Writes test/fixtures/positional/<case>.safetensors, each holding
    x (images x positions x dim, float32)   training features
    y (queries x positions x dim, float32)  test features
    mean (positions x dim, float64), logdet (positions, float64)
    scores (queries x positions, float64)    squared Mahalanobis distances
and metadata: regularization, description.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "positional")


def padim(x, y, reg):
    """PaDiM's fit and scoring, position by position, in float64."""
    x = x.astype(np.float64)
    y = y.astype(np.float64)
    _, positions, dim = x.shape
    mean = np.empty((positions, dim))
    logdet = np.empty(positions)
    scores = np.empty((y.shape[0], positions))
    identity = np.identity(dim)
    for p in range(positions):
        mean[p] = x[:, p].mean(axis=0)
        cov = np.cov(x[:, p], rowvar=False).reshape(dim, dim) + reg * identity
        logdet[p] = np.linalg.slogdet(cov)[1]
        inv = np.linalg.inv(cov)
        delta = y[:, p] - mean[p]
        scores[:, p] = np.einsum("qi,ij,qj->q", delta, inv, delta)
    return mean, logdet, scores


def synthetic():
    rng = np.random.default_rng(20261206)
    images, queries, positions, dim = 40, 10, 12, 24
    offsets = rng.normal(scale=2.0, size=(positions, dim))
    mix = rng.normal(scale=0.4, size=(positions, dim, dim))
    z = rng.normal(size=(images + queries, positions, dim))
    feats = offsets[None] + np.einsum("pab,npb->npa", mix, z) + z
    feats[images + 3:, 5] += 3.0  # anomalies at one position of some test images
    feats = feats.astype(np.float32)
    return feats[:images], feats[images:], 0.01, "12 positions with their own mean and correlation, 24-d"


def tile_grid(data_dir):
    """Real grids: 4x4 gray patches (16-d) at stride 4 of magnetic-tile images resized to 32 px,
    i.e. an 8 x 8 grid of positions; training images vs defective test images."""
    from PIL import Image

    def grids(folder, count):
        names = sorted(os.listdir(folder))[:count]
        out = []
        for name in names:
            img = Image.open(os.path.join(folder, name)).convert("L").resize((32, 32), Image.BILINEAR)
            a = np.asarray(img, dtype=np.float64) / 255.0
            out.append(a.reshape(8, 4, 8, 4).transpose(0, 2, 1, 3).reshape(64, 16))
        return np.asarray(out, dtype=np.float32)

    root = os.path.join(data_dir, "magnetic_tile")
    x = grids(os.path.join(root, "train", "good"), 40)
    y = np.concatenate([grids(os.path.join(root, "test", kind), 2) for kind in ("blowhole", "crack", "good")])
    return x, y, 0.01, "magnetic tiles at 32 px: 8 x 8 positions of 4x4 patches (16-d), 40 training images"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    cases = [("synthetic", synthetic())]
    if os.path.isdir(os.path.join(args.data, "magnetic_tile")):
        cases.append(("tile_grid", tile_grid(args.data)))
    for name, (x, y, reg, description) in cases:
        mean, logdet, scores = padim(x, y, reg)
        st_io.save(os.path.join(OUT, name + ".safetensors"),
                   {"x": x, "y": y, "mean": mean, "logdet": logdet, "scores": scores},
                   {"regularization": repr(reg), "description": description})
        print(f"{name}: x {x.shape}, y {y.shape}, scores {scores.min():.4g} .. {scores.max():.4g}")


if __name__ == "__main__":
    main()
