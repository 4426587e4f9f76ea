// One-class SVM solver against scikit-learn 1.2 reference fits (test/fixtures/ocsvm/*.safetensors,
// written by python-export/refs/ref_ocsvm.py), plus argument validation and the iteration cap.
//
//   test_ocsvm [fixtures_dir]      (default: $ONECLASS_FIXTURES, else test/fixtures)
//
// Prints one line per check and "N passed, M failed"; exits non-zero on any failure.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core/ocsvm/row_cache.h"
#include "oneclass/errors.h"
#include "oneclass/ocsvm.h"
#include "rbf_reference.h"
#include "safetensors_reader.h"
#include "tolerances.h"

namespace {

using namespace oneclass;
using namespace oneclass::ocsvm;
using namespace oneclass::testing;

constexpr OcsvmTolerances kTol{};

int passed = 0, failed = 0;

void check(bool ok, const std::string& name, const std::string& detail) {
  (ok ? passed : failed)++;
  std::printf("%s %s: %s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.c_str());
}

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b, c, d);
  return buf;
}

// ---- checks ----

int64_t countSupport(const std::vector<double>& alpha) {
  return std::count_if(alpha.begin(), alpha.end(), [](double a) { return a > 0; });
}

void checkFixture(const std::string& name, const Fixture& fx) {
  const Tensor& X = fx.tensors.at("X");
  const Tensor& Y = fx.tensors.at("Y");
  std::vector<float> x = X.as<float>("F32"), y = Y.as<float>("F32");
  const int64_t l = X.rows(), d = X.cols(), m = Y.rows();
  const double gamma = fx.num("gamma"), nu = fx.num("nu");
  const double refObj = fx.num("objective"), refRho = fx.num("offset");
  const int64_t refSv = int64_t(fx.num("n_support"));
  std::vector<double> refDec = fx.tensors.at("decision").as<double>("F64");
  std::vector<int64_t> refPred = fx.tensors.at("predict").as<int64_t>("I64");

  RbfKernelSource kernel(x.data(), l, d, gamma);
  SolverOptions opt;
  opt.nu = nu;
  opt.tol = fx.num("tol");
  SolverResult r = solveOneClass(kernel, opt);

  double objRel = std::fabs(r.objective - refObj) / std::fabs(refObj);
  check(r.converged && objRel <= kTol.objectiveRel, name + " objective",
        fmt("ours=%.10g ref=%.10g rel=%.2e iterations ours=%.0f", r.objective, refObj, objRel, double(r.iterations)) +
            (fx.meta.count("n_iter") ? " libsvm=" + fx.meta.at("n_iter") : std::string()));

  int64_t sv = countSupport(r.alpha);
  double svAllowed = std::max(double(kTol.supportAbs), kTol.supportRel * double(refSv));
  check(std::fabs(double(sv - refSv)) <= svAllowed, name + " n_support",
        fmt("ours=%.0f ref=%.0f allowed=%.0f", double(sv), double(refSv), svAllowed));

  double alphaSum = 0;
  for (double a : r.alpha) alphaSum += a;
  check(std::fabs(alphaSum - nu * double(l)) <= 1e-9 * double(l), name + " sum(alpha)=nu*l",
        fmt("sum=%.12g nu*l=%.12g", alphaSum, nu * double(l)));

  std::vector<double> dec = decisionFunctionRbf(x.data(), l, d, gamma, r.alpha, r.rho, y.data(), m);
  double meanAbs = 0, maxDiff = 0;
  for (int64_t q = 0; q < m; ++q) meanAbs += std::fabs(refDec[size_t(q)]);
  meanAbs /= double(m);
  const double band = kTol.decisionRel * meanAbs;
  int64_t mismatches = 0, badMismatches = 0;
  for (int64_t q = 0; q < m; ++q) {
    maxDiff = std::max(maxDiff, std::fabs(dec[size_t(q)] - refDec[size_t(q)]));
    int64_t pred = dec[size_t(q)] > 0 ? 1 : -1;  // libsvm: +1 iff f(x) > 0
    if (pred != refPred[size_t(q)]) {
      ++mismatches;
      if (std::fabs(refDec[size_t(q)]) > band) ++badMismatches;
    }
  }
  check(maxDiff <= band, name + " decision_function",
        fmt("max|diff|=%.3e band=%.3e (1e-3*mean|f|) rho ours=%.8g ref=%.8g", maxDiff, band, r.rho, refRho));
  check(badMismatches == 0, name + " predict",
        fmt("%.0f of %.0f differ, %.0f outside the band", double(mismatches), double(m), double(badMismatches)));

  // The same optimum without shrinking and through a small LRU cache (about l/4 rows).
  SolverOptions noShrink = opt;
  noShrink.shrinking = false;
  SolverResult r2 = solveOneClass(kernel, noShrink);
  double rel2 = std::fabs(r2.objective - refObj) / std::fabs(refObj);
  check(r2.converged && rel2 <= kTol.objectiveRel, name + " objective (shrinking=false)",
        fmt("ours=%.10g rel=%.2e iters=%.0f", r2.objective, rel2, double(r2.iterations)));

  SolverOptions packed = opt;
  packed.cacheMb = 0.75 * double(l) * double(l) * 4.0 / (1024.0 * 1024.0);
  packed.adaptiveMaxNu = 0;  // packed from the start (small nu would start on demand)
  SolverResult r4 = solveOneClass(kernel, packed);
  double rel4 = std::fabs(r4.objective - refObj) / std::fabs(refObj);
  check(r4.converged && r4.packedMatrix && rel4 <= kTol.objectiveRel, name + " objective (packed triangle)",
        fmt("ours=%.10g rel=%.2e", r4.objective, rel4));

  // Rows on demand into the full matrix, completed in bulk after l/20 rows (the block among the
  // missing rows from the reference source's computeAmong), and bulk from the start.
  SolverOptions adaptive = opt;
  adaptive.adaptiveMaxNu = 1.0;
  adaptive.adaptiveBulkAt = 0.05;
  SolverResult r5 = solveOneClass(kernel, adaptive);
  double rel5 = std::fabs(r5.objective - refObj) / std::fabs(refObj);
  check(r5.converged && r5.startedOnDemand && r5.fullMatrix && rel5 <= kTol.objectiveRel,
        name + " objective (on demand, then completed in bulk)", fmt("ours=%.10g rel=%.2e", r5.objective, rel5));
  SolverOptions bulk = opt;
  bulk.adaptiveMaxNu = 0;
  SolverResult r6 = solveOneClass(kernel, bulk);
  check(r6.fullMatrix && !r6.startedOnDemand && r6.alpha == r5.alpha && r6.alpha == r.alpha,
        name + " same alphas in bulk from the start", fmt("iterations %.0f", double(r6.iterations)));

  SolverOptions lru = opt;
  lru.cacheMb = double(l) * double(l) * 4.0 / 4.0 / (1024.0 * 1024.0);
  SolverResult r3 = solveOneClass(kernel, lru);
  double rel3 = std::fabs(r3.objective - refObj) / std::fabs(refObj);
  check(r3.converged && !r3.fullMatrix && rel3 <= kTol.objectiveRel, name + " objective (LRU cache)",
        fmt("ours=%.10g rel=%.2e rows computed=%.0f iters=%.0f", r3.objective, rel3, double(r3.kernelRowsComputed),
            double(r3.iterations)));
}

template <typename F>
void expectInvalid(const std::string& name, const std::string& mustContain, F&& f) {
  try {
    f();
    check(false, name, "no error thrown");
  } catch (const Error& e) {
    bool ok = e.code() == ErrorCode::InvalidArgument && std::string(e.what()).find(mustContain) != std::string::npos;
    check(ok, name, std::string(e.codeName()) + ": " + e.what());
  } catch (const std::exception& e) {
    check(false, name, std::string("wrong exception type: ") + e.what());
  }
}

void checkErrorsAndLimits() {
  std::vector<float> x(40 * 3);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.7 * double(i)) + 0.1 * double(i % 5));
  RbfKernelSource kernel(x.data(), 40, 3, 0.5);
  for (double nu : {0.0, -0.1, 1.5, std::nan("")}) {
    SolverOptions opt;
    opt.nu = nu;
    expectInvalid("rejects nu=" + std::to_string(nu), "nu", [&] { solveOneClass(kernel, opt); });
  }
  {
    SolverOptions opt;
    opt.nu = 1.5;
    expectInvalid("error message names the received nu", "1.5", [&] { solveOneClass(kernel, opt); });
  }
  {
    RbfKernelSource one(x.data(), 1, 3, 0.5);
    expectInvalid("rejects l=1", "received 1", [&] { solveOneClass(one, SolverOptions{}); });
  }
  {
    SolverOptions opt;
    opt.tol = 0;
    expectInvalid("rejects tol=0", "tol", [&] { solveOneClass(kernel, opt); });
  }
  expectInvalid("rejects gamma=0", "gamma", [&] { RbfKernelSource(x.data(), 40, 3, 0.0); });

  {
    SolverOptions opt;
    opt.nu = 1.0;
    try {
      solveOneClass(kernel, opt);
      check(false, "nu=1 (rho infinite, as in scikit-learn) raises", "no error thrown");
    } catch (const Error& e) {
      check(e.code() == ErrorCode::NumericalError, "nu=1 (rho infinite, as in scikit-learn) raises",
            std::string(e.codeName()) + ": " + e.what());
    }
  }

  SolverOptions capped;
  capped.nu = 0.3;
  capped.maxIter = 3;
  SolverResult r = solveOneClass(kernel, capped);
  double sum = 0;
  for (double a : r.alpha) sum += a;
  check(!r.converged && r.iterations == 3 && std::fabs(sum - 12.0) < 1e-9 && std::isfinite(r.rho),
        "maxIter=3 returns the unconverged iterate",
        fmt("converged=%.0f iterations=%.0f sum(alpha)=%.12g rho=%.6g", r.converged, double(r.iterations), sum, r.rho));

  SolverOptions full;
  full.nu = 0.3;
  SolverResult rf = solveOneClass(kernel, full);
  check(rf.converged && rf.iterations > 3, "uncapped run converges",
        fmt("iterations=%.0f objective=%.10g", double(rf.iterations), rf.objective));
}

// A problem large enough for shrinking to act (libsvm first shrinks after min(l, 1000)
// iterations): shrinking on/off, precomputed/on-demand/small LRU cache must all reach the optimum
// of a tight-tolerance run.
void checkShrinkingAndCaches() {
  const int64_t l = 3000, d = 6;
  std::vector<float> x(size_t(l * d));
  uint64_t state = 88172645463325252ull;  // xorshift64: deterministic, no <random> dependence
  for (auto& v : x) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    v = float(double(state >> 11) / 9007199254740992.0);
  }
  // gamma=10, nu=0.1 on uniform data in 6-D: thousands of SMO steps, about a third of the points
  // are SVs, so shrinking has bound variables to drop.
  RbfKernelSource kernel(x.data(), l, d, 10.0);
  SolverOptions tight;
  tight.nu = 0.1;
  tight.tol = 1e-8;
  tight.shrinking = false;
  SolverResult ref = solveOneClass(kernel, tight);
  struct Variant {
    const char* name;
    bool shrinking, precompute;
    double cacheMb;
  };
  const double matrixMb = double(l) * double(l) * 4.0 / (1024.0 * 1024.0);
  for (Variant v :
       {Variant{"shrinking, full matrix", true, true, 1024}, Variant{"no shrinking, full matrix", false, true, 1024},
        Variant{"shrinking, on demand", true, false, 1024},
        Variant{"shrinking, LRU of l/10 rows", true, true, matrixMb / 10},
        Variant{"shrinking, packed triangle", true, true, matrixMb * 0.6},
        Variant{"shrinking, full matrix in bulk from the start", true, true, -1024}}) {
    SolverOptions opt;
    opt.nu = 0.1;
    opt.shrinking = v.shrinking;
    opt.precompute = v.precompute;
    opt.cacheMb = std::fabs(v.cacheMb);
    if (v.cacheMb < 0) opt.adaptiveMaxNu = 0;  // nu = 0.1 is otherwise on demand first
    SolverResult r = solveOneClass(kernel, opt);
    double rel = std::fabs(r.objective - ref.objective) / ref.objective;
    bool shrank = r.smallestActiveSet < l;
    check(r.converged && rel <= kTol.objectiveRel && shrank == v.shrinking, std::string("l=3000 ") + v.name,
          fmt("objective rel diff to tol=1e-8 run %.2e, iterations %.0f, rows computed %.0f, "
              "smallest active set %.0f",
              rel, double(r.iterations), double(r.kernelRowsComputed), double(r.smallestActiveSet)));
  }
}

// The start point from a sub-problem (SolverOptions::warmStartSample) against libsvm's start, on
// three Gaussian clusters (l = 4000): the same optimum as a tight-tolerance run, support vectors
// within the tolerance table of libsvm's start, and fewer SMO steps and kernel rows, in the full,
// on-demand and packed layouts.
void checkStartPoint() {
  const int64_t l = 4000, d = 8;
  std::vector<float> x(size_t(l * d));
  uint64_t state = 0x2545f4914f6cdd1dull;
  auto uniform = [&]() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double(state >> 11) + 0.5) / 9007199254740992.0;
  };
  for (int64_t i = 0; i < l; ++i) {
    const double centre = 3.0 * double(i % 3);
    for (int64_t k = 0; k < d; ++k)
      x[size_t(i * d + k)] =
          float(centre + std::sqrt(-2 * std::log(uniform())) * std::cos(2 * 3.14159265358979 * uniform()));
  }
  RbfKernelSource kernel(x.data(), l, d, 0.05);
  for (double nu : {0.05, 0.2}) {
    SolverOptions tight;
    tight.nu = nu;
    tight.tol = 1e-8;
    tight.shrinking = false;
    tight.warmStartSample = 0;
    const SolverResult ref = solveOneClass(kernel, tight);
    const double matrixMb = double(l) * double(l) * 4.0 / (1024.0 * 1024.0);
    struct Layout {
      const char* name;
      bool precompute;
      double cacheMb;
    };
    for (Layout layout : {Layout{"full matrix", true, 1024}, Layout{"on demand", false, 1024},
                          Layout{"packed triangle", true, matrixMb * 0.6}}) {
      SolverOptions opt;
      opt.nu = nu;
      opt.precompute = layout.precompute;
      opt.cacheMb = layout.cacheMb;
      opt.warmStartSample = 0;
      const SolverResult libsvm = solveOneClass(kernel, opt);
      opt.warmStartSample = 1024;
      const SolverResult warm = solveOneClass(kernel, opt);
      const std::string name = std::string("start point, nu=") + (nu < 0.1 ? "0.05, " : "0.2, ") + layout.name;
      const double rel = std::fabs(warm.objective - ref.objective) / ref.objective;
      const double relLibsvm = std::fabs(libsvm.objective - ref.objective) / ref.objective;
      check(warm.converged && warm.warmStartSample == 1000 && rel <= 1e-6, name + ": the optimum",
            fmt("objective rel diff to tol=1e-8 run %.2e (libsvm's start %.2e), sub-problem of %.0f", rel, relLibsvm,
                double(warm.warmStartSample)));
      const int64_t sv = countSupport(warm.alpha), svLibsvm = countSupport(libsvm.alpha);
      const double svAllowed = std::max(double(kTol.supportAbs), kTol.supportRel * double(svLibsvm));
      double sum = 0;
      for (double a : warm.alpha) sum += a;
      check(std::fabs(double(sv - svLibsvm)) <= svAllowed && std::fabs(sum - nu * double(l)) <= 1e-9 * double(l),
            name + ": support vectors and sum(alpha)",
            fmt("%.0f support vectors, libsvm's start %.0f; sum(alpha) - nu*l = %.2e", double(sv), double(svLibsvm),
                sum - nu * double(l)));
      check(warm.iterations < libsvm.iterations &&
                (layout.precompute || warm.kernelRowsComputed < libsvm.kernelRowsComputed),
            name + ": fewer steps",
            fmt("iterations %.0f vs %.0f, kernel rows %.0f vs %.0f", double(warm.iterations), double(libsvm.iterations),
                double(warm.kernelRowsComputed), double(libsvm.kernelRowsComputed)));
    }
  }
}

}  // namespace

// The packed triangle (page-sized blocks of 4 x 4 tiles) at sizes that are and are not a multiple
// of the block: every row read back from it equals the source's row bit for bit, and Q w from one
// pass over the blocks equals a float64 product of the source's rows.
void checkPackedLayout(int64_t l, double budgetShare) {
  const int64_t d = 5;
  std::vector<float> x(size_t(l * d));
  uint64_t state = 2463534242ull;
  for (auto& v : x) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    v = float(double(state >> 11) / 9007199254740992.0);
  }
  RbfKernelSource kernel(x.data(), l, d, 2.0);
  const double matrixMb = double(l) * double(l) * 4.0 / (1024.0 * 1024.0);
  RowCache cache(kernel, l, matrixMb * budgetShare, true);
  std::vector<float> want(static_cast<size_t>(l));
  std::vector<double> w(static_cast<size_t>(l)), got(static_cast<size_t>(l), 0.5), ref(static_cast<size_t>(l), 0.5);
  for (int64_t i = 0; i < l; ++i) w[size_t(i)] = i % 3 == 0 ? 0.0 : double((i * 7919) % 1000) / 999.0;
  int64_t rowMismatches = 0;
  for (int64_t i = 0; i < l; ++i) {
    kernel.computeRows(&i, 1, want.data());
    const float* row = cache.row(i);
    if (std::memcmp(row, want.data(), size_t(l) * sizeof(float)) != 0) ++rowMismatches;
    for (int64_t j = 0; j < l; ++j) ref[size_t(j)] += w[size_t(i)] * double(want[size_t(j)]);
  }
  cache.multiplyPacked(w.data(), got.data());
  double worst = 0;
  for (int64_t j = 0; j < l; ++j)
    worst = std::max(worst, std::fabs(got[size_t(j)] - ref[size_t(j)]) / std::fabs(ref[size_t(j)]));
  const std::string name = "packed triangle l=" + std::to_string(l);
  check(cache.packed() && rowMismatches == 0, name + ": rows equal the source's",
        fmt("packed=%.0f, %.0f of %.0f rows differ", double(cache.packed()), double(rowMismatches), double(l)));
  check(cache.packed() && worst <= 1e-12, name + ": Q w", fmt("max rel diff %.2e", worst));
}

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  const std::string root = fixturesRoot(argc, argv);
  fs::path dir = fs::path(root) / "ocsvm";
  const std::vector<fs::path> files = fixtureFiles(dir);
  check(!files.empty(), "fixtures found", dir.string());
  for (auto& f : files) {
    std::string name = f.stem().string();
    try {
      checkFixture(name, readSafetensors(f.string()));
    } catch (const std::exception& e) {
      check(false, name, std::string("exception: ") + e.what());
    }
  }
  try {
    checkShrinkingAndCaches();
    checkStartPoint();
    checkPackedLayout(1003, 0.6);
    checkPackedLayout(1024, 0.6);
    checkPackedLayout(200, 0.75);
    checkErrorsAndLimits();
  } catch (const std::exception& e) {
    check(false, "errors and limits", std::string("exception: ") + e.what());
  }
  std::printf("%d passed, %d failed, 0 skipped\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
