// CPU backend against naive float64 references, for every op and awkward sizes (dimensions
// that are not multiples of the SIMD width, single rows, more threads than rows).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <vector>

#include "oneclass/backend.h"
#include "oneclass/errors.h"
#include "oneclass/gaussian.h"
#include "oneclass/heatmap.h"
#include "oneclass/scratch.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

std::vector<double> transformNaive(const RowTransform& t, const std::vector<float>& x, int64_t n, int64_t d) {
  std::vector<double> out(x.begin(), x.end());
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) ss += out[i * d + k] * out[i * d + k];
    for (int64_t k = 0; k < d; ++k) {
      if (t.l2normalize && ss > 0) out[i * d + k] /= std::sqrt(ss);
      if (!t.center.empty()) out[i * d + k] -= t.center[k];
    }
  }
  return out;
}

double sqdist(const double* a, const double* b, int64_t d) {
  double s = 0;
  for (int64_t k = 0; k < d; ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

void testKernelLogSum(Tally& t, int64_t m, int64_t n, int64_t d, double h, bool transform, bool weighted) {
  auto y = gaussianMatrix(m, d, 1 + m, 1.0f, 0.3f);
  auto x = gaussianMatrix(n, d, 2 + n, 1.2f, 0.3f);
  RowTransform tr;
  if (transform) {
    tr.l2normalize = true;
    tr.center.assign(d, 0.01f);
  }
  std::vector<double> w;
  if (weighted) {
    w.resize(m);
    for (int64_t j = 0; j < m; ++j) w[j] = (j % 7 == 0) ? 0.0 : 0.1 + (j % 13) * 0.05;
  }
  const double gamma = 1.0 / (2 * h * h);
  auto ref = cpuBackend().prepare(y.data(), m, d, tr);
  std::vector<double> got(n);
  cpuBackend().kernelLogSum(*ref, x.data(), n, gamma, weighted ? w.data() : nullptr, got.data(), {});
  auto yd = transformNaive(tr, y, m, d), xd = transformNaive(tr, x, n, d);
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) {
    double top = -INFINITY;
    std::vector<double> a(m);
    for (int64_t j = 0; j < m; ++j) {
      double wj = weighted ? w[j] : 1.0;
      a[j] = wj > 0 ? std::log(wj) - gamma * sqdist(&xd[i * d], &yd[j * d], d) : -INFINITY;
      top = std::max(top, a[j]);
    }
    double s = 0;
    for (double v : a) s += std::exp(v - top);
    want[i] = top + std::log(s);
  }
  double r = toleranceRatio(got, want, kKdeLogSum.atol, kKdeLogSum.rtol);
  t.check(r <= 1,
          "kernelLogSum m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=" + std::to_string(d) +
              " h=" + fmt(h) + (transform ? " l2+center" : "") + (weighted ? " weighted" : ""),
          "tolerance ratio " + fmt(r));
}

void testNearest(Tally& t, int64_t m, int64_t n, int64_t d, int k, bool normalize) {
  auto y = gaussianMatrix(m, d, 11 + m);
  auto x = gaussianMatrix(n, d, 12 + n);
  RowTransform tr;
  tr.l2normalize = normalize;
  auto ref = cpuBackend().prepare(y.data(), m, d, tr);
  std::vector<double> dist(n * k);
  std::vector<int64_t> idx(n * k);
  cpuBackend().nearest(*ref, x.data(), n, k, dist.data(), idx.data(), {});
  auto yd = transformNaive(tr, y, m, d), xd = transformNaive(tr, x, n, d);
  int64_t wrong = 0;
  std::vector<double> want(n * k);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<std::pair<double, int64_t>> all(m);
    for (int64_t j = 0; j < m; ++j) all[j] = {sqdist(&xd[i * d], &yd[j * d], d), j};
    std::partial_sort(all.begin(), all.begin() + k, all.end());
    for (int q = 0; q < k; ++q) {
      // Cosine distance 1 - <x, y> = |x - y|^2 / 2 on unit rows.
      want[i * k + q] = normalize ? all[q].first / 2 : all[q].first;
      if (all[q].second != idx[i * k + q]) wrong++;
    }
  }
  double r = toleranceRatio(dist, want, 1e-6, 1e-6);
  t.check(wrong == 0 && r <= 1,
          "nearest m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=" + std::to_string(d) +
              " k=" + std::to_string(k) + (normalize ? " cosine" : ""),
          std::to_string(wrong) + " wrong indices, distance tolerance ratio " + fmt(r));
}

void testProjectedNorm(Tally& t, int64_t m, int64_t n, int64_t d) {
  auto w = gaussianMatrix(m, d, 21, 0.2f);
  auto x = gaussianMatrix(n, d, 22);
  RowTransform tr;
  tr.center.assign(d, 0.5f);
  auto ref = cpuBackend().prepare(w.data(), m, d, RowTransform{});
  // The reference rows are not transformed, queries are centred: use a point set whose
  // transform centres queries only by building it from the query-side transform afterwards.
  auto refc = cpuBackend().prepare(w.data(), m, d, RowTransform{});
  std::vector<float> xc(x);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) xc[i * d + k] -= 0.5f;
  std::vector<double> got(n), want(n, 0.0);
  cpuBackend().projectedSquaredNorm(*refc, xc.data(), n, got.data(), {});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) {
      double s = 0;
      for (int64_t k = 0; k < d; ++k)
        s += static_cast<double>(w[j * d + k]) * (static_cast<double>(x[i * d + k]) - 0.5);
      want[i] += s * s;
    }
  double r = toleranceRatio(got, want, kSquaredNorm.atol, kSquaredNorm.rtol);
  t.check(r <= 1, "projectedSquaredNorm m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=" + std::to_string(d),
          "tolerance ratio " + fmt(r));
}

void testKernelRows(Tally& t, int64_t m, int64_t n, int64_t d, double gamma) {
  auto y = gaussianMatrix(m, d, 31, 0.5f);
  auto ref = cpuBackend().prepare(y.data(), m, d, RowTransform{});
  std::vector<float> got(n * m);
  cpuBackend().kernelRows(*ref, y.data(), n, gamma, got.data(), {});
  std::vector<double> want(n * m);
  std::vector<double> yd(y.begin(), y.end());
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) want[i * m + j] = std::exp(-gamma * sqdist(&yd[i * d], &yd[j * d], d));
  double r = toleranceRatio(got, want, kKernelRows.atol, kKernelRows.rtol);
  t.check(r <= 1, "kernelRows m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=" + std::to_string(d),
          "tolerance ratio " + fmt(r));
}

void testWeightedSum(Tally& t, int64_t m, int64_t n, int64_t d, double gamma) {
  // Unit vectors and gamma = 1/d: the OC-SVM regime where decision values are small
  // differences of large sums, so the kernel sum must be accurate far below float32.
  RowTransform tr;
  tr.l2normalize = true;
  auto y = gaussianMatrix(m, d, 61), x = gaussianMatrix(n, d, 62);
  std::vector<double> w(m);
  for (int64_t j = 0; j < m; ++j) w[j] = (j % 5 == 0) ? 0.0 : 0.3 + 0.7 * ((j * 37) % 11) / 10.0;
  RowTransform centred = tr;
  auto yd = transformNaive(tr, y, m, d), xd = transformNaive(tr, x, n, d);
  centred.center.assign(d, 0.0f);
  for (int64_t j = 0; j < m; ++j)
    for (int64_t k = 0; k < d; ++k) centred.center[k] += static_cast<float>(yd[j * d + k] / m);
  auto ref = cpuBackend().prepare(y.data(), m, d, centred);
  std::vector<double> got(n), want(n, 0.0);
  cpuBackend().kernelWeightedSum(*ref, x.data(), n, gamma, w.data(), got.data(), {});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < m; ++j) want[i] += w[j] * std::exp(-gamma * sqdist(&xd[i * d], &yd[j * d], d));
  double r = toleranceRatio(got, want, kWeightedSum.atol, kWeightedSum.rtol);
  t.check(r <= 1, "kernelWeightedSum m=" + std::to_string(m) + " n=" + std::to_string(n) + " d=" + std::to_string(d),
          "tolerance ratio " + fmt(r));
}

void testHeatmap(Tally& t, HeatmapOptions o, int64_t gh, int64_t gw, int64_t batch, const std::string& name) {
  auto grids = gaussianMatrix(batch * gh, gw, 41);
  HeatmapPlan plan = makeHeatmapPlan(gh, gw, o);
  std::vector<float> got(batch * o.outHeight * o.outWidth);
  cpuBackend().upsample(plan, grids.data(), batch, got.data(), {});
  std::vector<double> ay, ax;
  if (o.mode == HeatmapMode::Bilinear) {
    auto compose = [&](int64_t in, int64_t out) {
      auto r = bilinearOperator(in, out);
      if (o.sigma <= 0) return r;
      auto g = gaussianReflectOperator(out, o.sigma);
      std::vector<double> c(out * in, 0.0);
      for (int64_t i = 0; i < out; ++i)
        for (int64_t q = 0; q < out; ++q)
          for (int64_t j = 0; j < in; ++j) c[i * in + j] += g[i * out + q] * r[q * in + j];
      return c;
    };
    ay = compose(gh, o.outHeight);
    ax = compose(gw, o.outWidth);
  } else {
    ay = receptiveFieldOperator(gh, o.outHeight, o.patchSize, o.stride, o.sigma);
    ax = receptiveFieldOperator(gw, o.outWidth, o.patchSize, o.stride, o.sigma);
  }
  std::vector<double> want(got.size(), 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t y = 0; y < o.outHeight; ++y)
      for (int64_t x = 0; x < o.outWidth; ++x) {
        double s = 0;
        for (int64_t i = 0; i < gh; ++i)
          for (int64_t j = 0; j < gw; ++j) s += ay[y * gh + i] * ax[x * gw + j] * grids[(b * gh + i) * gw + j];
        want[(b * o.outHeight + y) * o.outWidth + x] = s;
      }
  double r = toleranceRatio(got, want, kHeatmap.atol, kHeatmap.rtol);
  t.check(r <= 1, "heatmap " + name, "tolerance ratio " + fmt(r));
}

void testGaussianFit(Tally& t) {
  const int64_t n = 300, d = 23;
  auto x = gaussianMatrix(n, d, 51, 2.0f, 1.0f);
  for (int64_t i = 0; i < n; ++i)  // correlated, anisotropic features: a shrinkage strictly inside (0, 1)
    for (int64_t k = 1; k < d; ++k) x[i * d + k] = x[i * d + k] * (1.0f + 0.2f * k) + 0.9f * x[i * d];
  GaussianOptions options;
  options.threads = 2;
  GaussianFit fit = fitGaussian(x.data(), n, d, options);
  // Covariance against a naive float64 computation, and L^-1 * Sigma * L^-T = I.
  NaiveMoments want = naiveMoments(x, n, d);
  const std::vector<double>& cov = want.cov;
  double mu = 0;
  for (int64_t k = 0; k < d; ++k) mu += cov[k * d + k] / d;
  std::vector<double> shrunk(d * d);
  for (int64_t k = 0; k < d * d; ++k) shrunk[k] = (1 - fit.shrinkage) * cov[k];
  for (int64_t k = 0; k < d; ++k) shrunk[k * d + k] += fit.shrinkage * mu;
  double r = toleranceRatio(fit.covariance, shrunk, kCovariance.atol, kCovariance.rtol);
  t.check(r <= 1 && fit.shrinkage > 0 && fit.shrinkage < 1, "gaussian fit covariance",
          "shrinkage " + fmt(fit.shrinkage) + ", tolerance ratio " + fmt(r));
  double worst = 0;
  const auto& li = fit.choleskyInverse;
  for (int64_t a = 0; a < d; ++a)
    for (int64_t b = 0; b < d; ++b) {
      double s = 0;
      for (int64_t p = 0; p < d; ++p)
        for (int64_t q = 0; q < d; ++q) s += li[a * d + p] * fit.covariance[p * d + q] * li[b * d + q];
      worst = std::max(worst, std::fabs(s - (a == b ? 1.0 : 0.0)));
    }
  t.check(worst < 1e-9, "gaussian fit L^-1 Sigma L^-T = I", "max error " + fmt(worst));
  GaussianOptions none;
  none.kind = ShrinkageKind::None;
  none.threads = 1;
  t.expectError(ErrorCode::NumericalError, "singular covariance raises ERR_NUMERICAL",
                [&] { fitGaussian(x.data(), 5, d, none); });
}

}  // namespace

// The kept scratch blocks (oneclass/scratch.h): a released block serves the next request it is large
// enough for; small and oversized blocks are not kept; at most kScratchKeptBlocks blocks and
// kScratchKeptTotalBytes are kept, the larger ones first; dropScratch gives them back.
void testScratch(Tally& t) {
  dropScratch();
  const size_t mb = size_t(1) << 20;
  unsigned char* first = nullptr;
  {
    Scratch a = acquireScratch(2 * mb);
    first = a.get();
    std::memset(a.get(), 1, 2 * mb);
  }
  const size_t keptAfterOne = keptScratchBytes();
  Scratch b = acquireScratch(mb + mb / 2);
  t.check(keptAfterOne == 2 * mb && b.get() == first && keptScratchBytes() == 0, "scratch: a released block is reused",
          "kept " + std::to_string(keptAfterOne) + " bytes, same block " + std::to_string(b.get() == first));
  b.reset();
  {
    Scratch small = acquireScratch(mb / 2);
  }
  {
    Scratch huge = acquireScratch(kScratchKeptMaxBytes + mb);
  }
  t.check(keptScratchBytes() == 2 * mb, "scratch: blocks under 1 MB or over the maximum are not kept",
          std::to_string(keptScratchBytes()) + " bytes kept");
  {
    std::vector<Scratch> held;
    for (int k = 0; k < kScratchKeptBlocks + 2; ++k) held.push_back(acquireScratch(size_t(40 + k) * mb));
  }
  const size_t kept = keptScratchBytes();
  size_t largestTaken = 0;
  {
    Scratch largest = acquireScratch(size_t(40 + kScratchKeptBlocks + 1) * mb);
    largestTaken = kept - keptScratchBytes();
  }
  t.check(kept <= kScratchKeptTotalBytes && largestTaken == size_t(40 + kScratchKeptBlocks + 1) * mb,
          "scratch: the kept blocks stay within the bounds, the largest kept",
          std::to_string(kept >> 20) + " MB kept, the largest " + std::to_string(largestTaken >> 20) + " MB");
  const size_t freed = dropScratch();
  t.check(freed == kept && keptScratchBytes() == 0, "scratch: dropScratch frees every kept block",
          std::to_string(freed >> 20) + " MB freed");
}

int main() {
  Tally t;
  for (int64_t d : {1, 7, 64, 131}) testKernelLogSum(t, 257, 45, d, 1.0, false, false);
  testKernelLogSum(t, 1, 1, 5, 0.7, false, false);
  testKernelLogSum(t, 1000, 300, 48, 2.1, false, false);
  testKernelLogSum(t, 1000, 300, 48, 0.1, true, false);
  testKernelLogSum(t, 600, 50, 32, 0.5, false, true);
  testKernelLogSum(t, 700, 3, 96, 3.0, true, true);
  for (int k : {1, 5}) testNearest(t, 513, 77, 29, k, false);
  testNearest(t, 200, 61, 64, 3, true);
  testNearest(t, 5, 2, 3, 5, false);
  testProjectedNorm(t, 40, 97, 40);
  testProjectedNorm(t, 1, 5, 1);
  testKernelRows(t, 131, 131, 17, 0.1);
  testWeightedSum(t, 700, 40, 64, 1.0 / 64);
  testWeightedSum(t, 33, 5, 512, 1.0 / 512);
  HeatmapOptions o;
  o.outHeight = 64;
  o.outWidth = 48;
  o.sigma = 4;
  testHeatmap(t, o, 7, 5, 3, "bilinear 7x5 -> 64x48 sigma 4");
  o.sigma = 0;
  testHeatmap(t, o, 9, 11, 2, "bilinear 9x11 -> 64x48 no blur");
  o.outHeight = 8;
  o.outWidth = 8;
  o.sigma = 2;
  testHeatmap(t, o, 3, 3, 1, "bilinear 3x3 -> 8x8 sigma 2 (kernel wider than map)");
  HeatmapOptions rf;
  rf.mode = HeatmapMode::ReceptiveField;
  rf.patchSize = 16;
  rf.stride = 4;
  rf.sigma = 4;
  rf.outHeight = 16 + 4 * 6;
  rf.outWidth = 16 + 4 * 4 + 3;
  testHeatmap(t, rf, 7, 5, 2, "receptive-field 7x5 patch 16 stride 4");
  testGaussianFit(t);
  testScratch(t);
  t.expectError(ErrorCode::InvalidArgument, "unknown device raises ERR_INVALID_ARGUMENT", [] { selectBackend("tpu"); });
  return t.finish();
}
