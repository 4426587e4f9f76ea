#!/bin/sh
# Regenerates the encoders committed under models/ (CPU, one thread as they were trained, about 40 minutes in total on
# the 2-core project machine). Run from the repository root. Logs go to python-export/runs/.
# The same commands are listed in models/README.md; each manifest also records its own command.
set -e
export OMP_WAIT_POLICY=PASSIVE
PY=/usr/bin/python3
mkdir -p python-export/runs
$PY python-export/train.py --method rotation --data cifar10 --normal-class 0 --epochs 6 --seed 0 --threads 1 \
  --out models/cifar10-airplane-rotation 2>&1 | tee python-export/runs/cifar10-airplane-rotation.log
$PY python-export/train.py --method contrastive-da --data cifar10 --normal-class 0 --train-limit 2000 --epochs 5 --seed 0 --threads 1 \
  --out models/cifar10-airplane-contrastive-da 2>&1 | tee python-export/runs/cifar10-airplane-contrastive-da.log
$PY python-export/train.py --method cutpaste-3way --data mvtec --mvtec-dir magnetic_tile --image-size 128 --epochs 25 --seed 0 --threads 1 \
  --out models/magnetic-tile-cutpaste3way 2>&1 | tee python-export/runs/magnetic-tile-cutpaste3way.log
$PY python-export/train.py --method cutpaste-3way --data mvtec --mvtec-dir magnetic_tile --image-size 256 --patch 64 --epochs 18 --seed 0 --threads 1 \
  --out models/magnetic-tile-cutpaste3way-patch64 2>&1 | tee python-export/runs/magnetic-tile-cutpaste3way-patch64.log
$PY python-export/train.py --method cutpaste-dense --data mvtec --mvtec-dir magnetic_tile --epochs 60 --seed 0 --threads 1 \
  --out models/magnetic-tile-cutpaste-dense 2>&1 | tee python-export/runs/magnetic-tile-cutpaste-dense.log
