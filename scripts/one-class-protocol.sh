#!/usr/bin/env bash
# The papers' one-class protocol on all ten classes of CIFAR-10 or Fashion-MNIST: one
# rotation-prediction encoder per normal class (ResNet-18 width 0.25, 6 epochs, seed 0, one CPU
# thread), then KDE, GDE, 1-NN and the OC-SVM through the CLI's fit on the full 10,000-image test
# set (bench/one-class-protocol.mjs). Encoders go to python-export/runs/<dataset>/ (not committed),
# results (one JSON per class and detector) to bench/pipeline-results/, tables: node
# bench/pipeline-results-table.mjs.
#
#   bash scripts/one-class-protocol.sh cifar10|fashion-mnist [train|eval|all]
#
# CIFAR-10: the class's 5,000 training JPEGs, 3.7-4 min per class on the AVX-512 machine of
# 2026-11-29, 9.5-11 min on the 2-vCPU Zen 3 of 2026-12-02 (two classes at a time); class 0 reuses the committed
# models/cifar10-airplane-rotation (the same recipe). Fashion-MNIST: 3,000 training images of the
# class, about 100 s per class.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
dataset=${1:?usage: one-class-protocol.sh cifar10|fashion-mnist [train|eval|all]}
step=${2:-all}
case "$dataset" in
  cifar10) tag=cifar10; runs=python-export/runs/cifar10; train_args=() ;;
  fashion-mnist) tag=fmnist; runs=python-export/runs/fmnist; train_args=(--train-limit 3000) ;;
  *) echo "unknown dataset '$dataset' (cifar10 or fashion-mnist)" >&2; exit 2 ;;
esac
mkdir -p "$runs" bench/pipeline-results
export OMP_WAIT_POLICY=PASSIVE

encoder() { # class -> encoder path
  if [ "$tag" = cifar10 ] && [ "$1" = 0 ]; then echo models/cifar10-airplane-rotation.onnx; else echo "$runs/$tag-c$1-rotation.onnx"; fi
}

if [ "$step" = train ] || [ "$step" = all ]; then
  for c in 0 1 2 3 4 5 6 7 8 9; do
    [ -f "$(encoder "$c")" ] && continue
    /usr/bin/python3 python-export/train.py --method rotation --data "$dataset" --data-root "$DATA" --normal-class "$c" \
      "${train_args[@]}" --epochs 6 --seed 0 --threads 1 --out "$runs/$tag-c$c-rotation" 2>&1 | tail -n 3
  done
fi

if [ "$step" = eval ] || [ "$step" = all ]; then
  # Every detector from one embedding pass per class; the same numbers as `oneclass eval --encoder E
  # --dataset D --normal-class c --detector K` (the script says how, and --check-cli compares).
  # Writes bench/pipeline-results/$tag-own-encoder-<views>-c<c>-<detector>.json; VIEWS=none for
  # the image alone (default: the CLI's, four quarter turns for these rotation encoders).
  node bench/one-class-protocol.mjs --dataset "$dataset" --views "${VIEWS:-auto}"
fi
