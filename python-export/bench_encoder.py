"""PyTorch side of bench/encoder-throughput.mjs: the same model on the same images, timed the same way
(decode with Pillow + preprocess.py resize/normalize + forward pass, per batch), on CPU.

Reads a JSON job on stdin: {"model": "models/<name>.onnx", "items": [{"path": ...} | {"bin": ..., "offset": o,
"length": n}], "batchSizes": [...], "threads": t, "repeat": r} and prints {"batchSize": images/s, ...} as JSON.
Needs the PyTorch checkpoint that train.py wrote (python-export/runs/<name>.pt).
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import colour  # noqa: E402
from make_fixtures import load_torch_model  # noqa: E402
from preprocess import preprocess_images  # noqa: E402


def main():
    job = json.load(sys.stdin)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(int(job.get("threads", 1)))
    name = os.path.splitext(os.path.basename(job["model"]))[0]
    model, manifest = load_torch_model(name)
    inp, pre = manifest["input"], manifest["preprocess"]
    policy = colour.ColourPolicy.from_manifest(pre.get("decode"))
    blobs = {}
    items = job["items"]
    for it in items:  # the container files are read once up front, as the Node side holds them as Buffers
        if "bin" in it and it["bin"] not in blobs:
            blobs[it["bin"]] = open(it["bin"], "rb").read()

    def decode(it):
        if "path" in it:
            return colour.decode_file(it["path"], inp["channels"], policy)
        return colour.decode_to_model(blobs[it["bin"]][it["offset"]:it["offset"] + it["length"]], inp["channels"], policy)

    out = {}
    with torch.no_grad():
        # Warm-up, as on the Node side: first-call allocations and kernel selection are not throughput.
        warm = [decode(it) for it in items[:8]]
        model(preprocess_images(warm, inp["height"], inp["width"], pre["mean"], pre["std"]))
        model(preprocess_images(warm[:1], inp["height"], inp["width"], pre["mean"], pre["std"]))
        for bs in job["batchSizes"]:
            best = float("inf")
            for _ in range(int(job.get("repeat", 1))):
                t0 = time.perf_counter()
                for i in range(0, len(items), bs):
                    x = preprocess_images([decode(it) for it in items[i:i + bs]], inp["height"], inp["width"],
                                          pre["mean"], pre["std"])
                    model(x)
                best = min(best, time.perf_counter() - t0)
            out[str(bs)] = len(items) / best
    json.dump({"imagesPerSecond": out, "torch": torch.__version__, "threads": torch.get_num_threads()}, sys.stdout)


if __name__ == "__main__":
    main()
