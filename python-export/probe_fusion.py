"""Research probe (issue 12): does a PaDiM map fused with the dense head's map localize better than
either? Scores the complete magnetic-tile test set with the shipped dense encoder's PyTorch
checkpoint (as evaluate_dense.py does, same upsampling, blur and metrics):
  - head: sigmoid of patch_scores;
  - padim: per-position Gaussian on patch_features (mean and covariance + 0.01 I per grid position,
    fitted on 4 of every 5 train/good images), Mahalanobis distance;
  - z-fuse a: a * z(head logit) + (1 - a) * z(padim), each standardized by the mean and standard
    deviation of its grid values on the held-out fifth of train/good (never on test images).

    /usr/bin/python3 python-export/probe_fusion.py [--model models/magnetic-tile-cutpaste-dense.onnx]
        [--data-dir ../shared/data/magnetic_tile] [--weights 0.25,0.5,0.75]

Prints image AUROC / pixel AUROC / AUPRO in total and per defect type, one line per variant (about
3 minutes each on one core: the metrics sort every pixel of the 592 images). Features are cached
in --cache (an .npz) between runs.
"""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import colour  # noqa: E402
import data as datasets  # noqa: E402
import evaluate_dense as ed  # noqa: E402
from common import setup  # noqa: E402


def padim_grids(fit_features, query_features):
    """Mahalanobis distance of every query position to the Gaussian of its position (N x D x gh x gw in)."""
    _, d, gh, gw = fit_features.shape
    x = fit_features.transpose(2, 3, 0, 1).reshape(gh * gw, -1, d).astype(np.float64)
    mu = x.mean(1)
    xc = x - mu[:, None]
    cov = np.einsum("pnd,pne->pde", xc, xc) / (x.shape[1] - 1) + 0.01 * np.eye(d)
    chol = np.linalg.cholesky(cov)
    q = query_features.transpose(2, 3, 0, 1).reshape(gh * gw, -1, d).astype(np.float64) - mu[:, None]
    sol = np.linalg.solve(chol, q.transpose(0, 2, 1))
    return np.sqrt((sol ** 2).sum(1)).T.reshape(-1, gh, gw)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=os.path.join(HERE, "..", "models", "magnetic-tile-cutpaste-dense.onnx"))
    p.add_argument("--data-dir", default=os.path.join(datasets.DEFAULT_DATA_ROOT, "magnetic_tile"))
    p.add_argument("--weights", default="0.25,0.5,0.75", help="head weights a of the fused variants")
    p.add_argument("--cache", default=os.path.join(HERE, "runs", "probe_fusion_features.npz"))
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    setup(0, args.threads)
    model, man = ed.load_checkpoint(args.model)
    inp, pre = man["input"], man["preprocess"]
    policy = colour.ColourPolicy(pre["decode"]["alpha"], tuple(pre["decode"]["background"]))
    size, mean, std = inp["height"], pre["mean"], pre["std"]
    t0 = time.time()
    test_u8, labels, kinds, masks, _ = ed.read_test_set(args.data_dir, inp["channels"], policy, size)
    if os.path.exists(args.cache):
        z = np.load(args.cache)
        tr_s, tr_f, te_s, te_f = z["tr_s"], z["tr_f"], z["te_s"], z["te_f"]
    else:
        paths = datasets.list_images(os.path.join(args.data_dir, "train", "good"))
        train_u8 = np.stack(datasets.read_image_files(paths, inp["channels"], policy, size))
        tr_s, tr_f = ed.dense_outputs(model, train_u8, mean, std, features=True)
        te_s, te_f = ed.dense_outputs(model, test_u8, mean, std, features=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.cache)), exist_ok=True)
        np.savez(args.cache, tr_s=tr_s, tr_f=tr_f, te_s=te_s, te_f=te_f)
    print(f"features {tr_f.shape} {te_f.shape} ({time.time() - t0:.0f} s)", flush=True)
    calib = np.arange(len(tr_f)) % 5 == 4
    pad_test, pad_cal = padim_grids(tr_f[~calib], te_f), padim_grids(tr_f[~calib], tr_f[calib])

    def run(name, grids):
        r = ed.localization_metrics(ed.smoothed_maps(grids, masks), masks, labels, kinds)
        t = r["total"]
        per = " ".join(f"{k}:{v['image'] * 100:.1f}/{v['pixel'] * 100:.1f}/{v['aupro'] * 100:.1f}"
                       for k, v in r.items() if k != "total")
        print(f"{name:24s} image {t['image'] * 100:.1f} pixel {t['pixel'] * 100:.1f} aupro {t['aupro'] * 100:.1f} | {per}",
              flush=True)

    def znorm(test, cal):
        return (test - cal.mean()) / cal.std()

    run("head (sigmoid)", 1.0 / (1.0 + np.exp(-te_s.astype(np.float64))))
    run("padim", pad_test)
    zh = znorm(te_s.astype(np.float64), tr_s[calib].astype(np.float64))
    zp = znorm(pad_test, pad_cal)
    for a in (float(w) for w in args.weights.split(",")):
        run(f"z-fuse logit a={a:g}", a * zh + (1 - a) * zp)


if __name__ == "__main__":
    main()
