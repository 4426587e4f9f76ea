"""A tiny random-init dense encoder for the Node tests (test/dense-*.test.ts), and its PyTorch outputs.

Not a trained model: three strided convolutions (64 px gray input -> an 8 x 8 grid at stride 8) with
the dense contract of the manifest (docs/encoders.md): outputs pooled [N, 16], projection [N, 8],
patch_scores [N, 8, 8] (a 1x1 head) and patch_features [N, 16, 8, 8] (3x3 average-pooled), dynamic
batch. It is small (a few kB) so it can be committed, and seeded so this script rewrites the same
files. Beside the model, test/fixtures/dense/tiny-dense.safetensors holds two fixed uint8 images and
the four outputs PyTorch computes for them (preprocessed by preprocess.py, as the Node encoder must).

Run from the repository root:
  /usr/bin/python3 python-export/make_dense_fixture.py
"""
import inspect
import json
import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from preprocess import RESIZE_METHOD, preprocess_images  # noqa: E402
from refs import st_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "test", "fixtures", "dense")
SIZE, STRIDE, DIM, PROJ = 64, 8, 16, 8
MEAN, STD = 0.45, 0.2
NAMES = ["pooled", "projection", "patch_scores", "patch_features"]


class TinyDense(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Conv2d(1, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 16, 3, 2, 1), nn.ReLU(),
                                   nn.Conv2d(16, DIM, 3, 2, 1), nn.ReLU())
        self.head = nn.Linear(DIM, PROJ)
        self.scores = nn.Conv2d(DIM, 1, 1)

    def forward(self, x):
        f = self.trunk(x)
        feats = F.avg_pool2d(f, 3, 1, 1)
        pooled = feats.mean((2, 3))
        return pooled, self.head(pooled), self.scores(f)[:, 0], feats


def main():
    torch.manual_seed(12)
    net = TinyDense().eval()
    os.makedirs(OUT, exist_ok=True)
    onnx_file = os.path.join(OUT, "tiny-dense.onnx")
    extra = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(net, torch.zeros(2, 1, SIZE, SIZE), onnx_file, opset_version=17, input_names=["image"],
                      output_names=NAMES, dynamic_axes={n: {0: "batch"} for n in ["image"] + NAMES},
                      do_constant_folding=True, **extra)
    grid = SIZE // STRIDE
    manifest = {
        "format": "oneclass-encoder", "version": 1, "model": "tiny-dense.onnx",
        "architecture": {"name": "tiny-dense-fixture", "note": "random init, for tests only"},
        "input": {"name": "image", "layout": "NCHW", "dtype": "float32", "channels": 1, "height": SIZE,
                  "width": SIZE, "colorSpace": "gray"},
        "preprocess": {"resize": {"method": RESIZE_METHOD, "height": SIZE, "width": SIZE}, "scale": "1/255",
                       "mean": [MEAN], "std": [STD]},
        "outputs": [{"name": "pooled", "size": DIM}, {"name": "projection", "size": PROJ}],
        "dense": {"grid": {"height": grid, "width": grid}, "stride": STRIDE, "receptiveField": 15 + 2 * STRIDE,
                  "outputs": [{"name": "patch_scores", "kind": "scores", "channels": 1,
                               "description": "1x1 head logit per position (random init)"},
                              {"name": "patch_features", "kind": "features", "channels": DIM,
                               "description": "3x3 average-pooled features (random init)"}]},
    }
    with open(os.path.join(OUT, "tiny-dense.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    rng = np.random.default_rng(12)
    # Smooth-ish images (a gradient plus noise) so features vary over the grid.
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    images = [np.clip(100 + 60 * np.sin(xx / (7 + 3 * k)) + rng.normal(0, 20, (SIZE, SIZE)), 0, 255).astype(np.uint8)
              for k in range(2)]
    x = preprocess_images([im[:, :, None] for im in images], SIZE, SIZE, [MEAN], [STD])
    with torch.no_grad():
        outs = net(x)
    st_io.save(os.path.join(OUT, "tiny-dense.safetensors"),
               {"images": np.stack(images), **{n: o.numpy().astype(np.float32) for n, o in zip(NAMES, outs)}},
               {"torch": torch.__version__, "model": "test/fixtures/dense/tiny-dense.onnx"})
    print("wrote", OUT)


if __name__ == "__main__":
    main()
