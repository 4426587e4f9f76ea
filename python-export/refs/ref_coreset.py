"""Reference selections for the greedy k-center coreset (native/core/include/oneclass/coreset.h):
an independent float64 numpy implementation of the definition, and the documented Gaussian random
projection re-implemented in plain Python (same SplitMix64 stream, same libm functions, so the
matrix matches the native one entry for entry).

    /usr/bin/python3 python-export/refs/ref_coreset.py [--data ../shared/data]

Writes test/fixtures/coreset/<case>.safetensors, each holding
    x (n x d, float32)            the rows, exactly what the native code selects from
    projection (p x d, float64)   the projection matrix (absent when the case projects nothing)
    indices (count, int64)        the selection, in order
    min_distances (n, float64)    every row's squared distance to the selection at the end
                                  (-1 for selected rows)
and metadata: count, start, seed, projection (0 = none), covering_radius, description.
"""
import argparse
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "coreset")
MASK = (1 << 64) - 1


def splitmix64(seed, t):
    """The (t+1)-th output of SplitMix64 started from state `seed`."""
    z = (seed + (t + 1) * 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def gaussian_projection(out_dim, in_dim, seed):
    """R (out_dim x in_dim): N(0, 1/out_dim) entries by Box-Muller, as coreset.h documents."""
    total = out_dim * in_dim
    r = np.empty(total, dtype=np.float64)
    scale = 1.0 / math.sqrt(out_dim)
    two_pi = 6.283185307179586
    for q in range((total + 1) // 2):
        u1 = ((splitmix64(seed, 2 * q) >> 11) + 0.5) * 2.0 ** -53
        u2 = ((splitmix64(seed, 2 * q + 1) >> 11) + 0.5) * 2.0 ** -53
        radius = math.sqrt(-2.0 * math.log(u1))
        angle = two_pi * u2
        r[2 * q] = radius * math.cos(angle) * scale
        if 2 * q + 1 < total:
            r[2 * q + 1] = radius * math.sin(angle) * scale
    return r.reshape(out_dim, in_dim)


def k_center_greedy(rows, count, start=0):
    """The plain greedy k-center selection in float64: per step one vectorized distance update
    and an argmax (numpy's argmax takes the lowest index on ties). Selected rows are excluded
    (distance -1). Returns (indices, min squared distances after the last step)."""
    rows = np.asarray(rows, dtype=np.float64)
    n = rows.shape[0]
    mind = np.full(n, np.inf)
    indices = np.empty(count, dtype=np.int64)
    c = start
    for step in range(count):
        indices[step] = c
        mind[c] = -1.0
        d = ((rows - rows[c]) ** 2).sum(axis=1)
        np.minimum(mind, d, out=mind, where=mind >= 0)
        c = int(np.argmax(mind))
    return indices, mind


def select(x, count, projection=0, seed=0, start=0):
    """Projection (when asked), then the greedy selection: the whole reference pipeline."""
    r = gaussian_projection(projection, x.shape[1], seed) if projection else None
    rows = x.astype(np.float64) @ r.T if r is not None else x.astype(np.float64)
    indices, mind = k_center_greedy(rows, count, start)
    return indices, mind, r


def tile_patches(data_dir, images=4, size=64, patch=8, stride=4):
    """Real patch vectors: 8x8 gray patches at stride 4 of magnetic-tile training images resized
    to 64 px (15 x 15 patches per image), scaled to [0, 1]."""
    from PIL import Image
    folder = os.path.join(data_dir, "magnetic_tile", "train", "good")
    names = sorted(os.listdir(folder))[:images]
    out = []
    for name in names:
        img = Image.open(os.path.join(folder, name)).convert("L").resize((size, size), Image.BILINEAR)
        a = np.asarray(img, dtype=np.float64) / 255.0
        for y in range(0, size - patch + 1, stride):
            for x in range(0, size - patch + 1, stride):
                out.append(a[y:y + patch, x:x + patch].reshape(-1))
    return np.asarray(out, dtype=np.float32)


def cases(data_dir):
    rng = np.random.default_rng(20261205)
    # Clusters on low-dimensional subspaces, the shape of patch features.
    centers = rng.normal(scale=3.0, size=(12, 40))
    bases = rng.normal(size=(12, 4, 40))
    lab = rng.integers(0, 12, size=1500)
    coef = rng.normal(size=(1500, 4))
    clustered = centers[lab] + np.einsum("nk,nkd->nd", coef, bases[lab]) + 0.05 * rng.normal(size=(1500, 40))
    yield "clustered_proj16", clustered.astype(np.float32), dict(count=150, projection=16, seed=7, start=0,
                                                               description="12 clusters on 4-d subspaces in 40-d, projected to 16-d")
    gauss = rng.normal(size=(1200, 33)).astype(np.float32)
    yield "gaussian_noproj", gauss, dict(count=120, projection=0, seed=0, start=5,
                                         description="isotropic Gaussian in 33-d, no projection, start 5")
    yield "gaussian_proj8", gauss, dict(count=200, projection=8, seed=123456789012345, start=1199,
                                        description="the same rows projected to 8-d with a large seed")
    distinct = rng.normal(size=(40, 6))
    dup = distinct[rng.integers(0, 40, size=300)].astype(np.float32)
    yield "duplicates", dup, dict(count=60, projection=0, seed=0, start=0,
                                  description="300 rows, 40 distinct: rows at distance 0 follow in index order")
    if data_dir and os.path.isdir(os.path.join(data_dir, "magnetic_tile")):
        yield "tile_patches_proj24", tile_patches(data_dir), dict(
            count=90, projection=24, seed=42, start=0,
            description="8x8 patches of 4 magnetic-tile training images (64 px, stride 4), projected to 24-d")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for name, x, opt in cases(args.data):
        indices, mind, r = select(x, opt["count"], opt["projection"], opt["seed"], opt["start"])
        tensors = {"x": x, "indices": indices, "min_distances": mind}
        if r is not None:
            tensors["projection"] = r
        radius = math.sqrt(max(0.0, float(mind.max())))
        meta = {k: str(v) for k, v in opt.items()}
        meta["covering_radius"] = repr(radius)
        st_io.save(os.path.join(OUT, name + ".safetensors"), tensors, meta)
        print(f"{name}: n={x.shape[0]} d={x.shape[1]} count={opt['count']} covering radius {radius:.6g}")


if __name__ == "__main__":
    main()
