"""Reference vectors for src/eval (image AUROC, F1-max, pixel AUROC, AUPRO) from scikit-learn
and scipy (Debian's packages; run with /usr/bin/python3). Fixed seeds; writes
test/fixtures/eval/metrics.safetensors.

    /usr/bin/python3 python-export/refs/ref_eval.py

AUPRO follows the MVTec AD evaluation code (Bergmann et al., mvtec_ad_evaluation/pro_curve_util.py
and generic_util.trapezoid): 8-connected regions (scipy.ndimage.label with a 3x3 structure), one
curve point per distinct score, trapezoids up to FPR 0.3 with interpolation at the limit, divided
by 0.3. Written here from that description since the package is not installable.

With --scores FILE.json (the output of `oneclass eval --json --save-scores`), prints scikit-learn's
roc_auc_score of the scores in it, for cross-checking a CLI run.
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy.ndimage import label
from sklearn.metrics import precision_recall_curve, roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_io  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "eval")


def f1_max(labels, scores):
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.where(precision + recall > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-300), 0)
    i = int(np.argmax(f1[:-1]))
    return float(f1[i]), float(thresholds[i])


def trapezoid(x, y, x_max):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    correction = 0.0
    if x_max not in x:
        ins = bisect_right(x, x_max)
        assert 0 < ins < len(x)
        y_interp = y[ins - 1] + ((y[ins] - y[ins - 1]) * (x_max - x[ins - 1]) / (x[ins] - x[ins - 1]))
        correction = 0.5 * (y_interp + y[ins - 1]) * (x_max - x[ins - 1])
    mask = x <= x_max
    x = x[mask]
    y = y[mask]
    return float(np.sum(0.5 * (y[1:] + y[:-1]) * (x[1:] - x[:-1])) + correction)


def bisect_right(a, v):
    return int(np.searchsorted(a, v, side="right"))


def compute_pro(anomaly_maps, ground_truth_maps):
    structure = np.ones((3, 3), dtype=int)
    num_ok_pixels = 0
    num_gt_regions = 0
    fp_changes = np.zeros(anomaly_maps.shape, dtype=np.uint32)
    pro_changes = np.zeros(anomaly_maps.shape, dtype=np.float64)
    for i, gt in enumerate(ground_truth_maps):
        labeled, n = label(gt, structure)
        num_gt_regions += n
        ok = labeled == 0
        num_ok_pixels += int(ok.sum())
        fp_changes[i, ok] = 1
        for k in range(n):
            region = labeled == (k + 1)
            pro_changes[i, region] = 1.0 / region.sum()
    scores = anomaly_maps.ravel()
    order = np.argsort(scores, kind="stable")[::-1]
    scores = scores[order]
    fprs = np.cumsum(fp_changes.ravel()[order], dtype=np.float64) / num_ok_pixels
    pros = np.cumsum(pro_changes.ravel()[order]) / num_gt_regions
    keep = np.append(np.diff(scores) != 0, True)
    fprs = np.clip(fprs[keep], 0, 1)
    pros = np.clip(pros[keep], 0, 1)
    return np.concatenate(([0.0], fprs, [1.0])), np.concatenate(([0.0], pros, [1.0]))


def aupro(anomaly_maps, masks, limit=0.3):
    fprs, pros = compute_pro(anomaly_maps, masks)
    return trapezoid(fprs, pros, limit) / limit


def blob_masks(rng, n, h, w):
    """Masks with a few rectangular and disc-shaped defects; some images defect-free."""
    masks = np.zeros((n, h, w), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        if i % 3 == 0:
            continue
        for _ in range(rng.integers(1, 4)):
            cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(1, 6)
            if rng.random() < 0.5:
                masks[i][(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = 1
            else:
                masks[i, max(0, cy - r):cy + r, max(0, cx - r):cx + r] = 1
    return masks


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scores", help="JSON from `oneclass eval --save-scores`: print sklearn's AUROC")
    parser.add_argument("--fixture", help="with --scores: write a CLI cross-check fixture (scores + sklearn AUROC) here")
    parser.add_argument("--command", help="with --fixture: the oneclass command line that produced the scores")
    args = parser.parse_args()
    if args.scores:
        with open(args.scores) as f:
            doc = json.load(f)
        labels = [s["label"] for s in doc["scores"]]
        scores = [s["score"] for s in doc["scores"]]
        auc = roc_auc_score(labels, scores)
        f1, thr = f1_max(np.array(labels), np.array(scores))
        print(json.dumps({"roc_auc_score": auc, "f1_max": f1, "n": len(scores)}))
        if args.fixture:
            with open(args.fixture, "w") as f:
                json.dump({"generator": "python-export/refs/ref_eval.py --scores", "command": args.command,
                           "sklearn": {"roc_auc_score": auc, "f1_max": f1, "f1_threshold": thr},
                           "scores": [{"id": os.path.relpath(s["id"], ROOT) if os.path.isabs(s["id"]) else s["id"],
                                       "label": s["label"], "score": s["score"]} for s in doc["scores"]]}, f, indent=1)
        return

    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(20261128)
    tensors = {}
    # Image level: continuous scores, and coarse scores with many ties.
    for name, n, ties in [("continuous", 300, False), ("tied", 400, True)]:
        labels = (rng.random(n) < 0.4).astype(np.float64)
        scores = rng.normal(size=n) + 0.8 * labels
        if ties:
            scores = np.round(scores * 2) / 2
        f1, thr = f1_max(labels, scores)
        tensors[f"image.{name}.scores"] = scores
        tensors[f"image.{name}.labels"] = labels
        tensors[f"image.{name}.expected"] = np.array([roc_auc_score(labels, scores), f1, thr])
    # Pixel level: 12 maps of 40 x 48, scores higher inside defects, quantized for ties.
    n, h, w = 12, 40, 48
    masks = blob_masks(rng, n, h, w)
    maps = rng.normal(size=(n, h, w)) + 1.5 * masks
    maps = (np.round(maps * 8) / 8).astype(np.float32)
    tensors["pixel.maps"] = maps
    tensors["pixel.masks"] = masks
    tensors["pixel.expected"] = np.array([
        roc_auc_score(masks.ravel(), maps.ravel()),
        aupro(maps.astype(np.float64), masks, 0.3),
        aupro(maps.astype(np.float64), masks, 0.05),
    ])
    st_io.save(os.path.join(OUT, "metrics.safetensors"), tensors, {
        "generator": "python-export/refs/ref_eval.py",
        "seed": "20261128",
        "expected": "image.*.expected = [roc_auc_score, f1max, f1max threshold]; pixel.expected = [pixel roc_auc_score, aupro@0.3, aupro@0.05]",
    })
    print("wrote", os.path.join(OUT, "metrics.safetensors"))


if __name__ == "__main__":
    main()
