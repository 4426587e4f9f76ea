"""Reference vectors for the Node encoder parity tests (test/encoder-parity.test.ts).

For each committed model, embeds a few real images from ../shared/data with PyTorch (the
checkpoint written by train.py, python-export/runs/<name>.pt, whose sha256 the manifest records)
and writes test/fixtures/encoder/<name>.safetensors:
  pooled, projection   float32 reference embeddings (PyTorch, CPU, float32)
  patch_scores, patch_features   dense encoders only: the two dense outputs (3 images, to keep the file small)
  metadata             which images, sha256 of the exact float32 model input, model sha256,
                       and resize cases (sha256 of uint8 resize outputs) for the resize parity test.
Run from the repository root after make_models.sh:
  /usr/bin/python3 python-export/make_fixtures.py
  /usr/bin/python3 python-export/make_fixtures.py --only magnetic-tile-cutpaste-dense   # one model's fixture
"""
import argparse
import csv
import hashlib
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import colour  # noqa: E402
import data as datasets  # noqa: E402
from common import setup  # noqa: E402
from dense import DenseEncoder  # noqa: E402
from model import Encoder  # noqa: E402
from evaluate import grid_patches  # noqa: E402
from preprocess import preprocess_images, resize_u8  # noqa: E402
from refs import st_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MODELS = os.path.join(REPO, "models")
OUT = os.path.join(REPO, "test", "fixtures", "encoder")


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def sha256_file(path: str) -> str:
    with open(path, "rb") as f:
        return sha256_bytes(f.read())


def load_torch_model(name: str):
    manifest = json.load(open(os.path.join(MODELS, name + ".json")))
    ckpt_file = os.path.join(HERE, manifest["training"]["checkpoint"]["file"])
    if sha256_file(ckpt_file) != manifest["training"]["checkpoint"]["sha256"]:
        raise SystemExit(f"{ckpt_file}: sha256 differs from the manifest's; rerun make_models.sh")
    ckpt = torch.load(ckpt_file, map_location="cpu")
    model_class = DenseEncoder if ckpt.get("method") == "cutpaste-dense" else Encoder
    model = model_class(ckpt["channels"], ckpt["width"], ckpt["stem"], ckpt["proj_dim"], ckpt["num_classes"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), manifest


@torch.no_grad()
def reference(name: str, images, extra_meta: dict):
    model, manifest = load_torch_model(name)
    inp = manifest["input"]
    pre = manifest["preprocess"]
    x = preprocess_images(images, inp["height"], inp["width"], pre["mean"], pre["std"])
    tensors = {}
    if isinstance(model, DenseEncoder):
        pooled, proj, scores, features = model.dense(x)
        tensors.update(patch_scores=scores.numpy(), patch_features=features.numpy())
        extra_meta = dict(extra_meta, dense=manifest["dense"])
    else:
        pooled, proj = model(x)
    meta = dict(extra_meta, model=f"models/{name}.onnx", modelSha256=sha256_file(os.path.join(MODELS, name + ".onnx")),
                inputSha256=sha256_bytes(x.numpy().astype("<f4").tobytes()), inputShape=list(x.shape),
                torch=torch.__version__)
    path = os.path.join(OUT, name + ".safetensors")
    st_io.save(path, {"pooled": pooled.numpy(), "projection": proj.numpy(), **tensors}, meta)
    print(f"wrote {path}: {len(images)} images, input sha256 {meta['inputSha256'][:12]}...")


def cifar_fixture(root: str, name: str, count: int):
    """Original test images 0..count-1: pixels from test.bin (= Pillow decode of the JPEG), and where
    the same image's JPEG sits in test_jpeg.bin so the Node test can also decode it with sharp."""
    cifar = os.path.join(root, "cifar10")
    test = datasets.read_cifar10_bin(os.path.join(cifar, "test.bin"), limit=count)
    index = list(csv.DictReader(open(os.path.join(cifar, "test_index.csv"))))
    jpeg_rows = list(csv.DictReader(open(os.path.join(cifar, "test_jpeg.csv"))))
    blob = open(os.path.join(cifar, "test_jpeg.bin"), "rb").read()
    jpegs = []
    for rec in range(count):
        label, rank = int(index[rec]["label"]), int(index[rec]["class_rank"])
        row = jpeg_rows[label * 1000 + rank]
        assert int(row["label"]) == label and int(row["class_rank"]) == rank, row
        off, n = int(row["offset"]), int(row["length"])
        decoded = colour.decode_to_model(blob[off:off + n], 3)
        if not np.array_equal(decoded, test.images[rec]):
            raise SystemExit(f"test.bin record {rec} differs from the Pillow decode of its JPEG")
        jpegs.append([off, n])
    reference(name, test.images, {"source": "cifar10/test.bin", "records": list(range(count)),
                                  "jpegSource": "cifar10/test_jpeg.bin", "jpegOffsetLength": jpegs})


def mvtec_fixture(root: str, name: str, rel_files):
    images = [colour.decode_file(os.path.join(root, f), 1) for f in rel_files]
    reference(name, images, {"source": "magnetic_tile", "files": list(rel_files),
                             "sizes": [list(im.shape) for im in images]})


def patch_fixture(root: str, name: str, rel_files):
    """Patch-level model: whole image resized to manifest preprocess.patchFrom, non-overlapping grid patches."""
    manifest = json.load(open(os.path.join(MODELS, name + ".json")))
    frm = manifest["preprocess"]["patchFrom"]["resize"]
    size = manifest["input"]["height"]
    patches = []
    for f in rel_files:
        im = resize_u8(colour.decode_file(os.path.join(root, f), 1), frm["height"], frm["width"])
        p, _ = grid_patches(im[None], size, size)
        patches.extend(list(p))
    reference(name, patches, {"source": "magnetic_tile", "files": list(rel_files), "patchFrom": frm,
                              "patchSize": size, "patchStride": size})


def resize_cases(root: str, rel_files, targets):
    cases = []
    for f in rel_files:
        im = colour.decode_file(os.path.join(root, f), 1)
        for h, w in targets:
            out = resize_u8(im, h, w)
            cases.append({"file": f, "height": h, "width": w, "sha256": sha256_bytes(out.tobytes())})
    path = os.path.join(OUT, "resize-cases.json")
    with open(path, "w") as fh:
        json.dump({"method": "triangle-fixed14", "source": "python-export/preprocess.py resize_u8",
                   "decoder": "Pillow", "cases": cases}, fh, indent=1)
        fh.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    p.add_argument("--only", help="write only this model's fixture (a name in models/, without .onnx)")
    args = p.parse_args()
    setup(0, 1)
    os.makedirs(OUT, exist_ok=True)
    root = args.data_root
    mt_files = ["magnetic_tile/test/good/" + sorted(os.listdir(os.path.join(root, "magnetic_tile/test/good")))[0]]
    for kind in ("blowhole", "break", "crack", "fray", "uneven"):
        mt_files.append(f"magnetic_tile/test/{kind}/" + sorted(os.listdir(os.path.join(root, "magnetic_tile/test", kind)))[0])
    mt_files.append("magnetic_tile/train/good/" + sorted(os.listdir(os.path.join(root, "magnetic_tile/train/good")))[0])
    mt_files.append("magnetic_tile/train/good/" + sorted(os.listdir(os.path.join(root, "magnetic_tile/train/good")))[1])
    def wanted(name):
        return (args.only is None or args.only == name) and os.path.exists(os.path.join(MODELS, name + ".json"))

    for name in ("cifar10-airplane-rotation", "cifar10-airplane-contrastive-da"):
        if wanted(name):
            cifar_fixture(root, name, 16)
    for name in ("magnetic-tile-cutpaste3way",):
        if wanted(name):
            mvtec_fixture(root, name, mt_files)
    if wanted("magnetic-tile-cutpaste3way-patch64"):
        patch_fixture(root, "magnetic-tile-cutpaste3way-patch64", mt_files[1:3])
    if wanted("magnetic-tile-cutpaste-dense"):
        # A good tile, a thin crack and a large uneven area: the three kinds of map the Node side draws.
        mvtec_fixture(root, "magnetic-tile-cutpaste-dense", [mt_files[0], mt_files[3], mt_files[5]])
    if args.only is None:
        resize_cases(root, mt_files[:3], [(128, 128), (256, 256), (64, 100), (500, 700), (33, 17)])


if __name__ == "__main__":
    main()
