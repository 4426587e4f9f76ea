"""Inference preprocessing shared by training, reference vectors and the Node encoder.

Everything here is mirrored line for line by src/encoder/resize.ts and src/encoder/normalize.ts.
The point is bit-exact parity between PyTorch and Node: the resize works on uint8 with integer
fixed-point weights (so no float rounding can differ between numpy and JavaScript), and the
weights themselves are computed with plain sequential double arithmetic in a Python loop (numpy's
pairwise summation would change the order of additions and hence the last bit of a weight).

Pipeline (manifest "preprocess" block):
  decoded uint8 image, H x W x C (C = 1 gray or 3 RGB, no conversion between them)
  -> separable triangle (bilinear, antialiased when shrinking) resize to the model's size, uint8
  -> float32: ((u8 / 255) - mean[c]) / std[c], each step rounded to float32
  -> NCHW float32 tensor
"""
import math

import numpy as np
import torch

RESIZE_METHOD = "triangle-fixed14"
RESIZE_BITS = 14
_ROUND = 1 << (RESIZE_BITS - 1)


def triangle_taps(in_size: int, out_size: int):
    """Per output index: (first source index, list of integer weights summing to about 2**14)."""
    scale = in_size / out_size
    # Shrinking widens the filter so every source pixel contributes (antialiasing, as PIL does).
    support = scale if scale > 1.0 else 1.0
    taps = []
    for i in range(out_size):
        center = (i + 0.5) * scale
        lo = max(int(math.floor(center - support + 0.5)), 0)
        hi = min(int(math.floor(center + support + 0.5)), in_size)
        weights = []
        total = 0.0
        for j in range(lo, hi):
            t = abs((j + 0.5 - center) / support)
            w = 1.0 - t if t < 1.0 else 0.0
            weights.append(w)
            total = total + w
        fixed = [int(math.floor(w / total * (1 << RESIZE_BITS) + 0.5)) for w in weights]
        taps.append((lo, fixed))
    return taps


def _resize_axis(img: np.ndarray, out_size: int, axis: int) -> np.ndarray:
    in_size = img.shape[axis]
    if in_size == out_size:
        return img
    taps = triangle_taps(in_size, out_size)
    width = max(len(w) for _, w in taps)
    idx = np.zeros((out_size, width), dtype=np.int64)
    wts = np.zeros((out_size, width), dtype=np.int64)
    for i, (lo, fixed) in enumerate(taps):
        for k, w in enumerate(fixed):
            idx[i, k] = lo + k
            wts[i, k] = w
    src = np.moveaxis(img, axis, 0).astype(np.int64)  # (in, other..., C)
    acc = np.zeros((out_size,) + src.shape[1:], dtype=np.int64)
    extra = (1,) * (src.ndim - 1)
    for k in range(width):
        acc += wts[:, k].reshape((out_size,) + extra) * src[idx[:, k]]
    out = np.clip((acc + _ROUND) >> RESIZE_BITS, 0, 255).astype(np.uint8)
    return np.moveaxis(out, 0, axis)


def resize_u8(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """H x W x C uint8 -> height x width x C uint8. Horizontal pass first, then vertical
    (the order matters for the intermediate rounding; TS does the same)."""
    if img.dtype != np.uint8 or img.ndim != 3:
        raise ValueError(f"resize_u8 expects H x W x C uint8, received {img.dtype} {img.shape}")
    return _resize_axis(_resize_axis(img, width, 1), height, 0)


def normalize_u8(batch_nhwc: np.ndarray, mean, std) -> torch.Tensor:
    """N x H x W x C uint8 -> N x C x H x W float32, with the exact float32 rounding of the TS LUT."""
    x = torch.from_numpy(np.ascontiguousarray(batch_nhwc)).permute(0, 3, 1, 2).to(torch.float32)
    return normalize_float01(x / 255.0, mean, std)


def normalize_float01(x: torch.Tensor, mean, std) -> torch.Tensor:
    """Float images in [0, 1], N x C x H x W -> normalized (used after training augmentations)."""
    m = torch.tensor(mean, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32, device=x.device).view(1, -1, 1, 1)
    return (x - m) / s


def preprocess_images(images, height: int, width: int, mean, std) -> torch.Tensor:
    """List of H x W x C uint8 arrays (any sizes) -> model input batch."""
    resized = np.stack([resize_u8(im, height, width) for im in images])
    return normalize_u8(resized, mean, std)
