#!/usr/bin/env bash
# The one-class protocol on all ten CIFAR-10 classes: one rotation-prediction encoder per normal
# class (the same recipe as models/cifar10-airplane-rotation: width 0.25, 6 epochs, seed 0, one
# CPU thread, about 5 minutes each), then `oneclass eval` with KDE, GDE, 1-NN and the OC-SVM on the full
# 10,000-image test set. Encoders go to python-export/runs/cifar10/ (not committed; the
# airplane one is models/cifar10-airplane-rotation), results to bench/pipeline-results/.
#
#   bash scripts/cifar10-all-classes.sh [train|eval|all]     (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
RUNS=python-export/runs/cifar10
mkdir -p "$RUNS" bench/pipeline-results
export OMP_WAIT_POLICY=PASSIVE
step=${1:-all}

encoder() { # class -> encoder path
  if [ "$1" = 0 ]; then echo models/cifar10-airplane-rotation.onnx; else echo "$RUNS/cifar10-c$1-rotation.onnx"; fi
}

if [ "$step" = train ] || [ "$step" = all ]; then
  for c in 1 2 3 4 5 6 7 8 9; do
    [ -f "$(encoder $c)" ] && continue
    /usr/bin/python3 python-export/train.py --method rotation --data cifar10 --data-root "$DATA" --normal-class "$c" \
      --epochs 6 --seed 0 --out "$RUNS/cifar10-c$c-rotation" 2>&1 | tail -n 3
  done
fi

if [ "$step" = eval ] || [ "$step" = all ]; then
  for c in 0 1 2 3 4 5 6 7 8 9; do
    for det in kde gde knn ocsvm; do
      node dist/cli/main.js eval --encoder "$(encoder $c)" --dataset cifar10 --data "$DATA/cifar10" \
        --normal-class "$c" --detector "$det" --device cpu --json --quiet > "bench/pipeline-results/cifar10-own-encoder-c$c-$det.json"
    done
  done
fi
