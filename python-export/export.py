"""ONNX export (opset 17, dynamic batch axis) and the manifest JSON written beside each model.

The manifest is the contract with src/encoder/manifest.ts: the Node encoder validates it and
reproduces "preprocess" exactly. Bump MANIFEST_VERSION when a field changes meaning.

Dense encoders (dense.py) have two more outputs, patch_scores N x gh x gw and patch_features
N x D x gh x gw, described by the manifest's "dense" block (grid, stride, receptive field, one entry
per output); the Node encoder ignores fields it does not know, so other readers are unaffected.
Models without it export exactly as before.
"""
import inspect
import json
import os

import torch

from dense import DenseEncoder, DenseExportWrapper, receptive_field
from model import ExportWrapper
from preprocess import RESIZE_METHOD

MANIFEST_FORMAT = "oneclass-encoder"
MANIFEST_VERSION = 1
INPUT_NAME = "image"
OUTPUT_NAMES = ("pooled", "projection")
DENSE_OUTPUT_NAMES = ("patch_scores", "patch_features")


def export_onnx(encoder, path: str, channels: int, size: int):
    is_dense = isinstance(encoder, DenseEncoder)
    wrapper = (DenseExportWrapper if is_dense else ExportWrapper)(encoder).cpu().eval()
    names = OUTPUT_NAMES + (DENSE_OUTPUT_NAMES if is_dense else ())
    dummy = torch.zeros(2, channels, size, size)
    # Recent PyTorch (2.9+) defaults to the dynamo exporter, which needs onnxscript; the TorchScript
    # exporter is what torch 1.13 has, so ask for it explicitly wherever the choice exists.
    extra = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    torch.onnx.export(wrapper, dummy, path, opset_version=17, input_names=[INPUT_NAME], **extra,
                      output_names=list(names),
                      dynamic_axes={INPUT_NAME: {0: "batch"}, **{name: {0: "batch"} for name in names}},
                      do_constant_folding=True)
    import onnx
    onnx.checker.check_model(onnx.load(path))


def dense_block(encoder: DenseEncoder, size: int) -> dict:
    """The manifest's "dense" block: the grid the two dense outputs share, its geometry, the outputs."""
    with torch.no_grad():
        _, _, scores, features = encoder.cpu().eval().dense(torch.zeros(1, encoder.backbone.stem[0].in_channels,
                                                                            size, size))
    gh, gw = scores.shape[1:]
    rf = receptive_field(encoder)
    stride = rf["stride"]
    if gh * stride != size or gw * stride != size:
        raise ValueError(f"dense grid {gh}x{gw} at stride {stride} does not tile the {size}px input")
    where = (f"Position (i, j) covers the input pixels centred at ((j + 0.5) * {stride}, (i + 0.5) * {stride}) "
             f"of the {size}x{size} model input.")
    return {
        "grid": {"height": int(gh), "width": int(gw)},
        "stride": stride,
        "receptiveField": rf["features"],
        "outputs": [
            {"name": DENSE_OUTPUT_NAMES[0], "kind": "scores", "channels": 1,
             "description": f"float32 [N, {gh}, {gw}]: the dense head's logit per grid position, trained to mark "
                            f"synthetic defects; higher = more anomalous. {where} Theoretical receptive field "
                            f"{rf['scores']} px."},
            {"name": DENSE_OUTPUT_NAMES[1], "kind": "features", "channels": int(features.shape[1]),
             "description": f"float32 [N, {features.shape[1]}, {gh}, {gw}]: stage 2 ({rf['layer2']} px field) "
                            f"concatenated with stage 3 upsampled bilinearly to its grid, then 3x3 average-pooled "
                            f"(stride 1, zero padding counted), for patch detectors (k-NN memory bank, Gaussian per "
                            f"position). {where} Theoretical receptive field {rf['features']} px (the block's "
                            f"receptiveField: the larger of the two outputs')."},
        ],
    }


def build_manifest(*, onnx_file, channels, size, mean, std, width, stem, pooled_dim, proj_dim, training, metrics,
                   decode=None, dense=None):
    """`decode`: colour.ColourPolicy.manifest_block() (the default policy when None); `dense`: dense_block()
    for dense encoders, else None (no "dense" key)."""
    if decode is None:
        from colour import ColourPolicy
        decode = ColourPolicy().manifest_block()
    manifest = {
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
    if dense is not None:
        manifest["dense"] = dense
    return manifest


def write_manifest(path: str, manifest: dict):
    with open(path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
