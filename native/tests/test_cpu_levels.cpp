// Every CPU kernel at every compiled CPU level against the baseline level on the same inputs (the
// levels differ in vector width and in fused multiply-adds, so in rounding only), and the choice
// of the level: automatic from cpuid, or ONECLASS_CPU_LEVEL. Levels this CPU cannot run are
// skipped with the features it lacks. The other C++ tests check whichever level is chosen against
// float64 references; scripts/test-cpu-levels.mjs runs them once per level.
//
//   test_cpu_levels          the checks
//   test_cpu_levels --list   the compiled levels as JSON lines {name, supported, missing}
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "../core/cpu/gaussian_kernels.h"
#include "../core/cpu/solver_kernels.h"
#include "ocsvm_pair.h"
#include "oneclass/backend.h"
#include "oneclass/cpu_dispatch.h"
#include "oneclass/errors.h"
#include "oneclass/heatmap.h"
#include "oneclass/ocsvm.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : ", ") + e;
  return s;
}

struct Size {
  int64_t m, n, d;
};

// Every backend op of `level` against the same op of `base`.
void compareBackends(Tally& t, const std::string& level, Backend& a, Backend& b) {
  for (Size s : {Size{1, 1, 1}, Size{257, 45, 7}, Size{1000, 300, 512}, Size{3000, 7, 131}}) {
    auto y = gaussianMatrix(s.m, s.d, 1, 1.0f, 0.2f), x = gaussianMatrix(s.n, s.d, 2, 1.1f, 0.2f);
    const std::string tag =
        " [" + level + "] m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " d=" + std::to_string(s.d);
    RowTransform tr;
    tr.l2normalize = true;
    tr.center.assign(s.d, 0.01f);
    auto ra = a.prepare(y.data(), s.m, s.d, tr), rb = b.prepare(y.data(), s.m, s.d, tr);
    std::vector<double> w(s.m);
    for (int64_t j = 0; j < s.m; ++j) w[j] = (j % 7 == 0) ? 0.0 : 0.1 + (j % 13) * 0.05;
    for (double h : {0.2, 1.0}) {
      std::vector<double> ga(s.n), gb(s.n), wa(s.n), wb(s.n);
      a.kernelLogSum(*ra, x.data(), s.n, 1 / (2 * h * h), nullptr, ga.data(), {});
      b.kernelLogSum(*rb, x.data(), s.n, 1 / (2 * h * h), nullptr, gb.data(), {});
      a.kernelLogSum(*ra, x.data(), s.n, 1 / (2 * h * h), w.data(), wa.data(), {});
      b.kernelLogSum(*rb, x.data(), s.n, 1 / (2 * h * h), w.data(), wb.data(), {});
      const double r = std::max(toleranceRatio(ga, gb, kLevelLogSum.atol, kLevelLogSum.rtol),
                                toleranceRatio(wa, wb, kLevelLogSum.atol, kLevelLogSum.rtol));
      t.check(r <= 1, "kernelLogSum h=" + fmt(h) + tag, "ratio " + fmt(r));
    }
    for (int k : {1, 5}) {
      if (k > s.m) continue;
      std::vector<double> da(s.n * k), db(s.n * k);
      std::vector<int64_t> ia(s.n * k), ib(s.n * k);
      a.nearest(*ra, x.data(), s.n, k, da.data(), ia.data(), {});
      b.nearest(*rb, x.data(), s.n, k, db.data(), ib.data(), {});
      int64_t wrong = 0;
      for (size_t i = 0; i < ia.size(); ++i) wrong += ia[i] != ib[i];
      // Candidates are re-ranked by float64 distances from the same float32 rows (fused or not).
      const double r = toleranceRatio(da, db, kNearestSqDist.atol, kNearestSqDist.rtol);
      t.check(wrong == 0 && r <= 1, "nearest k=" + std::to_string(k) + tag,
              std::to_string(wrong) + " different indices, distance ratio " + fmt(r));
    }
    {
      std::vector<double> ga(s.n), gb(s.n);
      a.kernelWeightedSum(*ra, x.data(), s.n, 1.0 / s.d, w.data(), ga.data(), {});
      b.kernelWeightedSum(*rb, x.data(), s.n, 1.0 / s.d, w.data(), gb.data(), {});
      const double r = toleranceRatio(ga, gb, kLevelWeightedSum.atol, kLevelWeightedSum.rtol);
      t.check(r <= 1, "kernelWeightedSum" + tag, "ratio " + fmt(r));
    }
    {
      std::vector<double> ga(s.n), gb(s.n);
      a.projectedSquaredNorm(*ra, x.data(), s.n, ga.data(), {});
      b.projectedSquaredNorm(*rb, x.data(), s.n, gb.data(), {});
      const double r = toleranceRatio(ga, gb, kLevelSquaredNorm.atol, kLevelSquaredNorm.rtol);
      t.check(r <= 1, "projectedSquaredNorm" + tag, "ratio " + fmt(r));
    }
    {
      // All columns, and the first few only (the OC-SVM's partial rows).
      for (int64_t cols : {int64_t(-1), std::min<int64_t>(s.m, 37)}) {
        std::vector<float> ga(s.n * s.m, -1.0f), gb(s.n * s.m, -1.0f);
        a.kernelRows(*ra, x.data(), s.n, 0.5, ga.data(), {}, cols);
        b.kernelRows(*rb, x.data(), s.n, 0.5, gb.data(), {}, cols);
        const double r = toleranceRatio(ga, gb, kLevelKernelRows.atol, kLevelKernelRows.rtol);
        t.check(r <= 1, "kernelRows cols=" + std::to_string(cols) + tag, "ratio " + fmt(r));
      }
    }
  }
  for (HeatmapMode mode : {HeatmapMode::Bilinear, HeatmapMode::ReceptiveField}) {
    for (int64_t g : {int64_t(7), int64_t(57)}) {
      HeatmapOptions o;
      o.mode = mode;
      o.outHeight = 250;
      o.outWidth = 253;  // not a multiple of any vector width
      o.patchSize = 32;
      o.stride = 4;
      auto grids = gaussianMatrix(9 * g, g, 3);
      HeatmapPlan plan = makeHeatmapPlan(g, g, o);
      std::vector<float> ga(9 * o.outHeight * o.outWidth), gb(ga.size());
      a.upsample(plan, grids.data(), 9, ga.data(), {});
      b.upsample(plan, grids.data(), 9, gb.data(), {});
      const double r = toleranceRatio(ga, gb, kLevelHeatmap.atol, kLevelHeatmap.rtol);
      t.check(r <= 1,
              std::string("upsample ") + (mode == HeatmapMode::Bilinear ? "bilinear" : "receptive-field") +
                  " grid=" + std::to_string(g) + " [" + level + "]",
              "ratio " + fmt(r));
    }
  }
  // The OC-SVM solver on each level's kernel rows reaches the same optimum.
  for (int64_t m : {300, 2000}) {
    const auto [fa, fb] = fitOcsvmOnBoth(a, b, m);
    const double rel = std::fabs(fa.objective - fb.objective) / std::fabs(fb.objective);
    t.check(rel <= kLevelOcsvmObjectiveRel, "ocsvm fit m=" + std::to_string(m) + " [" + level + "]",
            "objective rel. diff " + fmt(rel) + ", rho " + fmt(fa.rho) + " vs " + fmt(fb.rho));
  }
}

// The OC-SVM working-set selection kernels of `level` against the solver's scalar loops (written
// out below as libsvm has them): the same indices and the same values, exactly. Values come from
// a small set so that ties are common (the last index must win them), and the lengths are not
// multiples of any vector width.
void checkSelection(Tally& t, const std::string& level) {
  const cpu::SolverKernels& kernels = solverKernelsAt(level);
  constexpr uint8_t kLower = 0, kUpper = 1, kFree = 2;  // ocsvm/solver.h's Status
  const double inf = std::numeric_limits<double>::infinity(), tau = 1e-12;
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  int mismatches = 0;
  std::string first;
  for (int64_t l : {1, 2, 3, 7, 8, 9, 31, 64, 1001, 5003}) {
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<double> G(l), QD(l);
      std::vector<float> Qi(l);
      std::vector<uint8_t> status(l);
      for (int64_t k = 0; k < l; ++k) {
        G[k] = (double(next() % 17) - 8.0) / 4.0;
        QD[k] = 1.0;
        Qi[k] = float(next() % 9) / 8.0f;  // 1.0 gives quad = 0: the tau branch
        status[k] = rep == 0 ? kFree : uint8_t(next() % 3);
      }
      // i: scalar.
      double gmax = -inf;
      int64_t i = -1;
      for (int64_t k = 0; k < l; ++k)
        if (status[k] != kUpper && -G[k] >= gmax) {
          gmax = -G[k];
          i = k;
        }
      double vgmax = 0;
      const int64_t vi = kernels.selectMaxNegG(G.data(), status.data(), kUpper, l, vgmax);
      bool same = vi == i && (i < 0 || vgmax == gmax);
      if (i >= 0) {
        double gmax2 = -inf, objMin = inf;
        int64_t j = -1;
        for (int64_t k = 0; k < l; ++k) {
          if (status[k] == kLower) continue;
          if (G[k] >= gmax2) gmax2 = G[k];
          const double gd = gmax + G[k];
          if (gd > 0) {
            const double quad = QD[i] + QD[k] - 2.0 * double(Qi[k]);
            const double od = -(gd * gd) / (quad > 0 ? quad : tau);
            if (od <= objMin) {
              objMin = od;
              j = k;
            }
          }
        }
        double vg2 = 0, vmin = 0;
        const int64_t vj = kernels.selectMinObjDiff(G.data(), status.data(), kLower, QD.data(), Qi.data(), l, gmax,
                                                    QD[i], tau, vg2, vmin);
        same = same && vj == j && vg2 == gmax2 && (j < 0 || vmin == objMin);
      }
      if (!same && mismatches++ == 0) first = "l=" + std::to_string(l) + " rep=" + std::to_string(rep);
    }
  }
  t.check(mismatches == 0, "ocsvm working-set selection = scalar loops [" + level + "]",
          mismatches == 0 ? "" : std::to_string(mismatches) + " mismatches, first at " + first);
}

void compareGram(Tally& t, const std::string& level, const std::string& base) {
  for (Size s : {Size{0, 1, 1}, Size{0, 9, 5}, Size{0, 300, 256}, Size{0, 513, 77}}) {
    auto x = gaussianMatrix(s.n, s.d, 5);
    std::vector<double> xd(x.begin(), x.end()), ga(s.n * s.n, 0.0), gb(s.n * s.n, 0.0);
    addGramOfRowsAt(level, xd.data(), s.n, s.d, ga.data(), 0);
    addGramOfRowsAt(base, xd.data(), s.n, s.d, gb.data(), 0);
    // Only the lower triangle is complete (gram.h).
    std::vector<double> la, lb;
    for (int64_t i = 0; i < s.n; ++i)
      for (int64_t j = 0; j <= i; ++j) {
        la.push_back(ga[i * s.n + j]);
        lb.push_back(gb[i * s.n + j]);
      }
    const double r = toleranceRatio(la, lb, kLevelGram.atol, kLevelGram.rtol);
    t.check(r <= 1, "addGramOfRows rows=" + std::to_string(s.n) + " depth=" + std::to_string(s.d) + " [" + level + "]",
            "ratio " + fmt(r));
  }
}

// The Gaussian density's float64 kernels (moments, Ledoit-Wolf, Cholesky, inverse) of `level`
// against the baseline's: summation order and fused multiply-adds only.
void compareGaussian(Tally& t, const std::string& level, const std::string& base) {
  const cpu::GaussianKernels& a = gaussianKernelsAt(level);
  const cpu::GaussianKernels& b = gaussianKernelsAt(base);
  for (Size s : {Size{0, 2, 1}, Size{0, 40, 9}, Size{0, 700, 130}, Size{0, 2000, 512}}) {
    const std::string tag = " n=" + std::to_string(s.n) + " d=" + std::to_string(s.d) + " [" + level + "]";
    auto x = gaussianMatrix(s.n, s.d, 7, 1.0f, 0.3f);
    std::vector<double> ma(s.d), mb(s.d), ca(s.d * s.d), cb(s.d * s.d);
    a.meanAndCovariance(x.data(), s.n, s.d, ma.data(), ca.data(), 0);
    b.meanAndCovariance(x.data(), s.n, s.d, mb.data(), cb.data(), 0);
    t.check(toleranceRatio(ma, mb, kLevelGram.atol, kLevelGram.rtol) <= 1, "gaussian mean" + tag);
    t.check(toleranceRatio(ca, cb, kLevelGram.atol, kLevelGram.rtol) <= 1, "gaussian covariance" + tag);
    const double sa = a.ledoitWolfShrinkage(x.data(), s.n, s.d, mb.data(), cb.data(), 0);
    const double sb = b.ledoitWolfShrinkage(x.data(), s.n, s.d, mb.data(), cb.data(), 0);
    t.check(std::fabs(sa - sb) <= 1e-10 + 1e-9 * std::fabs(sb), "ledoit-wolf shrinkage" + tag,
            fmt(sa) + " vs " + fmt(sb));
    // A well-conditioned SPD matrix: the covariance plus its trace / d on the diagonal.
    double mu = 0;
    for (int64_t k = 0; k < s.d; ++k) mu += cb[k * s.d + k];
    for (int64_t k = 0; k < s.d; ++k) cb[k * s.d + k] += mu / static_cast<double>(s.d);
    std::vector<double> la = cb, lb = cb, ia(s.d * s.d), ib(s.d * s.d);
    const bool oka = a.choleskyLower(la.data(), s.d), okb = b.choleskyLower(lb.data(), s.d);
    t.check(oka && okb, "cholesky succeeds" + tag);
    t.check(toleranceRatio(la, lb, kLevelGram.atol, kLevelGram.rtol) <= 1, "cholesky factor" + tag,
            "ratio " + fmt(toleranceRatio(la, lb, kLevelGram.atol, kLevelGram.rtol)));
    a.lowerInverse(lb.data(), s.d, ia.data());
    b.lowerInverse(lb.data(), s.d, ib.data());
    t.check(toleranceRatio(ia, ib, kLevelGram.atol, kLevelGram.rtol) <= 1, "cholesky inverse" + tag,
            "ratio " + fmt(toleranceRatio(ia, ib, kLevelGram.atol, kLevelGram.rtol)));
  }
  // Not positive definite: both levels say so.
  std::vector<double> bad = {1, 2, 2, 1};
  std::vector<double> bad2 = bad;
  t.check(!a.choleskyLower(bad.data(), 2) && !b.choleskyLower(bad2.data(), 2),
          "cholesky refuses an indefinite matrix [" + level + "]");
}

}  // namespace

int main(int argc, char** argv) {
  const CpuDispatch& info = cpuDispatch();
  if (argc > 1 && std::strcmp(argv[1], "--list") == 0) {
    for (const CpuLevelStatus& s : info.levels)
      std::printf("{\"name\":\"%s\",\"supported\":%s,\"missing\":\"%s\"}\n", s.name.c_str(),
                  s.supported ? "true" : "false", joined(s.missing).c_str());
    return 0;
  }
  Tally t;
  std::printf("chosen level: %s (%s)%s%s\n", info.level.empty() ? "none" : info.level.c_str(), info.reason.c_str(),
              info.error.empty() ? "" : "; error: ", info.error.c_str());
  std::string best;
  for (const CpuLevelStatus& s : info.levels) {
    std::printf("compiled level %s (%s, %s): %s\n", s.name.c_str(), s.isa.c_str(), s.simd.c_str(),
                s.supported ? "this CPU runs it" : ("this CPU lacks " + joined(s.missing)).c_str());
    if (s.supported) best = s.name;
  }

  // The choice: the highest supported level, unless ONECLASS_CPU_LEVEL names one.
  if (info.requested.empty() || info.requested == "auto") {
    t.check(info.level == best && info.error.empty(), "automatic choice is the highest level this CPU runs",
            info.level + " vs " + best);
  } else {
    bool runnable = false;
    for (const CpuLevelStatus& s : info.levels) runnable = runnable || (s.name == info.requested && s.supported);
    if (runnable) {
      t.check(info.level == info.requested && info.error.empty(), "ONECLASS_CPU_LEVEL is obeyed",
              "requested " + info.requested + ", chosen " + info.level);
    } else {
      t.check(info.level.empty() && !info.error.empty(), "ONECLASS_CPU_LEVEL naming a level that cannot run is refused",
              info.error);
      t.expectError(ErrorCode::BackendUnavailable, "cpuBackend() fails with the level error", [] { cpuBackend(); });
    }
  }
  t.expectError(ErrorCode::BackendUnavailable, "an unknown level name is refused",
                [] { cpuBackendAt("no-such-level"); });

  for (const CpuLevelStatus& s : info.levels)
    if (s.supported) checkSelection(t, s.name);

  const std::string base = info.levels.front().name;
  if (info.levels.size() == 1) {
    t.skip("levels against " + base, "this build has one CPU level (" + base + ")");
    return t.finish();
  }
  for (size_t i = 1; i < info.levels.size(); ++i) {
    const CpuLevelStatus& s = info.levels[i];
    if (!s.supported) {
      t.skip(s.name + " against " + base, "this CPU lacks " + joined(s.missing) + " (cpuid)");
      t.expectError(ErrorCode::BackendUnavailable, s.name + " is refused on this CPU", [&] { cpuBackendAt(s.name); });
      continue;
    }
    compareBackends(t, s.name, cpuBackendAt(s.name), cpuBackendAt(base));
    compareGram(t, s.name, base);
    compareGaussian(t, s.name, base);
  }
  return t.finish();
}
