#!/usr/bin/env bash
# The one-class protocol on all ten Fashion-MNIST classes: one rotation-prediction encoder per
# normal class (width 0.25, 3,000 training images of the class, 6 epochs, seed 0, one CPU
# thread, 2-3 minutes each), then `oneclass eval` with KDE, GDE, 1-NN and the OC-SVM on the full
# 10,000-image test set. Encoders go to python-export/runs/fmnist/ (not committed), results to
# bench/pipeline-results/.
#
#   bash scripts/fmnist-all-classes.sh [train|eval|all]     (default all)
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data}
RUNS=python-export/runs/fmnist
mkdir -p "$RUNS" bench/pipeline-results
export OMP_WAIT_POLICY=PASSIVE
step=${1:-all}

if [ "$step" = train ] || [ "$step" = all ]; then
  for c in 0 1 2 3 4 5 6 7 8 9; do
    [ -f "$RUNS/fmnist-c$c-rotation.onnx" ] && continue
    /usr/bin/python3 python-export/train.py --method rotation --data fashion-mnist --data-root "$DATA" --normal-class "$c" \
      --train-limit 3000 --epochs 6 --seed 0 --out "$RUNS/fmnist-c$c-rotation" 2>&1 | tail -n 3
  done
fi

if [ "$step" = eval ] || [ "$step" = all ]; then
  for c in 0 1 2 3 4 5 6 7 8 9; do
    [ -f "$RUNS/fmnist-c$c-rotation.onnx" ] || continue
    for det in kde gde knn ocsvm; do
      node dist/cli/main.js eval --encoder "$RUNS/fmnist-c$c-rotation.onnx" --dataset fashion-mnist \
        --data "$DATA/fashion-mnist" --normal-class "$c" --detector "$det" --device cpu --json --quiet \
        > "bench/pipeline-results/fmnist-own-encoder-c$c-$det.json"
    done
  done
fi
