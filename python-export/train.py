"""Train a self-supervised one-class encoder and export it to ONNX with its manifest.

Examples (see models/README.md for the exact commands behind the committed models):
  /usr/bin/python3 python-export/train.py --method rotation --data cifar10 --normal-class 0 \\
      --epochs 8 --out models/cifar10-airplane-rotation
  /usr/bin/python3 python-export/train.py --method cutpaste-3way --data mvtec --mvtec-dir magnetic_tile \\
      --image-size 128 --epochs 30 --out models/magnetic-tile-cutpaste3way
  /usr/bin/python3 python-export/train.py --method cutpaste-3way --data mvtec --mvtec-dir /data/mvtec/bottle \\
      --epochs 30 --out my-bottle
  /usr/bin/python3 python-export/train.py --method rotation --data folder --train-dir ./good-parts --out my-parts

Data: cifar10 / fashion-mnist (one-class protocol on ../shared/data), mvtec (any folder in the MVTec
AD layout: train/good, optionally test/<good|defect>; RGB or gray, any image size), folder (a plain
folder of good images, no test split: the test AUROC is skipped). The model's colour space follows
the data (--colour) and images are decoded to it as the Node encoder does (colour.py).

Methods: rotation (4-way rotation prediction on all four rotations of every image),
contrastive-da (SimCLR-style NT-Xent, temperature 0.2, rotated copies as distinct instances),
cutpaste, cutpaste-scar, cutpaste-3way (whole images, or --patch N for N x N crops),
cutpaste-dense (a per-position head on stages 2 + 3 segments synthetic defects: CutPaste patches,
scars and smooth blobs; exports patch_scores and patch_features beside pooled and projection; dense.py).

CPU speed: all cores by default (OMP_WAIT_POLICY=PASSIVE), bf16 autocast where the CPU computes bf16
natively and a probe finds it faster (precision.py), channels-last on CPU, the next batches prepared
by a background thread while the current one trains (--prefetch). The ONNX export is float32 whatever the precision.
Writes <out>.onnx and <out>.json; logs to stderr.
"""
import os

# Before torch loads OpenMP, which reads it once: spinning OpenMP threads collapse throughput when
# the other core of a shared machine is busy (TOOLCHAIN.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import random  # noqa: E402
import shlex  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import augment  # noqa: E402
import colour  # noqa: E402
import cutpaste  # noqa: E402
import data as datasets  # noqa: E402
import dense  # noqa: E402
import synthetic  # noqa: E402
import precision as precisions  # noqa: E402
from common import LOG, setup  # noqa: E402
from evaluate import auroc_report, embed_u8, grid_patches  # noqa: E402
from export import build_manifest, dense_block, export_onnx, write_manifest  # noqa: E402
from model import Encoder, stem_for  # noqa: E402
from preprocess import normalize_float01, resize_u8  # noqa: E402

METHODS = ("rotation", "contrastive-da", "cutpaste", "cutpaste-scar", "cutpaste-3way", "cutpaste-dense")
NUM_CLASSES = {"rotation": 4, "contrastive-da": 0, "cutpaste": 2, "cutpaste-scar": 2, "cutpaste-3way": 3,
               "cutpaste-dense": synthetic.NUM_KINDS}
# Defaults of --epochs, --batch-size, --lr, --weight-decay: the dense method trains on 256 px images in
# small batches with a short warm-up (the settings of the prototype it was measured with, docs/encoders.md).
DEFAULTS = {"epochs": 10, "batch_size": 64, "lr": 0.05, "weight_decay": 5e-4, "warmup": 0.0}
DENSE_DEFAULTS = {"epochs": 60, "batch_size": 16, "lr": 0.03, "weight_decay": 1e-4, "warmup": 0.1}
DENSE_SIZE = 256
CIFAR_MEAN, CIFAR_STD = [0.4914, 0.4822, 0.4465], [0.247, 0.2435, 0.2616]
FMNIST_MEAN, FMNIST_STD = [0.286], [0.353]
TEMPERATURE = 0.2
# Default model input for folders of user images: the largest side of the training images, capped here.
MAX_DEFAULT_SIZE = 256
RUNS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")


def sha256_file(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--method", required=True, choices=METHODS)
    p.add_argument("--data", required=True, choices=("cifar10", "fashion-mnist", "mvtec", "folder"))
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    p.add_argument("--normal-class", type=int, default=0, help="cifar10 / fashion-mnist class trained on")
    p.add_argument("--mvtec-dir", default="magnetic_tile",
                   help="MVTec-layout folder: absolute, relative to the working directory, or under --data-root")
    p.add_argument("--train-dir", help="--data folder: the folder of good training images (subfolders included)")
    p.add_argument("--colour", choices=("auto", "rgb", "gray"), default="auto",
                   help="model colour space for mvtec/folder data; auto: gray when every training image is gray "
                        "(stored as gray, or as RGB with R = G = B), rgb otherwise")
    p.add_argument("--alpha", choices=colour.ALPHA_MODES, default=colour.DEFAULT_ALPHA,
                   help="images with alpha: flatten onto --background, or drop the alpha channel")
    p.add_argument("--background", type=colour.parse_background, default=colour.DEFAULT_BACKGROUND,
                   help="R,G,B (0-255) or #rrggbb that --alpha flatten composites onto (default 255,255,255)")
    p.add_argument("--image-size", type=int, default=0,
                   help="resize target (square); 0 = dataset native (mvtec/folder: largest training image side, "
                        f"at most {MAX_DEFAULT_SIZE}); cutpaste-dense: {DENSE_SIZE}")
    p.add_argument("--patch", type=int, default=0, help="train on random N x N crops (patch-level model)")
    p.add_argument("--width", type=float, default=0.25, help="ResNet-18 width multiplier")
    p.add_argument("--proj-dim", type=int, default=128)
    p.add_argument("--rotation-augment", choices=("flip", "droc"), default="flip",
                   help="rotation: augmentations before the four rotations; flip = horizontal flips only, "
                        "droc = Sohn et al.'s crop-and-resize, flip, colour jitter and grayscale")
    p.add_argument("--epochs", type=int, help="default 10; cutpaste-dense 60")
    p.add_argument("--budget-minutes", type=float,
                   help="training time limit in minutes: the epochs (the most: --epochs or its default) are cut to "
                        "what fits, planned from a timed probe of the training step and re-planned after every epoch; "
                        "the learning-rate schedule follows the plan (evaluation and export come on top)")
    p.add_argument("--batch-size", type=int,
                   help="source images per step (before rotations/augmented copies); default 64, cutpaste-dense 16")
    p.add_argument("--lr", type=float, help="peak learning rate; default 0.05, cutpaste-dense 0.03")
    p.add_argument("--weight-decay", type=float, help="default 5e-4; cutpaste-dense 1e-4")
    p.add_argument("--train-limit", type=int, default=0, help="use only the first N normal training images")
    p.add_argument("--test-limit", type=int, default=0, help="evaluate on a seeded random subset of N test images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads; 0 = all cores this process may use")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="CPU training precision: auto = bf16 autocast where the CPU has bf16 instructions and a "
                        "short probe finds it faster, else fp32 (the export is float32 either way)")
    p.add_argument("--channels-last", choices=("auto", "on", "off"), default="auto",
                   help="channels-last memory layout of model and inputs; auto = on for CPU training (1.1-1.5x "
                        "faster for most recipes on the project's AMD CPU, never measurably slower), off on CUDA")
    p.add_argument("--prefetch", type=int, default=1,
                   help="batches prepared ahead by a background thread (0 = prepare in the training loop)")
    p.add_argument("--amp", action="store_true", help="mixed precision on CUDA")
    p.add_argument("--out", required=True, help="output path prefix; writes <out>.onnx and <out>.json")
    p.add_argument("--checkpoint", help="where to write the PyTorch weights (default python-export/runs/<name of --out>.pt); "
                                        "the manifest records it relative to its own folder")
    args = p.parse_args(argv)
    if args.patch and (not args.method.startswith("cutpaste") or args.method == "cutpaste-dense"):
        p.error(f"--patch applies to the image-level cutpaste methods only, received --method {args.method}")
    if args.method == "cutpaste-dense":
        if args.data in ("cifar10", "fashion-mnist"):
            p.error(f"--method cutpaste-dense needs images of 128 px or more (--data mvtec or folder), received --data {args.data}")
        args.image_size = args.image_size or DENSE_SIZE
        if args.image_size < 128 or args.image_size % dense.SIZE_MULTIPLE:
            p.error(f"--method cutpaste-dense needs --image-size of at least 128 and a multiple of "
                    f"{dense.SIZE_MULTIPLE}, received {args.image_size}")
    defaults = DENSE_DEFAULTS if args.method == "cutpaste-dense" else DEFAULTS
    for key in ("epochs", "batch_size", "lr", "weight_decay"):
        if getattr(args, key) is None:
            setattr(args, key, defaults[key])
    args.warmup = defaults["warmup"]
    if args.epochs < 1 or args.batch_size < 1:
        p.error(f"--epochs and --batch-size must be >= 1, received {args.epochs} and {args.batch_size}")
    if args.budget_minutes is not None and not (args.budget_minutes > 0):
        p.error(f"--budget-minutes must be > 0, received {args.budget_minutes}")
    if args.data == "folder" and not args.train_dir:
        p.error("--data folder needs --train-dir <folder of good images>")
    if args.train_dir and args.data != "folder":
        p.error(f"--train-dir applies to --data folder, received --data {args.data}")
    if args.colour != "auto" and args.data in ("cifar10", "fashion-mnist"):
        p.error(f"--colour applies to --data mvtec/folder; {args.data} has a fixed colour space")
    if args.threads < 0 or args.prefetch < 0:
        p.error("--threads and --prefetch must be >= 0")
    return args


def resolve_dir(path: str, data_root: str) -> str:
    """An absolute path, a path relative to the working directory, or a folder under data_root."""
    if os.path.isabs(path):
        candidates = [path]
    else:
        candidates = [os.path.abspath(path), os.path.join(data_root, path)]
    for c in candidates:
        if os.path.isdir(c):
            return c
    raise SystemExit(f"folder {path!r} not found (looked for {' and '.join(candidates)})")


def load_files(args, train_paths, test_paths, test_labels, desc):
    """Image files (mvtec / folder) -> (train, test or None, size, channels, policy)."""
    if not train_paths:
        raise SystemExit(f"no training images found ({desc['train']}; extensions {', '.join(datasets.IMAGE_EXTENSIONS)})")
    if args.train_limit:
        train_paths = train_paths[:args.train_limit]
    family, max_side = datasets.survey(train_paths)
    space = family if args.colour == "auto" else args.colour
    channels = 3 if space == "rgb" else 1
    size = args.image_size or min(MAX_DEFAULT_SIZE, max_side)
    policy = colour.ColourPolicy(args.alpha, tuple(args.background))
    LOG.info("colour: training images are %s, model is %s (--colour %s)", family, space, args.colour)
    train = datasets.ImageSet(datasets.read_image_files(train_paths, channels, policy, size),
                              np.zeros(len(train_paths), dtype=np.int64), train_paths)
    test = None
    if test_paths:
        test = datasets.ImageSet(datasets.read_image_files(test_paths, channels, policy, size), test_labels, test_paths)
    desc.update(colourSpace=space, colourOfTrainingImages=family)
    return train, test, size, channels, policy


def load_data(args):
    """Returns (train ImageSet, test ImageSet or None with the reason, size, channels, mean, std, policy, description)."""
    root = args.data_root
    policy = colour.ColourPolicy(args.alpha, tuple(args.background))
    no_test = None
    if args.data == "cifar10":
        train, test = datasets.one_class_cifar(root, args.normal_class)
        size, mean, std, channels = args.image_size or 32, CIFAR_MEAN, CIFAR_STD, 3
        desc = {"dataset": "cifar10", "normalClass": args.normal_class,
                "normalClassName": datasets.CIFAR10_CLASSES[args.normal_class],
                "train": "cifar10/train_jpeg.bin (Pillow decode), normal class only",
                "test": "cifar10/test.bin, label = not normal class"}
    elif args.data == "fashion-mnist":
        train, test = datasets.one_class_fashion_mnist(root, args.normal_class)
        size, mean, std, channels = args.image_size or 28, FMNIST_MEAN, FMNIST_STD, 1
        desc = {"dataset": "fashion-mnist", "normalClass": args.normal_class}
    elif args.data == "mvtec":
        base = resolve_dir(args.mvtec_dir, root)
        desc = {"dataset": os.path.basename(os.path.normpath(base)), "layout": "mvtec", "folder": base,
                "train": "train/good", "test": "test/*, label = not good"}
        train_paths = datasets.list_images(os.path.join(base, "train", "good"))
        test_paths, test_labels = [], None
        if os.path.isdir(os.path.join(base, "test")):
            test_paths, test_labels, _ = datasets.mvtec_split(base, "test")
        train, test, size, channels, policy = load_files(args, train_paths, test_paths, test_labels, desc)
        mean = std = None
        if test is None:
            no_test = f"{base} has no test images (test/<good|defect>/)"
    else:
        base = resolve_dir(args.train_dir, os.getcwd())
        desc = {"dataset": os.path.basename(os.path.normpath(base)), "layout": "folder", "folder": base,
                "train": "every image under the folder", "test": None}
        train, test, size, channels, policy = load_files(args, datasets.list_images(base, recursive=True), [], None, desc)
        mean = std = None
        no_test = "--data folder has no test split"
    if args.train_limit:
        train.images, train.labels = train.images[:args.train_limit], train.labels[:args.train_limit]
    if test is not None and no_test is None and len(set(test.labels.tolist())) < 2:
        no_test = f"the test split has only {'good' if test.labels.max() == 0 else 'defective'} images"
    if no_test:
        test = None
    return train, test, no_test, size, channels, mean, std, policy, desc


def to_u8_batch(images, size):
    return np.stack([resize_u8(im, size, size) for im in images])


def nt_xent(z: torch.Tensor, n: int) -> torch.Tensor:
    """z: 2n x d, rows i and i+n are two views of one instance."""
    z = nn.functional.normalize(z.float(), dim=1)
    sim = z @ z.T / TEMPERATURE
    sim.fill_diagonal_(-1e9)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return nn.functional.cross_entropy(sim, target)


def train_step_inputs(method, xb, args, gen, rng, pool=None):
    """Float [0, 1] batch -> (network input batch, labels or None). cutpaste-dense: labels are
    (image-level kinds, per-position BCE targets); `pool` (the uint8 training images) gives the blobs' textures."""
    if method == "rotation":
        xb = augment.rotation_view(xb, gen) if args.rotation_augment == "droc" else augment.random_flip(xb, gen)
        return augment.all_rotations(xb)
    if method == "contrastive-da":
        rot, _ = augment.all_rotations(xb)
        return torch.cat([augment.contrastive_view(rot, gen), augment.contrastive_view(rot, gen)]), None
    xb = augment.random_flip(xb, gen)
    if method == "cutpaste-dense":
        # Surfaces have no up and down: vertical flips double the normal variety for free.
        xb = augment.random_vflip(xb, gen)
        x, masks, labels = synthetic.make_batch(xb.cpu(), pool, rng)
        grid = (xb.shape[2] // dense.STRIDE, xb.shape[3] // dense.STRIDE)
        return x.to(xb.device), (labels.to(xb.device), dense.target_grid(masks, grid).to(xb.device))
    if args.patch:
        xb = cutpaste.random_crops(xb, args.patch, rng)
    x, y = cutpaste.make_batch(xb.cpu(), method, rng)
    return x.to(xb.device), y.to(xb.device)


def batches(data_t, epochs, batch_size, method, args, mean, std, device, gen, rng, channels_last):
    """Every training batch, in order: (epoch, network input, labels or None, source images).
    All randomness of the data comes from `gen` and `rng` in this one sequence, so running it in a
    background thread (Prefetcher) gives the same batches as running it in the loop."""
    steps = max(1, len(data_t) // batch_size)
    for epoch in range(epochs):
        perm = torch.randperm(len(data_t), generator=gen)
        for b in range(steps):
            idx = perm[b * batch_size:(b + 1) * batch_size]
            xb = data_t[idx].to(device).float() / 255.0
            x, y = train_step_inputs(method, xb, args, gen, rng, data_t)
            x = normalize_float01(x, mean, std)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            yield epoch, x, y, len(idx)


class Prefetcher:
    """Runs an iterator in a background thread, `depth` items ahead. Data preparation (augmentations,
    CutPaste's per-image Python loop) then overlaps the training step, whose PyTorch kernels release
    the GIL. Exceptions in the thread are raised in the consumer."""

    _END = object()

    def __init__(self, iterator, depth: int):
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        """Blocks until the consumer takes room for `item`; False once close() was called."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, iterator):
        try:
            for item in iterator:
                if not self._put(item):
                    return
            self._put(self._END)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            self._put(e)

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self):
        self._stop.set()
        self._thread.join(timeout=5)


def make_step(method, device, cuda_amp):
    """One optimisation step: (model, optimizer, x, y, precision) -> loss tensor. Shared with
    bench_train.py and the precision probe so all three time the same thing."""
    scaler = torch.cuda.amp.GradScaler(enabled=cuda_amp and device.type == "cuda")

    def step(model, opt, x, y, precision):
        with precisions.autocast(device, precision, cuda_amp):
            if method == "cutpaste-dense":
                loss = dense.loss(model, x, *y)
            elif y is None:
                _, z = model(x)
                loss = nt_xent(z, x.shape[0] // 2)
            else:
                _, _, logits = model.logits(x)
                loss = nn.functional.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    return step


class BudgetPlan:
    """How many epochs fit `minutes` of training (None: no budget, all `max_epochs`). The first plan
    comes from a timed probe of the training step; after each epoch the plan is remade from the
    measured time per epoch: it may grow back (up to max_epochs) only after the first epoch, so the
    cosine schedule, which follows the plan, never jumps up late in training."""

    def __init__(self, minutes, max_epochs: int, steps_per_epoch: int):
        self.seconds = None if minutes is None else float(minutes) * 60.0
        self.max_epochs = max_epochs
        self.epochs = max_epochs
        self.steps_per_epoch = steps_per_epoch
        self.estimate = None

    def _fitting(self, seconds_per_epoch: float) -> int:
        return max(1, min(self.max_epochs, int(self.seconds // max(seconds_per_epoch, 1e-9))))

    def plan(self, seconds_per_step: float):
        self.estimate = seconds_per_step * self.steps_per_epoch
        self.epochs = self._fitting(self.estimate)
        return self.epochs

    def replan(self, done: int, elapsed: float) -> int:
        fit = self._fitting(elapsed / done)
        self.epochs = max(done, fit if done == 1 else min(self.epochs, fit))
        return self.epochs


def lr_factor(step: int, total: int, warmup: float) -> float:
    """Cosine decay to 0 over `total` steps, after a linear warm-up from 4 % over the first `warmup` fraction."""
    ramp = int(warmup * total)
    if step < ramp:
        return 0.04 + 0.96 * step / ramp
    t = min(step - ramp, total - ramp) / max(1, total - ramp)
    return 0.5 * (1 + math.cos(math.pi * t))


def main(argv=None):
    args = parse_args(argv)
    threads = args.threads or precisions.default_threads()
    device = setup(args.seed, threads)
    t0 = time.time()
    train, test, no_test, size, channels, mean, std, policy, data_desc = load_data(args)
    train_u8 = to_u8_batch(train.images, size)
    test_u8 = to_u8_batch(test.images, size) if test is not None else None
    if mean is None:  # user data: per-channel statistics of the training images, rounded for the manifest
        f = train_u8.reshape(-1, channels).astype(np.float64) / 255.0
        mean = [round(float(v), 4) for v in f.mean(0)]
        std = [round(max(float(v), 1e-3), 4) for v in f.std(0)]
    LOG.info("data: %d train, %s test, %dx%dx%d, mean %s std %s (%.1fs)", len(train_u8),
             len(test_u8) if test_u8 is not None else "no", size, size, channels, mean, std, time.time() - t0)
    if test_u8 is None:
        LOG.info("no test AUROC: %s", no_test)
        test_labels = None
    elif args.test_limit and args.test_limit < len(test_u8):
        keep = np.sort(np.random.default_rng(args.seed).choice(len(test_u8), args.test_limit, replace=False))
        test_u8, test_labels = test_u8[keep], test.labels[keep]
    else:
        test_labels = test.labels

    model_size = args.patch or size
    if args.patch and args.patch > size:
        raise SystemExit(f"--patch {args.patch} is larger than the image size {size}")
    stem = stem_for(model_size)
    num_classes = NUM_CLASSES[args.method]
    model_class = dense.DenseEncoder if args.method == "cutpaste-dense" else Encoder
    model = model_class(channels, args.width, stem, args.proj_dim, num_classes).to(device)
    n_params = sum(p.numel() for p in model.parameters())
    LOG.info("model: resnet18 width %.3g, stem %s, input %d, pooled %d, %d parameters", args.width, stem, model_size,
             model.backbone.out_dim, n_params)
    channels_last = args.channels_last == "on" or (args.channels_last == "auto" and device.type == "cpu")
    if channels_last:
        model = model.to(memory_format=torch.channels_last)

    step_fn = make_step(args.method, device, args.amp)
    data_t = torch.from_numpy(train_u8).permute(0, 3, 1, 2).contiguous()

    def probe_batch():
        # A fixed batch from its own generators: the probe must not move the training's random streams.
        g, r = torch.Generator().manual_seed(12345), random.Random(12345)
        _, x, y, _ = next(batches(data_t, 1, min(args.batch_size, len(data_t)), args.method, args, mean, std, device,
                                  g, r, channels_last))
        return x, y

    def probe(prec):
        x, y = probe_batch()
        return precisions.time_steps(step_fn, model, x, y, prec)

    prec, prec_record = precisions.choose(args.precision, device, probe)
    LOG.info("precision %s (%s); %d thread(s), channels-last %s, prefetch %d", prec, prec_record["reason"], threads,
             "on" if channels_last else "off", args.prefetch)

    steps_per_epoch = max(1, len(train_u8) // args.batch_size)
    budget = BudgetPlan(args.budget_minutes, args.epochs, steps_per_epoch)
    if budget.seconds is not None:
        x, y = probe_batch()
        budget.plan(x.shape[0] / precisions.time_steps(step_fn, model, x, y, prec))
        LOG.info("budget %.1f min: %d of at most %d epochs planned (probe: %.1f s per epoch)", args.budget_minutes,
                 budget.epochs, args.epochs, budget.estimate)
    total_steps = steps_per_epoch * budget.epochs
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True, weight_decay=args.weight_decay)
    # Reads total_steps at every step: a budget re-plan moves the cosine schedule's end.
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, total_steps, args.warmup))
    gen = torch.Generator().manual_seed(args.seed)
    rng = random.Random(args.seed)
    stream = batches(data_t, args.epochs, args.batch_size, args.method, args, mean, std, device, gen, rng, channels_last)
    prefetcher = Prefetcher(stream, args.prefetch) if args.prefetch else None

    t_train = time.time()
    src_images = net_images = 0
    epoch_seconds, losses, current, t_epoch = [], [], 0, time.time()

    def end_epoch(epoch):
        nonlocal losses, t_epoch, total_steps
        now = time.time()
        epoch_seconds.append(now - t_epoch)
        el = now - t_train
        LOG.info("epoch %d/%d loss %.4f %.1fs | %.0f source img/s, %.0f network img/s (fwd+bwd)", epoch + 1,
                 budget.epochs, float(np.mean(losses)), epoch_seconds[-1], src_images / el, net_images / el)
        losses, t_epoch = [], now
        if budget.seconds is not None:
            planned = budget.epochs
            if budget.replan(epoch + 1, el) != planned:
                total_steps = steps_per_epoch * budget.epochs
                LOG.info("budget: %d epochs now (%.1f s per epoch measured, %.1f of %.1f s used)", budget.epochs,
                         el / (epoch + 1), el, budget.seconds)

    model.train()
    try:
        for epoch, x, y, n_src in (prefetcher if prefetcher else stream):
            if epoch != current:
                end_epoch(current)
                current = epoch
                if epoch >= budget.epochs:  # the budget's plan ends here
                    current = None
                    break
            loss = step_fn(model, opt, x, y, prec)
            sched.step()
            src_images += n_src
            net_images += x.shape[0]
            losses.append(loss.item())
        if current is not None:
            end_epoch(current)
    finally:
        if prefetcher:
            prefetcher.close()
    train_seconds = time.time() - t_train

    t_eval = time.time()
    model.eval()
    if channels_last:
        model = model.to(memory_format=torch.contiguous_format)
    metrics = None
    if test_u8 is None:
        metrics_desc = f"not measured: {no_test}"
    elif args.patch:
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
    if metrics is not None:
        LOG.info("AUROC %s (%.1fs)", json.dumps(metrics), time.time() - t_eval)
    dense_metrics = None
    if args.method == "cutpaste-dense" and test_u8 is not None and args.data == "mvtec":
        import evaluate_dense
        dense_metrics = {"description": evaluate_dense.describe(),
                         **evaluate_dense.evaluate(model.cpu(), data_desc["folder"], channels, policy, size, mean, std)}

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = args.out + ".onnx"
    model = model.cpu().eval()
    # The PyTorch weights stay out of the repository (python-export/runs/ is ignored); make_fixtures.py
    # needs them to compute the reference vectors, and checks the hash recorded in the manifest.
    if args.checkpoint:
        ckpt_path = os.path.abspath(args.checkpoint)
        ckpt_record = os.path.relpath(ckpt_path, out_dir)
    else:
        ckpt_path = os.path.join(RUNS_DIR, os.path.basename(args.out) + ".pt")
        ckpt_record = os.path.relpath(ckpt_path, os.path.dirname(RUNS_DIR))
    os.makedirs(os.path.dirname(ckpt_path), exist_ok=True)
    torch.save({"state_dict": model.state_dict(), "channels": channels, "width": args.width, "stem": stem,
                "proj_dim": args.proj_dim, "num_classes": num_classes, "size": model_size, "method": args.method},
               ckpt_path)
    export_onnx(model, onnx_path, channels, model_size)
    training = {
        "method": args.method,
        "data": dict(data_desc, trainImages=int(len(train_u8)), resizedTo=size,
                     patch=args.patch or None),
        "epochs": budget.epochs, "batchSize": args.batch_size,
        "budgetMinutes": args.budget_minutes,
        "maxEpochs": args.epochs if args.budget_minutes is not None else None,
        "lr": args.lr, "weightDecay": args.weight_decay,
        "seed": args.seed,
        "optimizer": "SGD nesterov momentum 0.9, cosine schedule" + (
            f" after a linear warm-up over {args.warmup:.0%} of the steps" if args.warmup else ""),
        "temperature": TEMPERATURE if args.method == "contrastive-da" else None,
        "device": str(device), "threads": threads, "torch": torch.__version__, "platform": platform.machine(),
        "precision": prec_record, "channelsLast": channels_last, "prefetch": args.prefetch,
        "trainSeconds": round(train_seconds, 1),
        "epochSeconds": [round(s, 1) for s in epoch_seconds],
        "secondsPerEpoch": round(train_seconds / max(1, budget.epochs), 2),
        "sourceImagesPerSecond": round(src_images / train_seconds, 1),
        "networkImagesPerSecond": round(net_images / train_seconds, 1),
        "parameters": n_params,
        "checkpoint": {"file": ckpt_record, "sha256": sha256_file(ckpt_path)},
        "command": "/usr/bin/python3 " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__, os.getcwd())] + (argv or sys.argv[1:])),
    }
    if metrics is None:
        metric_block = {"auroc": None, "description": metrics_desc}
    else:
        metric_block = {"auroc": metrics, "description": metrics_desc,
                        "testImages": int(len(test_u8)), "testAnomalies": int(test_labels.sum()),
                        "detectors": "knn1: 1 - max cosine similarity; kde: Gaussian KDE gamma 10 on unit vectors; "
                                     "gde: Ledoit-Wolf Mahalanobis"}
    if dense_metrics is not None:
        metric_block["dense"] = dense_metrics
    manifest = build_manifest(onnx_file=onnx_path, channels=channels, size=model_size, mean=mean, std=std,
                              width=args.width, stem=stem, pooled_dim=model.backbone.out_dim, proj_dim=args.proj_dim,
                              decode=policy.manifest_block(), training=training, metrics=metric_block,
                              dense=dense_block(model, model_size) if isinstance(model, dense.DenseEncoder) else None)
    if args.patch:
        manifest["preprocess"]["patchFrom"] = {"resize": {"height": size, "width": size},
                                               "note": "crops of the image resized to this size, same resize method"}
    write_manifest(args.out + ".json", manifest)
    LOG.info("wrote %s (%d bytes) and %s.json; total %.1fs", onnx_path, os.path.getsize(onnx_path), args.out,
             time.time() - t0)


if __name__ == "__main__":
    main()
