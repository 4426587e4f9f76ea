// The fitting code of the core against float64 references: the column statistics behind the data
// rules (centring, 'scale' / 'droc' widths), the Gaussian fit on L2-normalized rows, and the
// one-class SVM fit on a backend against the solver on an exact-difference reference kernel.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>
#include <utility>

#include "../core/ocsvm/retained_block.h"
#include "oneclass/backend.h"
#include "oneclass/column_stats.h"
#include "oneclass/errors.h"
#include "oneclass/gaussian.h"
#include "oneclass/ocsvm.h"
#include "oneclass/transform.h"
#include "rbf_reference.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

// Rows L2-normalized in float64 (rows of norm zero left as they are, as scikit-learn's normalize).
std::vector<double> normalizedNaive(const std::vector<float>& x, int64_t n, int64_t d) {
  std::vector<double> out(x.begin(), x.end());
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t k = 0; k < d; ++k) ss += out[i * d + k] * out[i * d + k];
    if (ss > 0)
      for (int64_t k = 0; k < d; ++k) out[i * d + k] /= std::sqrt(ss);
  }
  return out;
}

void testColumnStats(Tally& t, int64_t n, int64_t d, bool normalize) {
  auto x = gaussianMatrix(n, d, 17 + n, 1.5f, 0.3f);
  if (n > 3) std::fill(x.begin() + 2 * d, x.begin() + 3 * d, 0.0f);  // a row of norm zero
  RowTransform tr;
  tr.l2normalize = normalize;
  ColumnStats got = columnStats(x.data(), n, d, tr, 0);
  auto v = normalize ? normalizedNaive(x, n, d) : std::vector<double>(x.begin(), x.end());
  std::vector<double> mean(d, 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) mean[k] += v[i * d + k];
  for (auto& m : mean) m /= static_cast<double>(n);
  double all = 0, var = 0;
  for (double e : v) all += e;
  all /= static_cast<double>(v.size());
  for (double e : v) var += (e - all) * (e - all);
  var /= static_cast<double>(v.size());
  // float32 normalization moves the statistics by about float32's epsilon relative.
  const Tolerance tol = normalize ? kNormalizedFit : kColumnStats;
  const double rm = toleranceRatio(got.mean, mean, tol.atol, tol.rtol);
  const double rv = toleranceRatio(std::vector<double>{got.variance}, std::vector<double>{var}, tol.atol, tol.rtol);
  const std::string tag = " n=" + std::to_string(n) + " d=" + std::to_string(d) + (normalize ? " l2" : "");
  t.check(rm <= 1 && rv <= 1, "columnStats" + tag, "ratios mean " + fmt(rm) + ", variance " + fmt(rv));
  // The precision warning's statistics against the same sums in float64 (upper medians).
  std::vector<double> colDev(d, 0.0), rowDev(n, 0.0);
  double largest = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double dev = v[i * d + k] - mean[k];
      colDev[k] += dev * dev;
      rowDev[i] += dev * dev;
      largest = std::max(largest, std::fabs(v[i * d + k]));
    }
  std::sort(colDev.begin(), colDev.end());
  std::sort(rowDev.begin(), rowDev.end());
  const double rp =
      toleranceRatio(std::vector<double>{got.largestAbs, got.medianColumnDeviation, got.medianRowDeviation},
                     std::vector<double>{largest, colDev[d / 2], rowDev[n / 2]}, tol.atol, tol.rtol);
  t.check(rp <= 1, "columnStats precision statistics" + tag, "ratio " + fmt(rp));
  // Blocked sums merged in a fixed order: the same bits whatever the thread count.
  bool same = true;
  for (int threads : {1, 3, 8}) {
    ColumnStats other = columnStats(x.data(), n, d, tr, threads);
    same = same && other.variance == got.variance &&
           std::memcmp(other.mean.data(), got.mean.data(), got.mean.size() * sizeof(double)) == 0;
  }
  t.check(same, "columnStats deterministic over thread counts" + tag);
}

void testGaussianOnNormalizedRows(Tally& t) {
  const int64_t n = 400, d = 19;
  auto x = gaussianMatrix(n, d, 23, 3.0f, 1.0f);
  GaussianOptions options;
  options.kind = ShrinkageKind::Fixed;
  options.shrinkage = 0.1;
  options.l2normalize = true;
  const std::vector<float> before = x;
  GaussianFit fit = fitGaussian(x.data(), n, d, options);
  NaiveMoments want = naiveMoments(normalizedNaive(x, n, d), n, d);
  std::vector<double>&mean = want.mean, &cov = want.cov;
  double mu = 0;
  for (int64_t k = 0; k < d; ++k) mu += cov[k * d + k] / d;
  for (int64_t k = 0; k < d * d; ++k) cov[k] *= 1 - options.shrinkage;
  for (int64_t k = 0; k < d; ++k) cov[k * d + k] += options.shrinkage * mu;
  const double rm = toleranceRatio(fit.mean, mean, kNormalizedFit.atol, kNormalizedFit.rtol);
  const double rc = toleranceRatio(fit.covariance, cov, kNormalizedFit.atol, kNormalizedFit.rtol);
  t.check(rm <= 1 && rc <= 1 && fit.shrinkage == options.shrinkage, "gaussian fit on L2-normalized rows",
          "ratios mean " + fmt(rm) + ", covariance " + fmt(rc));
  t.check(x == before, "gaussian fit leaves its input unchanged");
}

void testOneClassSvmFit(Tally& t, bool normalize) {
  const int64_t l = 600, d = 24;
  auto x = gaussianMatrix(l, d, 31, 1.0f, 0.5f);
  const double gamma = 0.5 / d;
  RowTransform tr;
  tr.l2normalize = normalize;
  tr.center.assign(d, 0.2f);  // centring changes no distance
  ocsvm::SolverOptions opt;
  opt.nu = 0.2;
  ocsvm::SolverResult got = ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, gamma, opt);
  // The reference kernel on the transformed rows (normalized in float64, then rounded).
  std::vector<float> rows(x);
  if (normalize) {
    auto v = normalizedNaive(x, l, d);
    for (size_t i = 0; i < v.size(); ++i) rows[i] = static_cast<float>(v[i]);
  }
  ocsvm::RbfKernelSource reference(rows.data(), l, d, gamma);
  ocsvm::SolverResult want = ocsvm::solveOneClass(reference, opt);
  const double rel = std::fabs(got.objective - want.objective) / std::fabs(want.objective);
  const double drho = std::fabs(got.rho - want.rho) / std::fabs(want.rho);
  t.check(got.converged && rel <= kOcsvmObjectiveRel && drho <= 1e-4,
          std::string("ocsvm fit on CPU kernel rows") + (normalize ? " l2" : ""),
          "objective rel. diff " + fmt(rel) + ", rho rel. diff " + fmt(drho));
  // Every kernel-value strategy gives the same kernel values, so the same iterates: bulk from the
  // start, rows on demand completed in bulk (the block among the missing rows from computeAmong)
  // and rows on demand only.
  for (double bulkAt : {0.0, 0.05, 0.99}) {
    ocsvm::SolverOptions o = opt;
    o.adaptiveMaxNu = bulkAt > 0 ? 1.0 : 0.0;
    o.adaptiveBulkAt = bulkAt;
    ocsvm::SolverResult r = ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, gamma, o);
    t.check(
        r.alpha == got.alpha && r.rho == got.rho && r.startedOnDemand == (bulkAt > 0) && r.fullMatrix == (bulkAt < 0.5),
        std::string("ocsvm fit, kernel values ") +
            (bulkAt == 0    ? "in bulk"
             : bulkAt < 0.5 ? "on demand then in bulk"
                            : "on demand") +
            (normalize ? " l2" : ""),
        "rows computed " + std::to_string(r.kernelRowsComputed) + " of " + std::to_string(l) + ", default path " +
            (got.startedOnDemand ? "on demand first" : "bulk"));
  }
  // A budget the packed triangle fits in and the full matrix does not: packed from the start, or
  // rows on demand in an LRU first and the packed triangle once a share of rows is computed
  // (early, late, or never reached).
  {
    ocsvm::SolverOptions base = opt;
    base.cacheMb = double(l) * double(l) * sizeof(float) / (1024.0 * 1024.0) * 0.7;
    base.adaptiveMaxNu = 0.0;
    ocsvm::SolverResult packed = ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, gamma, base);
    // nu 0.02 with a late switch: few support vectors, so the rows SMO asks for never reach it.
    for (auto [nu, bulkAt] : {std::pair{0.2, 0.05}, std::pair{0.2, 0.5}, std::pair{0.2, 0.99}, std::pair{0.02, 0.99}}) {
      ocsvm::SolverOptions o = base;
      o.nu = nu;
      o.adaptiveMaxNu = 1.0;
      o.adaptiveBulkAt = bulkAt;
      if (nu != opt.nu) {
        ocsvm::SolverOptions p = base;
        p.nu = nu;
        packed = ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, gamma, p);
      }
      ocsvm::SolverResult r = ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, gamma, o);
      const double rel = std::fabs(r.objective - packed.objective) / std::fabs(packed.objective);
      t.check(packed.packedMatrix && !packed.startedOnDemand && r.startedOnDemand && r.converged &&
                  r.iterations == packed.iterations && rel <= 1e-12 && r.alpha == packed.alpha,
              std::string("ocsvm fit, rows on demand then the packed triangle (nu ") + fmt(nu) + ", bulkAt " +
                  fmt(bulkAt) + ")" + (normalize ? " l2" : ""),
              "objective rel. diff " + fmt(rel) + ", iterations " + std::to_string(r.iterations) + " / " +
                  std::to_string(packed.iterations) + ", rows computed " + std::to_string(r.kernelRowsComputed) +
                  ", ended packed " + (r.packedMatrix ? "yes" : "no"));
    }
  }
  if (!normalize)
    t.expectError(ErrorCode::InvalidArgument, "ocsvm fit rejects gamma=0",
                  [&] { ocsvm::fitOneClassSvm(cpuBackend(), x.data(), l, d, tr, 0.0, opt); });
}

// The full matrix's storage is kept for the next fit (retained_block.h): a fit that reuses a
// larger block full of another problem's kernel values gives exactly the fit on fresh memory, on
// the bulk path and on the on-demand (adaptive) one.
void testRetainedStorage(Tally& t) {
  const int64_t la = 700, lb = 400, d = 16;
  auto a = gaussianMatrix(la, d, 5, 1.0f, 0.0f);
  auto b = gaussianMatrix(lb, d, 9, 0.3f, 2.0f);
  RowTransform tr;
  for (double nu : {0.5, 0.05}) {
    ocsvm::SolverOptions opt;
    opt.nu = nu;
    ocsvm::dropRetainedBlock();
    ocsvm::SolverResult fresh = ocsvm::fitOneClassSvm(cpuBackend(), b.data(), lb, d, tr, 0.1, opt);
    ocsvm::fitOneClassSvm(cpuBackend(), a.data(), la, d, tr, 0.1, opt);
    const size_t kept = ocsvm::retainedBytes();
    ocsvm::SolverResult reused = ocsvm::fitOneClassSvm(cpuBackend(), b.data(), lb, d, tr, 0.1, opt);
    t.check(kept == size_t(la * la) * sizeof(float) && reused.alpha == fresh.alpha && reused.rho == fresh.rho,
            "ocsvm fit on the kept storage of a larger fit equals the fit on fresh memory (nu " + fmt(nu) + ")",
            "kept " + std::to_string(kept) + " bytes, started on demand " + (reused.startedOnDemand ? "yes" : "no"));
  }
  // An LRU of rows (the budget holds the packed triangle, not the full matrix; nu small enough
  // that the fit never switches to the triangle) is kept too, with the other problem's rows in the
  // slots the next fit (an LRU of the same size, other data) fills first.
  {
    auto c = gaussianMatrix(la, d, 11, 0.5f, -1.0f);
    ocsvm::SolverOptions opt;
    opt.nu = 0.02;
    opt.adaptiveMaxNu = 1.0;
    opt.adaptiveBulkAt = 0.99;
    opt.cacheMb = double(la) * double(la) * sizeof(float) / (1024.0 * 1024.0) * 0.7;
    ocsvm::dropRetainedBlock();
    ocsvm::SolverResult fresh = ocsvm::fitOneClassSvm(cpuBackend(), c.data(), la, d, tr, 0.1, opt);
    ocsvm::dropRetainedBlock();
    ocsvm::SolverResult first = ocsvm::fitOneClassSvm(cpuBackend(), a.data(), la, d, tr, 0.1, opt);
    const size_t kept = ocsvm::retainedBytes();
    ocsvm::SolverResult reused = ocsvm::fitOneClassSvm(cpuBackend(), c.data(), la, d, tr, 0.1, opt);
    t.check(first.startedOnDemand && !first.packedMatrix && reused.startedOnDemand && !reused.packedMatrix &&
                kept > 0 && reused.alpha == fresh.alpha && reused.rho == fresh.rho,
            "ocsvm fit on the kept LRU of another fit equals the fit on fresh memory",
            "kept " + std::to_string(kept) + " bytes, first fit rows " + std::to_string(first.kernelRowsComputed) +
                (first.packedMatrix ? ", went packed" : ""));
  }
  ocsvm::dropRetainedBlock();
  t.check(ocsvm::retainedBytes() == 0, "dropRetainedBlock frees the kept storage");
}

// requireFinite scans blocks in parallel without branches and locates the first bad value only
// when there is one: the message names the row and column of the first one, in any block.
void testRequireFinite(Tally& t) {
  const int64_t rows = 700, cols = 300;  // 210,000 values: four blocks of 65,536
  std::vector<float> x(size_t(rows * cols), 0.5f);
  requireFinite(x.data(), rows, cols, "data");
  t.check(true, "requireFinite accepts finite data over several blocks");
  auto message = [&](int64_t r, int64_t c, float v) {
    std::vector<float> y(x);
    y[size_t(r * cols + c)] = v;
    y[size_t((rows - 1) * cols + cols - 1)] = v;  // a second bad value later: the first is named
    try {
      requireFinite(y.data(), rows, cols, "data");
    } catch (const Error& e) {
      return std::string(e.codeName()) + " " + e.what();
    }
    return std::string("no error");
  };
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (auto [r, c, v, want] :
       {std::tuple{250, 17, nan, "ERR_INVALID_ARGUMENT data row 250 contains NaN (column 17)"},
        std::tuple{0, 0, -inf, "ERR_INVALID_ARGUMENT data row 0 contains Infinity (column 0)"},
        std::tuple{699, 298, inf, "ERR_INVALID_ARGUMENT data row 699 contains Infinity (column 298)"}}) {
    const std::string got = message(r, c, v);
    t.check(got == want, "requireFinite names the first bad value", got);
  }
}

}  // namespace

int main() {
  Tally t;
  testColumnStats(t, 1, 1, false);
  testColumnStats(t, 300, 23, false);
  testColumnStats(t, 300, 23, true);
  testColumnStats(t, 1000, 7, true);
  // Several superblocks (superblockRows(2048) = 4096 rows) and a partial last one.
  testColumnStats(t, 9000, 2048, false);
  testGaussianOnNormalizedRows(t);
  testOneClassSvmFit(t, false);
  testOneClassSvmFit(t, true);
  testRetainedStorage(t);
  testRequireFinite(t);
  return t.finish();
}
