"""CPU training throughput of the stage-1 encoders, measured in one run so the ratios are comparable.

Suites (default: both):
  precision  one training step (forward, backward, SGD) of the rotation classifier on a batch of 128
             random 32x32 RGB images, for ResNet-18 width 0.25 (the shipped architecture) and width 1
             (full): float32 vs bf16 autocast, each with and without channels-last. bf16 is run even
             where the CPU lacks bf16 instructions, to show what train.py's --precision auto avoids.
  methods    train.py's real step (its augmentations, losses and batch preparation, on real images from
             ../shared/data): rotation and contrastive-DA at width 1, 0.5 and 0.25 on 32x32 CIFAR-10, and the
             CutPaste 3-way model (width 0.25) at 128 px and on 64 px patches of 256 px images, each with
             batch preparation in the loop (--prefetch 0), in a background thread (--prefetch 1), and
             in a thread with channels-last.

Configurations are run in interleaved rounds (--rounds) and the best round is reported, because the
project machines are shared; read the figures as ratios within one run. A configuration whose first
step takes longer than --slow-seconds (emulated bf16 on a CPU without bf16 instructions: minutes per
step at full width) is reported from that one step instead of being repeated. Prints a table and,
with --json, writes all figures. Example:
  nice /usr/bin/python3 python-export/bench_train.py --suite precision --json bench/out/train-precision.json
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch loads OpenMP (see train.py)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import colour  # noqa: E402
import data as datasets  # noqa: E402
import precision as precisions  # noqa: E402
import train  # noqa: E402
from model import Encoder, stem_for  # noqa: E402


class Config:
    def __init__(self, name, **kw):
        self.name = name
        self.__dict__.update(kw)


def precision_configs():
    out = []
    for width in (0.25, 1.0):
        for prec in ("fp32", "bf16"):
            for cl in (False, True):
                out.append(Config(f"width {width:g} {prec}{' channels-last' if cl else ''}", suite="precision",
                                  width=width, precision=prec, channels_last=cl, batch=128, size=32))
    return out


METHOD_VARIANTS = ((0, False), (1, False), (1, True))  # (prefetch, channels-last)


def method_configs():
    out = []

    def add(base, **kw):
        for prefetch, cl in METHOD_VARIANTS:
            out.append(Config(f"{base} prefetch {prefetch}{' channels-last' if cl else ''}", suite="methods",
                              prefetch=prefetch, channels_last=cl, batch=64, **kw))

    for method in ("rotation", "contrastive-da"):
        for width in (1.0, 0.5, 0.25):
            add(f"{method} width {width:g} 32px", method=method, width=width, data="cifar10", size=32, patch=0)
    for size, patch in ((128, 0), (256, 64)):
        what = f"{patch}px patches of {size}px" if patch else f"{size}px"
        add(f"cutpaste-3way width 0.25 {what}", method="cutpaste-3way", width=0.25, data="mvtec", size=size,
            patch=patch)
    return out


class PrecisionRun:
    """The rotation classifier's step on a fixed random batch."""

    def __init__(self, c):
        torch.manual_seed(0)
        self.c = c
        self.model = Encoder(3, c.width, "cifar", 128, 4)
        fmt = torch.channels_last if c.channels_last else torch.contiguous_format
        self.model = self.model.to(memory_format=fmt).train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.x = torch.randn(c.batch, 3, c.size, c.size).contiguous(memory_format=fmt)
        self.y = torch.randint(0, 4, (c.batch,))
        self.step_fn = train.make_step("rotation", torch.device("cpu"), False)

    def steps(self, n):
        """Runs n steps; returns (source images, network images)."""
        for _ in range(n):
            self.step_fn(self.model, self.opt, self.x, self.y, self.c.precision)
        return n * self.c.batch, n * self.c.batch


class MethodRun:
    """train.py's batches() stream and step, on real data, fp32 (what --precision auto picks here)."""

    _cache = {}

    def __init__(self, c, data_root):
        self.c = c
        images, mean, std = self._data(c, data_root)
        args = argparse.Namespace(patch=c.patch)
        model_size = c.patch or c.size
        channels = images.shape[1]
        self.model = Encoder(channels, c.width, stem_for(model_size), 128, train.NUM_CLASSES[c.method]).train()
        if c.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.step_fn = train.make_step(c.method, torch.device("cpu"), False)
        stream = train.batches(images, 10 ** 6, c.batch, c.method, args, mean, std, torch.device("cpu"),
                               torch.Generator().manual_seed(0), random.Random(0), c.channels_last)
        self.prefetcher = train.Prefetcher(stream, c.prefetch) if c.prefetch else None
        self.it = iter(self.prefetcher) if self.prefetcher else stream

    @classmethod
    def _data(cls, c, root):
        key = (c.data, c.size)
        if key not in cls._cache:
            if c.data == "cifar10":
                cifar = os.path.join(root, "cifar10")
                s = datasets.read_jpeg_container(os.path.join(cifar, "train_jpeg.bin"),
                                                 os.path.join(cifar, "train_jpeg.csv"), 0)
                u8 = np.stack(s.images[:1024])
                mean, std = train.CIFAR_MEAN, train.CIFAR_STD
            else:
                paths = datasets.list_images(os.path.join(root, "magnetic_tile", "train", "good"))[:256]
                u8 = np.stack(datasets.read_image_files(paths, 1, colour.ColourPolicy(), c.size))
                mean, std = [0.5], [0.25]
            cls._cache[key] = (torch.from_numpy(u8).permute(0, 3, 1, 2).contiguous(), mean, std)
        return cls._cache[key]

    def steps(self, n):
        src = net = 0
        for _ in range(n):
            _, x, y, n_src = next(self.it)
            self.step_fn(self.model, self.opt, x, y, "fp32")
            src += n_src
            net += x.shape[0]
        return src, net

    def close(self):
        if self.prefetcher:
            self.prefetcher.close()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", choices=("precision", "methods", "all"), default="all")
    p.add_argument("--threads", type=int, default=0, help="0 = all cores this process may use")
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds over all configurations; best is reported")
    p.add_argument("--min-seconds", type=float, default=4.0, help="time at least this long per configuration and round")
    p.add_argument("--max-steps", type=int, default=20)
    p.add_argument("--slow-seconds", type=float, default=60.0,
                   help="a configuration whose first step takes longer is measured by that step alone")
    p.add_argument("--only", default="",
                   help="run only configurations whose name contains one of these comma-separated texts")
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    p.add_argument("--json", help="write the figures to this file")
    args = p.parse_args()
    threads = args.threads or precisions.default_threads()
    torch.set_num_threads(threads)
    configs = []
    if args.suite in ("precision", "all"):
        configs += precision_configs()
    if args.suite in ("methods", "all"):
        configs += method_configs()
    patterns = [t.strip() for t in args.only.split(",") if t.strip()]
    configs = [c for c in configs if not patterns or any(t in c.name for t in patterns)]
    ok, why = precisions.native_bf16()
    print(f"torch {torch.__version__}, {threads} thread(s), {platform.processor() or platform.machine()}; {why}",
          flush=True)
    runs = {}
    best = {c.name: None for c in configs}
    slow = set()

    def record(c, fig):
        if best[c.name] is None or fig["networkImagesPerSecond"] > best[c.name]["networkImagesPerSecond"]:
            best[c.name] = fig

    for r in range(args.rounds):
        for c in configs:
            if c.name in slow:
                continue
            if c.name not in runs:
                runs[c.name] = PrecisionRun(c) if c.suite == "precision" else MethodRun(c, args.data_root)
                t = time.perf_counter()
                s, k = runs[c.name].steps(1)  # warm-up: oneDNN primitive creation, allocator growth
                dt = time.perf_counter() - t
                if dt > args.slow_seconds:
                    slow.add(c.name)
                    record(c, {"sourceImagesPerSecond": s / dt, "networkImagesPerSecond": k / dt, "steps": 1,
                               "seconds": dt, "note": "one step (first step, slower than --slow-seconds)"})
                    print(f"round {r + 1} {c.name}: {k / dt:.1f} network img/s from its first step alone ({dt:.0f} s)",
                          flush=True)
                    continue
            run = runs[c.name]
            src = net = n = 0
            t = time.perf_counter()
            while n < 1 or (time.perf_counter() - t < args.min_seconds and n < args.max_steps):
                s, k = run.steps(1)
                src, net, n = src + s, net + k, n + 1
            dt = time.perf_counter() - t
            record(c, {"sourceImagesPerSecond": src / dt, "networkImagesPerSecond": net / dt, "steps": n, "seconds": dt})
            print(f"round {r + 1} {c.name}: {net / dt:.1f} network img/s ({src / dt:.1f} source) over {n} step(s)",
                  flush=True)
    for run in runs.values():
        if hasattr(run, "close"):
            run.close()

    print("\nbest of", args.rounds, "round(s):")
    for c in configs:
        f = best[c.name]
        extra = ""
        if c.suite == "precision":
            ref = best.get(f"width {c.width:g} fp32")
            extra = f"  x{f['networkImagesPerSecond'] / ref['networkImagesPerSecond']:.2f} vs fp32" if ref else ""
        elif c.prefetch or c.channels_last:
            ref = best.get(c.name.replace("prefetch 1", "prefetch 0").replace(" channels-last", ""))
            extra = f"  x{f['networkImagesPerSecond'] / ref['networkImagesPerSecond']:.2f} vs prefetch 0" if ref else ""
        if "note" in f:
            extra += "  (one step)"
        print(f"  {c.name:58s} {f['networkImagesPerSecond']:8.1f} network img/s {f['sourceImagesPerSecond']:8.1f} source img/s{extra}")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"torch": torch.__version__, "threads": threads, "cpu": why, "rounds": args.rounds,
                       "results": {c.name: best[c.name] for c in configs}}, fh, indent=1)
            fh.write("\n")


if __name__ == "__main__":
    main()
