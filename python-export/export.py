"""ONNX export (opset 17, dynamic batch axis) and the manifest JSON written beside each model.

The manifest is the contract with src/encoder/manifest.ts: the Node encoder validates it and
reproduces "preprocess" exactly. Bump MANIFEST_VERSION when a field changes meaning.
"""
import inspect
import json
import os

import torch

from model import ExportWrapper
from preprocess import RESIZE_METHOD

MANIFEST_FORMAT = "oneclass-encoder"
MANIFEST_VERSION = 1
INPUT_NAME = "image"
OUTPUT_NAMES = ("pooled", "projection")


def export_onnx(encoder, path: str, channels: int, size: int):
    wrapper = ExportWrapper(encoder).cpu().eval()
    dummy = torch.zeros(2, channels, size, size)
    # Recent PyTorch (2.9+) defaults to the dynamo exporter, which needs onnxscript; the TorchScript
    # exporter is what torch 1.13 has, so ask for it explicitly wherever the choice exists.
    extra = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(wrapper, dummy, path, opset_version=17, input_names=[INPUT_NAME], **extra,
                      output_names=list(OUTPUT_NAMES),
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAMES[0]: {0: "batch"},
                                    OUTPUT_NAMES[1]: {0: "batch"}},
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def build_manifest(*, onnx_file, channels, size, mean, std, width, stem, pooled_dim, proj_dim, training, metrics,
                   decode=None):
    """`decode`: colour.ColourPolicy.manifest_block() (the default policy when None)."""
    if decode is None:
        from colour import ColourPolicy
        decode = ColourPolicy().manifest_block()
    return {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "model": os.path.basename(onnx_file),
        "architecture": {"name": "resnet18", "width": width, "stem": stem, "head": "mlp"},
        "input": {"name": INPUT_NAME, "layout": "NCHW", "dtype": "float32", "channels": channels,
                  "height": size, "width": size, "colorSpace": "rgb" if channels == 3 else "gray"},
        "preprocess": {
            "decode": decode,
            "resize": {"method": RESIZE_METHOD, "height": size, "width": size},
            "scale": "1/255",
            "mean": list(mean),
            "std": list(std),
            "formula": "float32(((u8 / 255) - mean[c]) / std[c]), rounded to float32 after each operation",
        },
        "outputs": [
            {"name": OUTPUT_NAMES[0], "size": pooled_dim, "description": "global-average-pooled backbone features"},
            {"name": OUTPUT_NAMES[1], "size": proj_dim, "description": "MLP projection head output"},
        ],
        "training": training,
        "metrics": metrics,
    }


def write_manifest(path: str, manifest: dict):
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
