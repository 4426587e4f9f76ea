"""Checks of the dense CutPaste code against independent references.

    /usr/bin/python3 -m pytest -q python-export/test_dense.py

(python-export has no test suite of its own; these run in about ten seconds on CPU.)
"""
import os
import random
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dense  # noqa: E402
import evaluate_dense  # noqa: E402
import synthetic  # noqa: E402
from refs.ref_eval import aupro, blob_masks  # noqa: E402


def test_pixel_metrics_equal_sklearn_and_ref_eval():
    rng = np.random.default_rng(7)
    masks = blob_masks(rng, 10, 30, 36)
    maps = rng.normal(size=masks.shape) + 1.2 * masks
    maps = np.round(maps * 6) / 6  # ties, as blurred maps of flat regions have
    auroc, pro = evaluate_dense.pixel_metrics(list(maps), list(masks))
    assert abs(auroc - roc_auc_score(masks.ravel(), maps.ravel())) < 1e-12
    assert abs(pro - aupro(maps, masks, 0.3)) < 1e-12


def test_pixel_metrics_of_ragged_maps_pool_every_pixel():
    # Maps of different sizes: the same figures as one padded stack in which the padding is normal
    # and scores lowest of all, which adds false positives only after every real pixel is ranked.
    rng = np.random.default_rng(8)
    shapes = [(20, 31), (25, 17), (12, 40)]
    masks = [blob_masks(rng, 2, h, w)[1] for h, w in shapes]
    maps = [rng.normal(size=m.shape) + m for m in masks]
    auroc, _ = evaluate_dense.pixel_metrics(maps, masks)
    ref = roc_auc_score(np.concatenate([m.ravel() for m in masks]), np.concatenate([m.ravel() for m in maps]))
    assert abs(auroc - ref) < 1e-12


def test_receptive_field_by_brute_force():
    # Theoretical receptive field = the input pixels whose change can reach the centre output,
    # found by a backward pass of a network whose every weight is positive (so nothing cancels).
    # The max-pool passes gradient to one input of its window only: an average pool of the same
    # geometry stands in for it.
    model = dense.DenseEncoder(1, 0.25, "imagenet", 16, synthetic.NUM_KINDS).eval()
    stem = model.backbone.stem
    pool = stem[3]
    stem[3] = nn.AvgPool2d(pool.kernel_size, pool.stride, pool.padding)
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.constant_(m.weight, 0.01)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.zero_(), m.running_var.fill_(1.0), m.bias.data.fill_(1.0)
    rf = dense.receptive_field(model)
    size = 512
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    _, _, scores, features = model.dense(x)
    g = scores.shape[-1] // 2
    for name, out in (("scores", scores[0, g, g]), ("features", features[0, :, g, g].sum())):
        (grad,) = torch.autograd.grad(out, x, retain_graph=True)
        cols = torch.nonzero(grad[0, 0].abs().sum(0) > 0)[:, 0]
        assert cols.max() - cols.min() + 1 == rf[name], name


def test_synthetic_masks_mark_changed_pixels_only():
    rng = random.Random(3)
    pool = (torch.rand(4, 1, 64, 64) * 255).to(torch.uint8)
    x = pool.float() / 255.0
    imgs, masks, labels = synthetic.make_batch(x.repeat(8, 1, 1, 1), pool, rng)
    for before, after, mask, lab in zip(x.repeat(8, 1, 1, 1), imgs, masks, labels):
        changed = (after - before).abs().amax(0) > synthetic.CHANGED
        assert torch.equal(changed.float(), mask)
        assert (lab == synthetic.NONE) == (not changed.any())
    assert len(set(labels.tolist())) > 2


def test_target_grid_threshold():
    masks = torch.zeros(1, 16, 16)
    masks[0, 0:8, 0:3] = 1  # 24 of 64 pixels of cell (0, 0)
    masks[0, 8, 8] = 1  # 1 of 64 pixels of cell (1, 1): below the 5 % threshold
    t = dense.target_grid(masks, (2, 2))
    assert t.tolist() == [[[1.0, 0.0], [0.0, 0.0]]]
