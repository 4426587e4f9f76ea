"""Localization figures of a dense encoder (train.py --method cutpaste-dense) on a complete MVTec-layout test set.

    /usr/bin/python3 python-export/evaluate_dense.py --model models/magnetic-tile-cutpaste-dense.onnx

Scores the PyTorch checkpoint the manifest names (python-export/runs/<name>.pt, sha256-checked):
Debian's Python has neither onnxruntime nor onnx's reference evaluator, so the ONNX file itself is
checked against PyTorch on the Node side (test/fixtures/dense/, make_fixtures.py).

Per test image: sigmoid of patch_scores (the grid of head logits) -> bilinear upsampling
(align_corners=False, i.e. grid position (i, j) centred at ((j + 0.5) * stride, (i + 0.5) * stride)
of the model input) straight to the image's own size -> Gaussian blur of sigma 4 px at the model's
256 px scale (sigma_y = 4 * H / 256, sigma_x = 4 * W / 256 in own pixels; kernel radius int(4 sigma
+ 0.5); PyTorch's 'reflect' border, scipy's 'mirror'), as anomalib smooths. Image score = max of the
smoothed map. Pixel AUROC over every pixel of every test image at the masks' own size; AUPRO up to
FPR 0.3 as refs/ref_eval.py computes it (MVTec AD's definition), here over images of different sizes.
Per defect type: that type's images with all good images; "total": the complete test set.

--knn-bank N also scores patch_features by the distance to the nearest of N random training
positions (a PatchCore-style memory bank without the coreset), the same upsampling and blur.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter, label
from sklearn.metrics import roc_auc_score
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import colour  # noqa: E402
import data as datasets  # noqa: E402
from common import LOG, setup  # noqa: E402
from dense import DenseEncoder  # noqa: E402
from preprocess import normalize_u8  # noqa: E402
from refs.ref_eval import trapezoid  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SIGMA = 4.0
SIGMA_SCALE = 256
PRO_LIMIT = 0.3


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load_checkpoint(model_path: str):
    """models/X.onnx -> (DenseEncoder in eval mode, manifest), from the checkpoint its manifest records."""
    manifest_path = os.path.splitext(model_path)[0] + ".json"
    with open(manifest_path) as f:
        manifest = json.load(f)
    if "dense" not in manifest:
        raise SystemExit(f"{manifest_path} has no 'dense' block: not a dense encoder (train.py --method cutpaste-dense)")
    ckpt = manifest["training"]["checkpoint"]
    ckpt_file = os.path.join(HERE, ckpt["file"])
    if not os.path.exists(ckpt_file):
        raise SystemExit(f"{ckpt_file} not found: the checkpoint stays where train.py wrote it (python-export/runs/)")
    if sha256_file(ckpt_file) != ckpt["sha256"]:
        raise SystemExit(f"{ckpt_file}: sha256 differs from the one {manifest_path} records")
    return model_from_checkpoint(torch.load(ckpt_file, map_location="cpu")), manifest


def model_from_checkpoint(ckpt: dict) -> DenseEncoder:
    model = DenseEncoder(ckpt["channels"], ckpt["width"], ckpt["stem"], ckpt["proj_dim"], ckpt["num_classes"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


@torch.no_grad()
def dense_outputs(model, images_u8: np.ndarray, mean, std, batch_size: int = 32, features: bool = False):
    """N x H x W x C uint8 at model size -> (patch_scores N x gh x gw, patch_features N x D x gh x gw or None)."""
    model.eval()
    scores, feats = [], []
    for i in range(0, len(images_u8), batch_size):
        _, _, s, f = model.dense(normalize_u8(images_u8[i:i + batch_size], mean, std))
        scores.append(s.numpy())
        if features:
            feats.append(f.numpy())
    return np.concatenate(scores), (np.concatenate(feats) if features else None)


def read_test_set(base: str, channels: int, policy, size: int):
    """-> (u8 N x size x size x C, labels, defect type per image, masks at own size (bool), paths)."""
    paths, labels, mask_paths = datasets.mvtec_split(base, "test")
    images = datasets.read_image_files(paths, channels, policy, size)
    kinds, masks = [], []
    for path, mask_path in zip(paths, mask_paths):
        kinds.append(os.path.basename(os.path.dirname(path)))
        with Image.open(path) as im:
            w, h = im.size
        if mask_path is None:
            masks.append(np.zeros((h, w), dtype=bool))
            continue
        with Image.open(mask_path) as m:
            mask = np.array(m.convert("L")) > 127
        if mask.shape != (h, w):
            raise SystemExit(f"{mask_path}: mask is {mask.shape[1]}x{mask.shape[0]}, its image {w}x{h}")
        masks.append(mask)
    return np.stack(images), labels, np.array(kinds), masks, paths


def map_at(grid: np.ndarray, height: int, width: int, sigma: float = SIGMA) -> np.ndarray:
    """gh x gw grid -> height x width map: bilinear upsampling, then the blur scaled from SIGMA_SCALE px."""
    up = F.interpolate(torch.from_numpy(np.ascontiguousarray(grid, dtype=np.float32))[None, None],
                       size=(height, width), mode="bilinear", align_corners=False)[0, 0].numpy()
    if sigma <= 0:
        return up
    # sigma px of the image resized to SIGMA_SCALE px, in the image's own pixels (anisotropic where
    # the image is not square, as the resize is).
    return gaussian_filter(up, (sigma * height / SIGMA_SCALE, sigma * width / SIGMA_SCALE), mode="mirror",
                           truncate=4.0)


def pixel_metrics(maps, masks, limit: float = PRO_LIMIT):
    """(pixel AUROC, AUPRO to FPR `limit`) of maps of any sizes, from one sort of all their pixels.

    AUPRO is compute_pro + trapezoid of refs/ref_eval.py (MVTec AD's definition: 8-connected regions
    labelled per image, one curve point per distinct score); the pixel ROC shares its false-positive
    axis (pixels outside every region), so its AUROC is the trapezoid of the same cumulative sums over
    the same distinct scores, which is what scikit-learn's roc_auc_score computes (checked by
    test_evaluate_dense.py)."""
    ok_parts, pro_parts = [], []
    num_regions = 0
    for gt in masks:
        labeled, n = label(gt, np.ones((3, 3), dtype=int))
        num_regions += n
        pro = np.zeros(gt.shape, dtype=np.float64)
        if n:
            sizes = np.bincount(labeled.ravel(), minlength=n + 1)
            inside = labeled > 0
            pro[inside] = 1.0 / sizes[labeled[inside]]
        ok_parts.append((labeled == 0).ravel())
        pro_parts.append(pro.ravel())
    scores = np.concatenate([np.asarray(m, dtype=np.float64).ravel() for m in maps])
    ok = np.concatenate(ok_parts)
    order = np.argsort(scores, kind="stable")[::-1]
    scores, ok = scores[order], ok[order]
    keep = np.append(np.diff(scores) != 0, True)
    fp = np.cumsum(ok, dtype=np.float64)[keep]
    tp = np.cumsum(~ok, dtype=np.float64)[keep]
    fprs = fp / fp[-1]
    tprs = tp / tp[-1]
    auroc = float(np.trapz(np.concatenate(([0.0], tprs)), np.concatenate(([0.0], fprs))))
    pros = np.cumsum(np.concatenate(pro_parts)[order])[keep] / num_regions
    fprs, pros = np.clip(fprs, 0, 1), np.clip(pros, 0, 1)
    curve_f = np.concatenate(([0.0], fprs, [1.0]))
    curve_p = np.concatenate(([0.0], pros, [1.0]))
    return auroc, trapezoid(curve_f, curve_p, limit) / limit


def localization_metrics(maps, masks, labels, kinds) -> dict:
    """{"total": {...}, "<defect type>": {...}}: image AUROC (max of the map), pixel AUROC, AUPRO."""
    image_scores = np.array([m.max() for m in maps])

    def one(sel):
        idx = np.nonzero(sel)[0]
        ms = [maps[i] for i in idx]
        gts = [masks[i] for i in idx]
        pixel, aupro = pixel_metrics(ms, gts)
        return {"image": float(roc_auc_score(labels[idx], image_scores[idx])), "pixel": pixel, "aupro": aupro,
                "images": int(len(idx)), "defective": int(labels[idx].sum())}

    out = {"total": one(np.ones(len(maps), dtype=bool))}
    for kind in sorted(set(kinds.tolist()) - {"good"}):
        out[kind] = one((kinds == kind) | (kinds == "good"))
    return out


def smoothed_maps(grids, masks, sigma=SIGMA):
    return [map_at(g, m.shape[0], m.shape[1], sigma) for g, m in zip(grids, masks)]


def knn_grids(model, train_u8, test_u8, mean, std, bank_size: int, seed: int = 0):
    """Distance of every test position's patch_features to the nearest of `bank_size` random training positions."""
    _, ftr = dense_outputs(model, train_u8, mean, std, features=True)
    d = ftr.shape[1]
    bank = torch.from_numpy(ftr.transpose(0, 2, 3, 1).reshape(-1, d))
    gen = torch.Generator().manual_seed(seed)
    bank = bank[torch.randperm(len(bank), generator=gen)[:bank_size]]
    bank_sq = (bank ** 2).sum(1)
    _, fte = dense_outputs(model, test_u8, mean, std, features=True)
    grids = []
    for f in fte:
        q = torch.from_numpy(f.transpose(1, 2, 0).reshape(-1, d))
        d2 = (q ** 2).sum(1, keepdim=True) + bank_sq[None] - 2 * q @ bank.T
        grids.append(d2.min(1).values.clamp_min(0).sqrt().reshape(f.shape[1:]).numpy())
    return np.stack(grids)


def evaluate(model, base: str, channels: int, policy, size: int, mean, std, knn_bank: int = 0, train_u8=None):
    """Every figure of this script for a model in memory: {"head": metrics, "knn": metrics (with knn_bank)}."""
    t0 = time.time()
    test_u8, labels, kinds, masks, _ = read_test_set(base, channels, policy, size)
    if labels.min() == labels.max():
        raise SystemExit(f"{base}/test has only {'good' if labels[0] == 0 else 'defective'} images")
    logits, _ = dense_outputs(model, test_u8, mean, std)
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    out = {"head": localization_metrics(smoothed_maps(probs, masks), masks, labels, kinds)}
    LOG.info("head: %s (%.1fs)", json.dumps(out["head"]["total"]), time.time() - t0)
    if knn_bank:
        if train_u8 is None:
            train_paths = datasets.list_images(os.path.join(base, "train", "good"))
            train_u8 = np.stack(datasets.read_image_files(train_paths, channels, policy, size))
        grids = knn_grids(model, train_u8, test_u8, mean, std, knn_bank)
        out["knn"] = localization_metrics(smoothed_maps(grids, masks), masks, labels, kinds)
        LOG.info("knn (random bank of %d): %s (%.1fs)", knn_bank, json.dumps(out["knn"]["total"]), time.time() - t0)
    return out


def describe(knn_bank: int = 0) -> str:
    text = (f"complete test set at the masks' own size; sigmoid(patch_scores) upsampled bilinearly to the image size, "
            f"Gaussian sigma {SIGMA:g} px at {SIGMA_SCALE} px scale; image = max of the map; AUPRO to FPR {PRO_LIMIT}")
    if knn_bank:
        text += f"; knn: L2 distance of patch_features to the nearest of {knn_bank} random training positions"
    return text


def print_table(name: str, res: dict):
    print(f"{name}: image / pixel AUROC / AUPRO")
    for kind, r in res.items():
        print(f"  {kind:10s} {r['image']:.4f}  {r['pixel']:.4f}  {r['aupro']:.4f}  ({r['images']} images, "
              f"{r['defective']} defective)")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="models/<name>.onnx of a dense encoder (its .json beside it)")
    p.add_argument("--mvtec-dir", help="MVTec-layout folder; default: the one the manifest was trained on")
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    p.add_argument("--knn-bank", type=int, default=0, help="also score patch_features by k-NN to N random training positions")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    setup(0, args.threads)
    model, manifest = load_checkpoint(args.model)
    folder = args.mvtec_dir or manifest["training"]["data"].get("folder")
    if not folder:
        raise SystemExit("--mvtec-dir is needed: the manifest records no MVTec folder")
    if not os.path.isabs(folder) and not os.path.isdir(folder):
        folder = os.path.join(args.data_root, folder)
    if not os.path.isdir(folder):
        # Manifests record the absolute folder of the training machine; fall back to its name under --data-root.
        folder = os.path.join(args.data_root, os.path.basename(os.path.normpath(folder)))
    inp, pre = manifest["input"], manifest["preprocess"]
    policy = colour.ColourPolicy(pre["decode"]["alpha"], tuple(pre["decode"]["background"]))
    res = evaluate(model, folder, inp["channels"], policy, inp["height"], pre["mean"], pre["std"], args.knn_bank)
    for name, r in res.items():
        print_table(name, r)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "folder": folder, "description": describe(args.knn_bank), **res}, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
