"""Patch features of real images for the memory-bank benchmarks (bench/coreset.mjs): the shipped
magnetic-tile encoder's stage-2 and stage-3 feature maps, each averaged over 3x3 neighbourhoods,
the coarser one upsampled to the finer grid and concatenated, as PatchCore builds its memory bank.
At 256 px that is a 32 x 32 grid of 96-d features per image (32 + 64 channels of the width-0.25
ResNet-18): 752 training images give 770,048 rows.

The ONNX graph (batch norms folded into the convolutions) is evaluated op by op with PyTorch, so
no ONNX runtime is needed. Images are resized with PIL's bilinear filter (close to, not the same
as, the encoder's own preprocessing: these are benchmark data, not model outputs).

    /usr/bin/python3 bench/patch_features.py OUT.f32 [--images 752] [--size 256]

Writes images x 1024 x 96 float32 values, row-major, and prints a JSON line with the shape.
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def stage_outputs(model, x):
    """Runs the backbone's Conv/Relu/MaxPool/Add nodes; returns the outputs of the 4th and 6th
    residual blocks (the ends of ResNet stages 2 and 3)."""
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    env = {model.graph.input[0].name: x}
    adds, outs = 0, []
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        args = [env[n] if n in env else init.get(n) for n in node.input]
        op = node.op_type
        if op == "Conv":
            pads = attrs.get("pads", [0, 0, 0, 0])
            y = F.conv2d(args[0], args[1], args[2] if len(args) > 2 else None, stride=attrs.get("strides", 1),
                         padding=(pads[0], pads[1]), dilation=attrs.get("dilations", 1), groups=attrs.get("group", 1))
        elif op == "Relu":
            y = torch.relu(args[0])
            if adds in (4, 6) and node.input[0] == last_add:
                outs.append(y)
                if adds == 6:
                    return outs
        elif op == "MaxPool":
            pads = attrs.get("pads", [0, 0, 0, 0])
            y = F.max_pool2d(args[0], attrs["kernel_shape"], attrs.get("strides", 1), (pads[0], pads[1]))
        elif op == "Add":
            y = args[0] + args[1]
            adds += 1
            last_add = node.output[0]
        else:
            raise RuntimeError(f"unexpected op {op} before the end of stage 3")
        env[node.output[0]] = y
    raise RuntimeError("stage 3 not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--images", type=int, default=752)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "magnetic-tile-cutpaste3way.onnx"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    model = onnx.load(args.model)
    with open(args.model[:-5] + ".json") as f:
        manifest = json.load(f)
    mean, std = manifest["preprocess"]["mean"][0], manifest["preprocess"]["std"][0]
    folder = os.path.join(args.data, "magnetic_tile", "train", "good")
    names = sorted(os.listdir(folder))[:args.images]
    rows = 0
    with open(args.out, "wb") as out, torch.no_grad():
        for b in range(0, len(names), 32):
            batch = []
            for name in names[b:b + 32]:
                img = Image.open(os.path.join(folder, name)).convert("L").resize((args.size, args.size), Image.BILINEAR)
                batch.append((np.asarray(img, dtype=np.float32) / 255.0 - mean) / std)
            x = torch.from_numpy(np.stack(batch)[:, None])
            s2, s3 = stage_outputs(model, x)
            s2 = F.avg_pool2d(s2, 3, 1, 1)
            s3 = F.interpolate(F.avg_pool2d(s3, 3, 1, 1), size=s2.shape[-2:], mode="bilinear", align_corners=False)
            feats = torch.cat([s2, s3], 1).permute(0, 2, 3, 1).reshape(-1, s2.shape[1] + s3.shape[1])
            out.write(np.ascontiguousarray(feats.numpy(), dtype=np.float32).tobytes())
            rows += feats.shape[0]
            dim = feats.shape[1]
    print(json.dumps({"rows": rows, "cols": dim, "images": len(names), "grid": args.size // 8}))


if __name__ == "__main__":
    main()
