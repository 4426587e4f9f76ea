// The rows of the k-center selection (coreset_cpu.cpp) rotated onto principal axes: distances do
// not change under a rotation, and the first coordinates then carry most of every distance, which
// makes partial sums over them tight lower bounds. Compiled once per CPU level (cpu_level.h).
#pragma once
#include <cstdint>
#include <vector>

namespace ONECLASS_CPU_NAMESPACE {

// Coordinates per block of a rotated row: one 64-byte cache line of float64.
constexpr int kBlock = 8;

// The rows rotated onto principal axes (after the projection, when there is one), float64,
// zero-padded to whole blocks so every block of a row is one aligned cache line.
struct RotatedRows {
  std::vector<double> data;
  int64_t blocks = 0, stride = 0;
  const double* row(int64_t i) const { return data.data() + i * stride; }
};

// Projects (when r, projection x d, is given) and rotates the n x d rows x onto the principal
// axes of an evenly spaced sample of them: one float64 map W = V^T R applied to every row. Rows
// have at least minBlocks blocks.
RotatedRows rotateRows(const float* x, int64_t n, int64_t d, const double* r, int64_t projection, int64_t minBlocks,
                       int threads);

}  // namespace ONECLASS_CPU_NAMESPACE
