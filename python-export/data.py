"""Readers for the datasets in ../shared/data (see shared/data/README.md) and the one-class split.

All readers return uint8 images as H x W x C numpy arrays (C = 3 for RGB, 1 for grayscale) so
that the same preprocessing (preprocess.py) runs on every source, and labels as numpy arrays.
JPEG files are decoded with Pillow's defaults, which is how the CIFAR-10 binary files were made.
"""
import csv
import gzip
import io
import os
import struct
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from PIL import Image

DEFAULT_DATA_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_CIFAR_RECORD = 3073


@dataclass
class ImageSet:
    images: List[np.ndarray]              # each H x W x C uint8
    labels: np.ndarray                    # int64 class labels, or 0 good / 1 defect for MVTec
    names: List[str] = field(default_factory=list)  # file paths or record ids, for logs and fixtures
    masks: Optional[List[Optional[str]]] = None     # MVTec ground-truth mask paths (None for good)


def read_cifar10_bin(path: str, limit: Optional[int] = None) -> ImageSet:
    """CIFAR-10 binary layout: per record 1 label byte, then R, G, B planes of 32 x 32."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % _CIFAR_RECORD:
        raise ValueError(f"{path}: size {raw.size} is not a multiple of the CIFAR record size {_CIFAR_RECORD}")
    rec = raw.reshape(-1, _CIFAR_RECORD)[:limit]
    labels = rec[:, 0].astype(np.int64)
    pixels = rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    images = [np.ascontiguousarray(p) for p in pixels]
    return ImageSet(images, labels, [f"{os.path.basename(path)}#{i}" for i in range(len(images))])


def read_jpeg_container(bin_path: str, csv_path: str, label: Optional[int] = None) -> ImageSet:
    """CIFAR-10 JPEG container: concatenated JPEG files indexed by offset,length,label,... rows."""
    with open(bin_path, "rb") as f:
        blob = f.read()
    images, labels, names = [], [], []
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            lab = int(row["label"])
            if label is not None and lab != label:
                continue
            off, n = int(row["offset"]), int(row["length"])
            images.append(decode_image_bytes(blob[off:off + n], "RGB"))
            labels.append(lab)
            names.append(f"{os.path.basename(bin_path)}@{off}+{n}")
    return ImageSet(images, np.array(labels, dtype=np.int64), names)


def read_idx_images(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 0x803:
        raise ValueError(f"{path}: IDX image magic 0x{magic:x}, expected 0x803")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols, 1)


def read_idx_labels(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    if magic != 0x801:
        raise ValueError(f"{path}: IDX label magic 0x{magic:x}, expected 0x801")
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def read_fashion_mnist(root: str, split: str) -> ImageSet:
    prefix = "train" if split == "train" else "t10k"
    images = read_idx_images(os.path.join(root, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx_labels(os.path.join(root, f"{prefix}-labels-idx1-ubyte.gz"))
    return ImageSet([np.ascontiguousarray(im) for im in images], labels,
                    [f"fashion-mnist/{prefix}#{i}" for i in range(len(labels))])


def decode_image_bytes(data: bytes, mode: str) -> np.ndarray:
    im = Image.open(io.BytesIO(data))
    im.load()
    if im.mode != mode:
        # Only palette/alpha-free conversions within the same colour family are expected here;
        # the Node encoder refuses gray<->RGB mismatches instead of converting (docs/encoders.md).
        raise ValueError(f"image is {im.mode}, expected {mode}")
    arr = np.asarray(im, dtype=np.uint8)
    return arr.reshape(arr.shape[0], arr.shape[1], -1).copy()


def decode_image_file(path: str, mode: str) -> np.ndarray:
    with open(path, "rb") as f:
        try:
            return decode_image_bytes(f.read(), mode)
        except ValueError as e:
            raise ValueError(f"{path}: {e}") from None


def read_mvtec(root: str, split: str, mode: str = "L") -> ImageSet:
    """MVTec AD layout: <root>/train/good/*, <root>/test/<good|defect>/*, ground_truth/<defect>/<stem>_mask.png.
    Labels: 0 good, 1 defective."""
    base = os.path.join(root, split)
    if not os.path.isdir(base):
        raise FileNotFoundError(f"{base}: no such MVTec split folder")
    images, labels, names, masks = [], [], [], []
    for kind in sorted(os.listdir(base)):
        for fn in sorted(os.listdir(os.path.join(base, kind))):
            path = os.path.join(base, kind, fn)
            images.append(decode_image_file(path, mode))
            labels.append(0 if kind == "good" else 1)
            names.append(path)
            stem = os.path.splitext(fn)[0]
            masks.append(None if kind == "good" else os.path.join(root, "ground_truth", kind, f"{stem}_mask.png"))
    return ImageSet(images, np.array(labels, dtype=np.int64), names, masks)


def one_class_cifar(root: str, normal_class: int, train_limit: Optional[int] = None):
    """One-class protocol: train on the normal class only (all 5,000 training JPEGs of it), test on
    the full test set with label 0 = normal class, 1 = any other class."""
    cifar = os.path.join(root, "cifar10")
    train = read_jpeg_container(os.path.join(cifar, "train_jpeg.bin"), os.path.join(cifar, "train_jpeg.csv"), normal_class)
    if train_limit:
        train = ImageSet(train.images[:train_limit], train.labels[:train_limit], train.names[:train_limit])
    test = read_cifar10_bin(os.path.join(cifar, "test.bin"))
    test.labels = (test.labels != normal_class).astype(np.int64)
    return train, test


def one_class_fashion_mnist(root: str, normal_class: int):
    fm = os.path.join(root, "fashion-mnist")
    train = read_fashion_mnist(fm, "train")
    keep = np.nonzero(train.labels == normal_class)[0]
    train = ImageSet([train.images[i] for i in keep], train.labels[keep], [train.names[i] for i in keep])
    test = read_fashion_mnist(fm, "test")
    test.labels = (test.labels != normal_class).astype(np.int64)
    return train, test
