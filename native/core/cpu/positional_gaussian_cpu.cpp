// Per-position Gaussian on the CPU. Moments: each position's samples are gathered into rows and
// go through the Gaussian density's float64 mean and Gram-product covariance, one position per
// thread. Scoring: for each position, the features of a block of images are centred in float64,
// packed into the dot engine's strips and multiplied by that position's L^-1, packed once into
// panels at load; each panel only needs the depth up to its last row, since L^-1 is lower
// triangular, which halves the multiply-adds. Squares are summed per tile and accumulated in
// float64.
#include "positional_gaussian_cpu.h"

#include <algorithm>
#include <vector>

#include "dot_engine.h"
#include "gaussian_cpu.h"
#include "oneclass/errors.h"
#include "oneclass/gaussian.h"
#include "oneclass/parallel.h"
#include "simd.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

constexpr int NR = PackedPanels<float>::kPanelRows;
constexpr int MR = kMicroRows;
constexpr int64_t kStripsPerItem = 32;  // images per work item: kStripsPerItem * MR

class CpuPositionalSet final : public PositionalSet {
 public:
  CpuPositionalSet(int64_t positions, int64_t dim)
      : PositionalSet(positions, dim), panels((dim + NR - 1) / NR), stride(panels * dim * NR) {
    mean.assign(static_cast<size_t>(positions * dim), 0.0);
    factors.assign(static_cast<size_t>(positions * stride), 0.0f);
  }

  void load(int64_t p0, int64_t count, const double* m, const double* linv) override {
    require(p0 >= 0 && count >= 0 && p0 + count <= positions_, "positional set: positions out of range");
    const int64_t d = dim_;
    std::copy(m, m + count * d, mean.begin() + p0 * d);
    for (int64_t p = 0; p < count; ++p) {
      const double* l = linv + p * d * d;
      float* dst = factors.data() + (p0 + p) * stride;
      // Row i of L^-1 goes to panel i / NR, column i % NR, depth-major.
      for (int64_t i = 0; i < d; ++i)
        for (int64_t k = 0; k <= i; ++k) dst[(i / NR) * d * NR + k * NR + i % NR] = static_cast<float>(l[i * d + k]);
    }
  }

  const float* factor(int64_t p) const { return factors.data() + p * stride; }

  int64_t panels, stride;
  std::vector<double> mean;    // positions x dim
  std::vector<float> factors;  // positions x panels x dim x NR
};

}  // namespace

void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean, double* covariance,
                       int threads) {
  const double unbiased = static_cast<double>(images) / static_cast<double>(images - 1);
  parallelFor(positions, threads, [&](int64_t p, int) {
    thread_local std::vector<float> rows;
    rows.resize(static_cast<size_t>(images * dim));
    for (int64_t i = 0; i < images; ++i) {
      const float* src = x + (i * positions + p) * dim;
      std::copy(src, src + dim, rows.begin() + i * dim);
    }
    double* cov = covariance + p * dim * dim;
    meanAndCovariance(rows.data(), images, dim, mean + p * dim, cov, 1);
    for (int64_t k = 0; k < dim * dim; ++k) cov[k] *= unbiased;
  });
}

std::unique_ptr<PositionalSet> makePositionalSet(int64_t positions, int64_t dim) {
  return std::make_unique<CpuPositionalSet>(positions, dim);
}

void positionalSquaredMahalanobis(const PositionalSet& base, const float* x, int64_t images, double* out, int threads) {
  auto* setPtr = dynamic_cast<const CpuPositionalSet*>(&base);
  if (!setPtr) fail(ErrorCode::InvalidArgument, "positional set was prepared by another backend");
  const CpuPositionalSet& set = *setPtr;
  const int64_t positions = set.positions(), d = set.dim();
  const int64_t strips = (images + MR - 1) / MR;
  const int64_t blocks = (strips + kStripsPerItem - 1) / kStripsPerItem;
  parallelFor(positions * blocks, threads, [&](int64_t item, int) {
    const int64_t p = item / blocks, s0 = (item % blocks) * kStripsPerItem;
    const int64_t count = std::min(kStripsPerItem, strips - s0);
    thread_local std::vector<float> packed;
    thread_local std::vector<double> sums;
    alignas(64) float tile[MR * NR];
    packed.assign(static_cast<size_t>(count * d * MR), 0.0f);
    sums.assign(static_cast<size_t>(count * MR), 0.0);
    const double* mu = set.mean.data() + p * d;
    for (int64_t s = 0; s < count; ++s) {
      float* dst = packed.data() + s * d * MR;
      for (int r = 0; r < MR; ++r) {
        const int64_t image = (s0 + s) * MR + r;
        if (image >= images) break;
        const float* src = x + (image * positions + p) * d;
        for (int64_t k = 0; k < d; ++k) dst[k * MR + r] = static_cast<float>(static_cast<double>(src[k]) - mu[k]);
      }
    }
    const float* factor = set.factor(p);
    for (int64_t q = 0; q < set.panels; ++q) {
      const int64_t depth = std::min(d, (q + 1) * NR);
      const float* panel = factor + q * d * NR;
      for (int64_t s = 0; s < count; ++s) {
        microKernel<float>(packed.data() + s * d * MR, panel, depth, tile);
        for (int r = 0; r < MR; ++r) {
          const VF y0 = loadVec<VF>(tile + r * NR), y1 = loadVec<VF>(tile + r * NR + kFloatLanes);
          sums[s * MR + r] += hsum(y0 * y0 + y1 * y1);
        }
      }
    }
    for (int64_t s = 0; s < count; ++s)
      for (int r = 0; r < MR; ++r) {
        const int64_t image = (s0 + s) * MR + r;
        if (image < images) out[image * positions + p] = sums[s * MR + r];
      }
  });
}

}  // namespace ONECLASS_CPU_NAMESPACE
