"""Train a self-supervised one-class encoder and export it to ONNX with its manifest.

Examples (see models/README.md for the exact commands behind the committed models):
  /usr/bin/python3 python-export/train.py --method rotation --data cifar10 --normal-class 0 \
      --epochs 8 --out models/cifar10-airplane-rotation
  /usr/bin/python3 python-export/train.py --method cutpaste-3way --data mvtec --mvtec-dir magnetic_tile \
      --image-size 128 --epochs 30 --out models/magnetic-tile-cutpaste3way

Methods: rotation (4-way rotation prediction on all four rotations of every image),
contrastive-da (SimCLR-style NT-Xent, temperature 0.2, rotated copies as distinct instances),
cutpaste, cutpaste-scar, cutpaste-3way (whole images, or --patch N for N x N crops).
Writes <out>.onnx and <out>.json; logs to stderr.
"""
import argparse
import json
import math
import os
import platform
import random
import shlex
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import augment  # noqa: E402
import cutpaste  # noqa: E402
import data as datasets  # noqa: E402
from common import LOG, setup  # noqa: E402
from evaluate import auroc_report, embed_u8, grid_patches  # noqa: E402
from export import build_manifest, export_onnx, write_manifest  # noqa: E402
from model import Encoder, stem_for  # noqa: E402
from preprocess import normalize_float01, resize_u8  # noqa: E402

METHODS = ("rotation", "contrastive-da", "cutpaste", "cutpaste-scar", "cutpaste-3way")
CIFAR_MEAN, CIFAR_STD = [0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]
FMNIST_MEAN, FMNIST_STD = [0.286], [0.353]
TEMPERATURE = 0.2
RUNS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")


def sha256_file(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--data", required=True, choices=("cifar10", "fashion-mnist", "mvtec"))
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    p.add_argument("--normal-class", type=int, default=0, help="cifar10 / fashion-mnist class trained on")
    p.add_argument("--mvtec-dir", default="magnetic_tile", help="MVTec-layout folder under --data-root")
    p.add_argument("--image-size", type=int, default=0, help="resize target (square); 0 = dataset native")
    p.add_argument("--patch", type=int, default=0, help="train on random N x N crops (patch-level model)")
    p.add_argument("--width", type=float, default=0.25, help="ResNet-18 width multiplier")
    p.add_argument("--proj-dim", type=int, default=128)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=64, help="source images per step (before rotations/augmented copies)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--train-limit", type=int, default=0, help="use only the first N normal training images")
    p.add_argument("--test-limit", type=int, default=0, help="evaluate on a seeded random subset of N test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--amp", action="store_true", help="mixed precision on CUDA")
    p.add_argument("--out", required=True, help="output path prefix; writes <out>.onnx and <out>.json")
    args = p.parse_args(argv)
    if args.patch and not args.method.startswith("cutpaste"):
        p.error(f"--patch applies to cutpaste methods only, received --method {args.method}")
    return args


def load_data(args):
    """Returns (train ImageSet, test ImageSet, size, channels, mean, std, data description)."""
    root = args.data_root
    if args.data == "cifar10":
        train, test = datasets.one_class_cifar(root, args.normal_class)
        size, mean, std = args.image_size or 32, CIFAR_MEAN, CIFAR_STD
        desc = {"dataset": "cifar10", "normalClass": args.normal_class,
                "normalClassName": datasets.CIFAR10_CLASSES[args.normal_class],
                "train": "cifar10/train_jpeg.bin (Pillow decode), normal class only",
                "test": "cifar10/test.bin, label = not normal class"}
    elif args.data == "fashion-mnist":
        train, test = datasets.one_class_fashion_mnist(root, args.normal_class)
        size, mean, std = args.image_size or 28, FMNIST_MEAN, FMNIST_STD
        desc = {"dataset": "fashion-mnist", "normalClass": args.normal_class}
    else:
        base = os.path.join(root, args.mvtec_dir)
        train, test = datasets.read_mvtec(base, "train"), datasets.read_mvtec(base, "test")
        size, mean, std = args.image_size or 256, None, None
        desc = {"dataset": args.mvtec_dir, "layout": "mvtec", "train": "train/good", "test": "test/*, label = not good"}
    if args.train_limit:
        train.images, train.labels = train.images[:args.train_limit], train.labels[:args.train_limit]
    channels = train.images[0].shape[2]
    return train, test, size, channels, mean, std, desc


def to_u8_batch(images, size):
    return np.stack([resize_u8(im, size, size) for im in images])


def nt_xent(z: torch.Tensor, n: int) -> torch.Tensor:
    """z: 2n x d, rows i and i+n are two views of one instance."""
    z = nn.functional.normalize(z.float(), dim=1)
    sim = z @ z.T / TEMPERATURE
    sim.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return nn.functional.cross_entropy(sim, target)


def train_step_inputs(method, xb, args, gen, rng):
    """Float [0, 1] batch -> (network input batch, labels or None)."""
    if method == "rotation":
        xb = augment.random_flip(xb, gen)
        return augment.all_rotations(xb)
    if method == "contrastive-da":
        rot, _ = augment.all_rotations(xb)
        return torch.cat([augment.contrastive_view(rot, gen), augment.contrastive_view(rot, gen)]), None
    xb = augment.random_flip(xb, gen)
    if args.patch:
        xb = cutpaste.random_crops(xb, args.patch, rng)
    x, y = cutpaste.make_batch(xb.cpu(), method, rng)
    return x.to(xb.device), y.to(xb.device)


def main(argv=None):
    args = parse_args(argv)
    device = setup(args.seed, args.threads)
    t0 = time.time()
    train, test, size, channels, mean, std, data_desc = load_data(args)
    train_u8 = to_u8_batch(train.images, size)
    test_u8 = to_u8_batch(test.images, size)
    if mean is None:  # MVTec-style data: per-channel statistics of the training images, rounded for the manifest
        f = train_u8.reshape(-1, channels).astype(np.float64) / 255.0
        mean = [round(float(v), 4) for v in f.mean(0)]
        std = [round(float(v), 4) for v in f.std(0)]
    LOG.info("data: %d train, %d test, %dx%dx%d, mean %s std %s (%.1fs)", len(train_u8), len(test_u8), size, size,
             channels, mean, std, time.time() - t0)
    if args.test_limit and args.test_limit < len(test_u8):
        keep = np.sort(np.random.default_rng(args.seed).choice(len(test_u8), args.test_limit, replace=False))
        test_u8, test_labels = test_u8[keep], test.labels[keep]
    else:
        test_labels = test.labels

    model_size = args.patch or size
    stem = stem_for(model_size)
    num_classes = {"rotation": 4, "contrastive-da": 0, "cutpaste": 2, "cutpaste-scar": 2, "cutpaste-3way": 3}[args.method]
    model = Encoder(channels, args.width, stem, args.proj_dim, num_classes).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    LOG.info("model: resnet18 width %.3g, stem %s, input %d, pooled %d, %d parameters", args.width, stem, model_size,
             model.backbone.out_dim, n_params)

    steps_per_epoch = max(1, len(train_u8) // args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
    scaler = torch.cuda.amp.GradScaler(enabled=args.amp and device.type == "cuda")
    gen = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)
    data_t = torch.from_numpy(train_u8).permute(0, 3, 1, 2).contiguous()

    t_train = time.time()
    src_images = net_images = 0
    step = 0
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(data_t), generator=gen)
        losses = []
        for b in range(steps_per_epoch):
            idx = perm[b * args.batch_size:(b + 1) * args.batch_size]
            xb = data_t[idx].to(device).float() / 255.0
            x, y = train_step_inputs(args.method, xb, args, gen, rng)
            x = normalize_float01(x, mean, std)
            with torch.autocast(device.type, enabled=args.amp and device.type == "cuda"):
                if y is None:
                    _, z = model(x)
                    loss = nt_xent(z, x.shape[0] // 2)
                else:
                    _, _, logits = model.logits(x)
                    loss = nn.functional.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
            step += 1
            src_images += len(idx)
            net_images += x.shape[0]
            losses.append(loss.item())
        el = time.time() - t_train
        LOG.info("epoch %d/%d loss %.4f | %.0f source img/s, %.0f network img/s (fwd+bwd)", epoch + 1, args.epochs,
                 float(np.mean(losses)), src_images / el, net_images / el)
    train_seconds = time.time() - t_train

    t_eval = time.time()
    model.eval()
    if args.patch:
        # Patch model: image score = max over a grid of patches (stride = patch size); embeddings of the
        # training images' grid patches form the normal set.
        tr_p, n_p = grid_patches(train_u8, args.patch, args.patch)
        te_p, _ = grid_patches(test_u8, args.patch, args.patch)
        tr_emb, _ = embed_u8(model, tr_p, mean, std, device)
        te_emb, _ = embed_u8(model, te_p, mean, std, device)
        from evaluate import knn1_scores, kde_scores
        from sklearn.metrics import roc_auc_score
        metrics = {}
        for name, fn in (("knn1", knn1_scores), ("kde", kde_scores)):
            s = fn(tr_emb, te_emb).reshape(len(test_u8), n_p).max(axis=1)
            metrics[name] = float(roc_auc_score(test_labels, s))
        metrics_desc = f"image AUROC, max over {n_p} grid patches of {args.patch}px (stride {args.patch}) per {size}px image"
    else:
        tr_emb, _ = embed_u8(model, train_u8, mean, std, device)
        te_emb, _ = embed_u8(model, test_u8, mean, std, device)
        metrics = auroc_report(tr_emb, te_emb, test_labels)
        metrics_desc = "image AUROC on L2-normalized pooled embeddings"
    LOG.info("AUROC %s (%.1fs)", json.dumps(metrics), time.time() - t_eval)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = args.out + ".onnx"
    model = model.cpu().eval()
    # The PyTorch weights stay out of the repository (python-export/runs/ is ignored); make_fixtures.py
    # needs them to compute the reference vectors, and checks the hash recorded in the manifest.
    ckpt_path = os.path.join(RUNS_DIR, os.path.basename(args.out) + ".pt")
    os.makedirs(RUNS_DIR, exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "channels": channels, "width": args.width, "stem": stem,
                "proj_dim": args.proj_dim, "num_classes": num_classes, "size": model_size}, ckpt_path)
    export_onnx(model, onnx_path, channels, model_size)
    training = {
        "method": args.method,
        "data": dict(data_desc, trainImages=int(len(train_u8)), resizedTo=size,
                     patch=args.patch or None),
        "epochs": args.epochs, "batchSize": args.batch_size, "lr": args.lr, "weightDecay": args.weight_decay,
        "seed": args.seed, "optimizer": "SGD nesterov momentum 0.9, cosine schedule",
        "temperature": TEMPERATURE if args.method == "contrastive-da" else None,
        "device": str(device), "threads": args.threads, "torch": torch.__version__, "platform": platform.machine(),
        "trainSeconds": round(train_seconds, 1),
        "sourceImagesPerSecond": round(src_images / train_seconds, 1),
        "networkImagesPerSecond": round(net_images / train_seconds, 1),
        "parameters": n_params,
        "checkpoint": {"file": os.path.relpath(ckpt_path, os.path.dirname(RUNS_DIR)), "sha256": sha256_file(ckpt_path)},
        "command": "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, os.getcwd())] + (argv or sys.argv[1:])),
    }
    metric_block = {"auroc": metrics, "description": metrics_desc,
                    "testImages": int(len(test_u8)), "testAnomalies": int(test_labels.sum()),
                    "detectors": "knn1: 1 - max cosine similarity; kde: Gaussian KDE gamma 10 on unit vectors; "
                                 "gde: Ledoit-Wolf Mahalanobis"}
    manifest = build_manifest(onnx_file=onnx_path, channels=channels, size=model_size, mean=mean, std=std,
                              width=args.width, stem=stem, pooled_dim=model.backbone.out_dim, proj_dim=args.proj_dim,
                              training=training, metrics=metric_block)
    if args.patch:
        manifest["preprocess"]["patchFrom"] = {"resize": {"height": size, "width": size},
                                               "note": "crops of the image resized to this size, same resize method"}
    write_manifest(args.out + ".json", manifest)
    LOG.info("wrote %s (%d bytes) and %s.json; total %.1fs", onnx_path, os.path.getsize(onnx_path), args.out,
             time.time() - t0)


if __name__ == "__main__":
    main()
