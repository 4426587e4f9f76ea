#!/usr/bin/env bash
# The prepared GPU check: on a bare machine with nvcc, CMake and a GPU (no Node.js needed),
# build the native core for the local GPU, run every GPU-vs-CPU test and the GPU benchmarks,
# and write everything under $OUT (default ./gpu-results).
#
#   device run:  bash scripts/gpu-check.sh            (OUT is set by the device tool)
#   options:     ARCH=90 (compute capability to build for), SIZES="10000 5000 512" (N M D)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-results}
ARCH=${ARCH:-90}
SIZES=${SIZES:-"10000 5000 512"}
mkdir -p "$OUT"
log="$OUT/gpu-check.log"
{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -n 2
  cmake --version | head -n 1
} | tee "$log"

build=build-gpu
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DONECLASS_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES="$ARCH" \
  >>"$log" 2>&1 && cmake --build "$build" -j "$(nproc)" >>"$log" 2>&1
if [ $? -ne 0 ]; then
  echo "build failed; see $log" | tee -a "$log"
  tail -n 40 "$log"
  exit 1
fi

status=0
for t in test_ops test_fitting test_preprocess test_cuda_vs_cpu test_ocsvm test_coreset test_positional_gaussian; do
  [ -x "$build/$t" ] || continue
  echo "== $t" | tee -a "$log"
  args=()
  case "$t" in test_ocsvm | test_coreset | test_positional_gaussian) args=(test/fixtures) ;; esac
  "$build/$t" "${args[@]}" 2>&1 | tee -a "$log" "$OUT/$t.txt" || status=1
done

echo "== bench_native $SIZES" | tee -a "$log"
# Several GB of work per op at the default sizes; JSON lines, one per (backend, op).
"$build/bench_native" $SIZES 5 2>&1 | tee -a "$log" "$OUT/bench_native.jsonl" || status=1
ONECLASS_BENCH_GPU_ONLY=1 "$build/bench_native" 50000 20000 512 3 2>&1 | tee -a "$log" "$OUT/bench_native_large.jsonl" || status=1
# OC-SVM fit at M = 20,000 (goal: GPU kernel rows at least 5x our CPU solver), both backends.
"$build/bench_native" 1000 20000 512 1 2>&1 | tee -a "$log" "$OUT/bench_native_ocsvm20k.jsonl" || status=1
# k-center coreset of 770,000 rows, 1%, on the GPU (Gaussian rows: the GPU's plain loop does not
# depend on the data; CPU timings belong to bench/coreset.mjs on real patch features).
if [ -x "$build/bench_coreset" ]; then
  echo "== bench_coreset (GPU)" | tee -a "$log"
  ONECLASS_BENCH_GPU_ONLY=1 "$build/bench_coreset" - 770000 96 7700 0 2>&1 | tee -a "$log" "$OUT/bench_coreset.jsonl" || status=1
  ONECLASS_BENCH_GPU_ONLY=1 "$build/bench_coreset" - 770000 384 7700 128 2>&1 | tee -a "$log" "$OUT/bench_coreset_proj.jsonl" || status=1
fi
if [ -x "$build/bench_ocsvm" ]; then
  echo "== bench_ocsvm" | tee -a "$log"
  "$build/bench_ocsvm" 2>&1 | tee -a "$log" "$OUT/bench_ocsvm.txt" || status=1
fi
exit $status
