// The seeded Gaussian random projection of the k-center selection (coreset.h documents the
// generator). Compiled without fused multiply-adds, so a Python script using the same libm
// functions reproduces every entry bit for bit (python-export/refs/ref_coreset.py checks it).
#include <cmath>

#include "oneclass/coreset.h"
#include "oneclass/errors.h"

namespace oneclass {
namespace {

// The (t+1)-th output of SplitMix64 started from state `seed` (Steele, Lea & Flood 2014).
uint64_t splitmix64(uint64_t seed, uint64_t t) {
  uint64_t z = seed + (t + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// In (0, 1): never 0, so its logarithm is finite.
double uniform(uint64_t seed, uint64_t t) { return (static_cast<double>(splitmix64(seed, t) >> 11) + 0.5) * 0x1.0p-53; }

}  // namespace

std::vector<double> gaussianProjection(int64_t outDim, int64_t inDim, uint64_t seed) {
  require(outDim >= 1 && inDim >= 1, "projection dimensions must be positive");
  const int64_t total = outDim * inDim;
  std::vector<double> r(static_cast<size_t>(total));
  const double scale = 1.0 / std::sqrt(static_cast<double>(outDim));
  const double twoPi = 6.283185307179586;  // the double nearest 2 pi
  for (int64_t q = 0; 2 * q < total; ++q) {
    const double radius = std::sqrt(-2.0 * std::log(uniform(seed, 2 * q)));
    const double angle = twoPi * uniform(seed, 2 * q + 1);
    r[2 * q] = radius * std::cos(angle) * scale;
    if (2 * q + 1 < total) r[2 * q + 1] = radius * std::sin(angle) * scale;
  }
  return r;
}

}  // namespace oneclass
