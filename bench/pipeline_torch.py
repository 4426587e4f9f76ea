"""Python side of bench/pipeline.mjs: the same two-stage pipeline in PyTorch + scikit-learn, on the
same images, timed the same way (end-to-end scoring: Pillow decode, python-export/preprocess.py
resize/normalize, PyTorch forward pass, L2 normalization, sklearn KernelDensity.score_samples).

Reads a JSON job on stdin: {"model": "<name>", "train": [paths], "test": [paths], "threads": t,
"repeat": r, "batchSize": b} and prints {"imagesPerSecond": ..., "fitSeconds": ..., "scores": [...]}.
Bandwidth: the 'droc' rule of src/detectors/kde.ts (gamma = 10 / (Var(X) d), h = 1 / sqrt(2 gamma)).
Needs the PyTorch checkpoint python-export/runs/<name>.pt (written by make_models.sh).
"""
import json
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.neighbors import KernelDensity  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "python-export"))

from make_fixtures import load_torch_model  # noqa: E402
from preprocess import preprocess_images  # noqa: E402


def main():
    job = json.load(sys.stdin)
    torch.set_num_threads(int(job.get("threads", 2)))
    model, manifest = load_torch_model(job["model"])
    inp, pre = manifest["input"], manifest["preprocess"]
    mode = "RGB" if inp["channels"] == 3 else "L"
    bs = int(job.get("batchSize", 32))

    def decode(path):
        im = Image.open(path)
        im.load()
        if im.mode != mode:
            im = im.convert(mode)
        a = np.asarray(im, dtype=np.uint8)
        return a.reshape(a.shape[0], a.shape[1], -1)

    @torch.no_grad()
    def embed(paths):
        out = []
        for i in range(0, len(paths), bs):
            x = preprocess_images([decode(p) for p in paths[i:i + bs]], inp["height"], inp["width"], pre["mean"], pre["std"])
            pooled, _ = model(x)
            out.append(pooled.numpy().astype(np.float64))
        e = np.concatenate(out)
        return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)

    t0 = time.perf_counter()
    train = embed(job["train"])
    gamma = 10.0 / (train.var() * train.shape[1])
    h = 1.0 / np.sqrt(2 * gamma)
    kde = KernelDensity(kernel="gaussian", bandwidth=h).fit(train)
    fit_seconds = time.perf_counter() - t0

    embed(job["test"][:bs])  # warm-up, as on the Node side
    best = float("inf")
    scores = None
    for _ in range(int(job.get("repeat", 3))):
        t = time.perf_counter()
        scores = -kde.score_samples(embed(job["test"]))
        best = min(best, time.perf_counter() - t)
    json.dump({"imagesPerSecond": len(job["test"]) / best, "fitSeconds": fit_seconds, "bandwidth": h, "scores": scores.tolist(),
               "torch": torch.__version__, "threads": torch.get_num_threads()}, sys.stdout)


if __name__ == "__main__":
    main()
