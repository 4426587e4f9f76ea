#!/bin/sh
# Reproduces every number in docs/results.md: `oneclass eval` with the encoders in models/ on
# CIFAR-10, Fashion-MNIST and magnetic tile (../shared/data). Writes one JSON per run into
# bench/pipeline-results/. Run from the repository root after `npm run build:ts`.
# About 15 minutes on the 2-core development machine.
set -e
CLI="node dist/cli/main.js"
DATA=${DATA:-../shared/data}
OUT=bench/pipeline-results
mkdir -p "$OUT"

# CIFAR-10, one-class protocol, normal class 0 (airplane): the class the encoders were trained on.
# Full test set (10,000 images); detectors fitted on the 1,000 airplane images of train.bin.
for enc in rotation contrastive-da; do
  for det in kde gde knn; do
    $CLI eval --encoder models/cifar10-airplane-$enc.onnx --dataset cifar10 --data $DATA/cifar10 \
      --normal-class 0 --detector $det --device cpu --json > $OUT/cifar10-$enc-$det-class0.json
  done
done
# Other normal classes with the airplane-trained encoders (transfer, not the papers' protocol,
# which trains one encoder per class).
for c in 1 2 3 4 5 6 7 8 9; do
  $CLI eval --encoder models/cifar10-airplane-rotation.onnx --dataset cifar10 --data $DATA/cifar10 \
    --normal-class $c --detector knn --device cpu --json > $OUT/cifar10-rotation-knn-class$c.json
done

# Fashion-MNIST with the CIFAR-10 rotation encoder (gray repeated to RGB, 28 -> 32 px): no
# Fashion-MNIST encoder exists in models/. All 6,000 training images of the class, 10,000 test.
for c in 0 1 2 3 4 5 6 7 8 9; do
  $CLI eval --encoder models/cifar10-airplane-rotation.onnx --dataset fashion-mnist --data $DATA/fashion-mnist \
    --channels 3 --normal-class $c --detector knn --device cpu --json > $OUT/fmnist-rotation-knn-class$c.json
done

# Magnetic tile (MVTec layout): image + pixel metrics. All 752 training images; the test set
# subsampled (stratified, seed 0) to 300 of 592 images to bound pixel-metric memory (about 30 M
# pixels). Default localization geometry: image resized to 256, 128 px patches at stride 32 (5 x 5).
for det in knn kde gde; do
  $CLI eval --encoder models/magnetic-tile-cutpaste3way.onnx --dataset mvtec --data $DATA/magnetic_tile \
    --detector $det --localize --pixel --test-limit 300 --device cpu --json > $OUT/magnetic-tile-cutpaste3way-$det.json
done
# Variants: 64 px patches upsampled to the 128 px input; one detector per patch position; image
# score = heatmap maximum; the small patch-level encoder (64 px patches of the 256 px image).
$CLI eval --encoder models/magnetic-tile-cutpaste3way.onnx --dataset mvtec --data $DATA/magnetic_tile \
  --detector knn --localize --pixel --test-limit 300 --device cpu --patch-size 64 --stride 32 --json > $OUT/magnetic-tile-cutpaste3way-knn-patch64-upsampled.json
$CLI eval --encoder models/magnetic-tile-cutpaste3way.onnx --dataset mvtec --data $DATA/magnetic_tile \
  --detector knn --localize --per-position --pixel --test-limit 300 --device cpu --json > $OUT/magnetic-tile-cutpaste3way-knn-per-position.json
$CLI eval --encoder models/magnetic-tile-cutpaste3way.onnx --dataset mvtec --data $DATA/magnetic_tile \
  --detector knn --localize --image-score heatmap-max --pixel --test-limit 300 --device cpu --json > $OUT/magnetic-tile-cutpaste3way-knn-heatmap-max.json
$CLI eval --encoder models/magnetic-tile-cutpaste3way-patch64.onnx --dataset mvtec --data $DATA/magnetic_tile \
  --detector knn --localize --pixel --test-limit 300 --device cpu --json > $OUT/magnetic-tile-cutpaste3way-patch64-knn.json
echo done
