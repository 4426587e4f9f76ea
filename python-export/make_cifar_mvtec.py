"""Builds an RGB dataset in the MVTec AD folder layout from real CIFAR-10 JPEG files, for trying
train.py and the CLI on colour images as a user's data would come:

  <out>/train/good/<rank>.jpg          training images of the normal class (CIFAR-10 training set)
  <out>/test/good/<rank>.jpg           test images of the normal class (CIFAR-10 test set)
  <out>/test/<other class>/<rank>.jpg  test images of every other class: the "defects"

The files are the original JPEG bytes from ../shared/data/cifar10/{train,test}_jpeg.bin (32x32 RGB),
copied unchanged. No ground_truth masks (image-level labels only). Example:
  /usr/bin/python3 python-export/make_cifar_mvtec.py --normal-class 0 --out /tmp/cifar-airplane
  /usr/bin/python3 python-export/train.py --method rotation --data mvtec --mvtec-dir /tmp/cifar-airplane \\
      --epochs 2 --out /tmp/cifar-airplane-rotation
"""
import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data as datasets  # noqa: E402


def rows_by_class(csv_path):
    out = {}
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            out.setdefault(int(row["label"]), []).append(row)
    return out


def copy_rows(blob, rows, folder):
    os.makedirs(folder, exist_ok=True)
    for row in rows:
        off, n = int(row["offset"]), int(row["length"])
        with open(os.path.join(folder, f"{int(row['class_rank']):04d}.jpg"), "wb") as f:
            f.write(blob[off:off + n])
    return len(rows)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--normal-class", type=int, default=0, help="CIFAR-10 class used as 'good' (0 airplane ... 9 truck)")
    p.add_argument("--out", required=True, help="folder to create (must not exist)")
    p.add_argument("--train", type=int, default=1000, help="good training images (up to 5000)")
    p.add_argument("--test-good", type=int, default=200, help="good test images (up to 1000)")
    p.add_argument("--test-per-defect", type=int, default=25, help="test images of each other class (up to 1000)")
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    args = p.parse_args(argv)
    if not 0 <= args.normal_class <= 9:
        p.error(f"--normal-class must be 0..9, received {args.normal_class}")
    if os.path.exists(args.out):
        p.error(f"{args.out} exists; choose a new folder")
    cifar = os.path.join(args.data_root, "cifar10")
    train_blob = open(os.path.join(cifar, "train_jpeg.bin"), "rb").read()
    test_blob = open(os.path.join(cifar, "test_jpeg.bin"), "rb").read()
    train_rows = rows_by_class(os.path.join(cifar, "train_jpeg.csv"))
    test_rows = rows_by_class(os.path.join(cifar, "test_jpeg.csv"))
    k = args.normal_class
    n_train = copy_rows(train_blob, train_rows[k][:args.train], os.path.join(args.out, "train", "good"))
    n_good = copy_rows(test_blob, test_rows[k][:args.test_good], os.path.join(args.out, "test", "good"))
    n_bad = 0
    for label, name in enumerate(datasets.CIFAR10_CLASSES):
        if label != k:
            n_bad += copy_rows(test_blob, test_rows[label][:args.test_per_defect], os.path.join(args.out, "test", name))
    print(f"{args.out}: {n_train} train/good, {n_good} test/good, {n_bad} test defects "
          f"({datasets.CIFAR10_CLASSES[k]} is good)")


if __name__ == "__main__":
    main()
