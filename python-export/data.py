"""Readers for the datasets in ../shared/data (see shared/data/README.md) and the one-class split.

All readers return uint8 images as H x W x C numpy arrays (C = 3 for RGB, 1 for grayscale) so
that the same preprocessing (preprocess.py) runs on every source, and labels as numpy arrays.
Image files are decoded by colour.py to the model's colour space, exactly as the Node encoder
decodes them (Pillow underneath, which is how the CIFAR-10 binary files were made).
"""
import csv
import gzip
import os
import struct
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np
from PIL import Image

import colour
from preprocess import resize_u8

DEFAULT_DATA_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_CIFAR_RECORD = 3073
# Extensions of image files in folders, as src/encoder/folder.ts lists them.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif")


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
            images.append(colour.decode_to_model(blob[off:off + n], 3))
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


def list_images(folder: str, recursive: bool = False) -> List[str]:
    """Image files of a folder (by extension), sorted by path."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{folder}: no such folder")
    if recursive:
        found = [os.path.join(d, f) for d, _, files in os.walk(folder) for f in files]
    else:
        found = [os.path.join(folder, f) for f in os.listdir(folder)]
    return sorted(f for f in found if os.path.isfile(f) and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)


def survey(paths: List[str]):
    """(colour family 'gray' or 'rgb', largest side) of a set of image files. The family is 'gray'
    when every file stores gray samples, or colour samples with R = G = B everywhere (so a gray
    camera saved as RGB trains a 1-channel model). Reads headers; decodes pixels only of files stored
    as colour, and only until one with real colour is found."""
    family, max_side = "gray", 0
    for p in paths:
        with Image.open(p) as im:
            max_side = max(max_side, *im.size)
            stored_gray = im.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L")
        if family == "gray" and not stored_gray and colour.file_colour_family(p) == "rgb":
            family = "rgb"
    return family, max_side


def read_image_files(paths: List[str], channels: int, policy: colour.ColourPolicy, size: int) -> List[np.ndarray]:
    """Decodes each file to `channels` by `policy` and resizes it to size x size at once (so a large
    dataset is held at model size, not at file size)."""
    return [resize_u8(colour.decode_file(p, channels, policy), size, size) for p in paths]


def mvtec_split(root: str, split: str):
    """MVTec AD layout: <root>/train/good/*, <root>/test/<good|defect>/*, ground_truth/<defect>/<stem>_mask.png.
    Returns (paths, labels 0 good / 1 defective, mask paths or None)."""
    base = os.path.join(root, split)
    if not os.path.isdir(base):
        raise FileNotFoundError(f"{base}: no such MVTec split folder")
    paths, labels, masks = [], [], []
    for kind in sorted(os.listdir(base)):
        if not os.path.isdir(os.path.join(base, kind)):
            continue
        for path in list_images(os.path.join(base, kind)):
            paths.append(path)
            labels.append(0 if kind == "good" else 1)
            stem = os.path.splitext(os.path.basename(path))[0]
            masks.append(None if kind == "good" else os.path.join(root, "ground_truth", kind, f"{stem}_mask.png"))
    return paths, np.array(labels, dtype=np.int64), masks


def read_mvtec(root: str, split: str, channels: int = 1, policy: colour.ColourPolicy = colour.ColourPolicy(),
               size: int = 0) -> ImageSet:
    """An MVTec split decoded to `channels` (resized to size x size when size > 0)."""
    paths, labels, masks = mvtec_split(root, split)
    if size:
        images = read_image_files(paths, channels, policy, size)
    else:
        images = [colour.decode_file(p, channels, policy) for p in paths]
    return ImageSet(images, labels, paths, masks)


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
