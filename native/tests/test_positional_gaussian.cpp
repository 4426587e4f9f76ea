// The per-position Gaussian against a naive float64 reference (mean, unbiased covariance +
// regularization, Cholesky, forward substitution) and against numpy's PaDiM-style fixtures of
// python-export/refs/ref_positional_gaussian.py; restoring from stored statistics; errors.
//
//   test_positional_gaussian [fixtures_dir]      (default: $ONECLASS_FIXTURES, else test/fixtures)
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "oneclass/backend.h"
#include "oneclass/errors.h"
#include "oneclass/positional_gaussian.h"
#include "safetensors_reader.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

struct NaiveFit {
  std::vector<double> mean, cov, logDet, scores;
};

// x: images x positions x dim; scores of y (queries x positions).
NaiveFit naive(const std::vector<float>& x, int64_t images, int64_t positions, int64_t d, double reg,
               const std::vector<float>& y, int64_t queries) {
  NaiveFit f;
  f.mean.assign(positions * d, 0.0);
  f.cov.assign(positions * d * d, 0.0);
  f.logDet.assign(positions, 0.0);
  f.scores.assign(queries * positions, 0.0);
  for (int64_t p = 0; p < positions; ++p) {
    double* mu = &f.mean[p * d];
    double* c = &f.cov[p * d * d];
    for (int64_t i = 0; i < images; ++i)
      for (int64_t k = 0; k < d; ++k) mu[k] += x[(i * positions + p) * d + k] / static_cast<double>(images);
    for (int64_t i = 0; i < images; ++i)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b)
          c[a * d + b] += (x[(i * positions + p) * d + a] - mu[a]) * (x[(i * positions + p) * d + b] - mu[b]) /
                          static_cast<double>(images - 1);
    for (int64_t k = 0; k < d; ++k) c[k * d + k] += reg;
    // Cholesky, then |L^-1 (y - mu)|^2 by forward substitution.
    std::vector<double> l(c, c + d * d);
    for (int64_t j = 0; j < d; ++j) {
      double s = l[j * d + j];
      for (int64_t k = 0; k < j; ++k) s -= l[j * d + k] * l[j * d + k];
      l[j * d + j] = std::sqrt(s);
      f.logDet[p] += 2 * std::log(l[j * d + j]);
      for (int64_t i = j + 1; i < d; ++i) {
        double t = l[i * d + j];
        for (int64_t k = 0; k < j; ++k) t -= l[i * d + k] * l[j * d + k];
        l[i * d + j] = t / l[j * d + j];
      }
    }
    for (int64_t q = 0; q < queries; ++q) {
      std::vector<double> z(d);
      double s2 = 0;
      for (int64_t i = 0; i < d; ++i) {
        double t = y[(q * positions + p) * d + i] - mu[i];
        for (int64_t k = 0; k < i; ++k) t -= l[i * d + k] * z[k];
        z[i] = t / l[i * d + i];
        s2 += z[i] * z[i];
      }
      f.scores[q * positions + p] = s2;
    }
  }
  return f;
}

// Features with a different mean and correlation per position.
std::vector<float> features(int64_t images, int64_t positions, int64_t d, uint32_t seed, float spread) {
  auto z = gaussianMatrix(images * positions, d, seed);
  auto mix = gaussianMatrix(positions * d, d, 77, 0.3f);
  std::vector<float> x(z.size());
  for (int64_t i = 0; i < images; ++i)
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t a = 0; a < d; ++a) {
        double v = 0.1 * p + 0.05 * a;
        for (int64_t b = 0; b <= a; ++b) v += mix[(p * d + a) * d + b] * z[(i * positions + p) * d + b];
        x[(i * positions + p) * d + a] = static_cast<float>(spread * v + z[(i * positions + p) * d + a]);
      }
  return x;
}

void checkAgainstNaive(Tally& t, int64_t images, int64_t positions, int64_t d, double reg, int threads) {
  const auto x = features(images, positions, d, 1, 1.0f);
  const int64_t queries = 13;
  const auto y = features(queries, positions, d, 2, 1.3f);
  const NaiveFit want = naive(x, images, positions, d, reg, y, queries);
  std::vector<double> mean(positions * d), cov(positions * d * d), logDet(positions), scores(queries * positions);
  PositionalGaussianOptions o;
  o.regularization = reg;
  o.threads = threads;
  auto set =
      fitPositionalGaussian(cpuBackend(), x.data(), images, positions, d, o, mean.data(), cov.data(), logDet.data());
  ExecOptions exec;
  exec.threads = threads;
  scorePositionalGaussian(cpuBackend(), *set, y.data(), queries, scores.data(), exec);
  const std::string tag = "images=" + std::to_string(images) + " positions=" + std::to_string(positions) +
                          " d=" + std::to_string(d) + " reg=" + fmt(reg) + " threads=" + std::to_string(threads);
  const double rm = std::max(toleranceRatio(mean, want.mean, kPositionalMoments.atol, kPositionalMoments.rtol),
                             toleranceRatio(cov, want.cov, kPositionalMoments.atol, kPositionalMoments.rtol));
  const double rl = toleranceRatio(logDet, want.logDet, kPositionalMoments.atol, 1e-9);
  const double rs = toleranceRatio(scores, want.scores, kPositionalScore.atol, kPositionalScore.rtol);
  t.check(rm <= 1 && rl <= 1 && rs <= 1, "fit and score " + tag,
          "tolerance ratios: moments " + fmt(rm) + ", logdet " + fmt(rl) + ", scores " + fmt(rs));
  // Restored from the stored statistics, the scores are the same bits.
  std::vector<double> logDet2(positions), scores2(queries * positions);
  auto restored =
      preparePositionalGaussian(cpuBackend(), mean.data(), cov.data(), positions, d, threads, logDet2.data());
  scorePositionalGaussian(cpuBackend(), *restored, y.data(), queries, scores2.data(), exec);
  t.check(scores2 == scores && logDet2 == logDet, "restored from mean and covariance " + tag, "");
}

void checkFixtures(Tally& t, const std::string& root) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(root) / "positional";
  const std::vector<fs::path> files = fixtureFiles(dir);
  t.check(!files.empty(), "positional fixtures found", dir.string());
  for (const fs::path& f : files) {
    const std::string name = "fixture " + f.stem().string();
    try {
      const Fixture fx = readSafetensors(f.string());
      const Tensor& tx = fx.tensors.at("x");
      const Tensor& ty = fx.tensors.at("y");
      const int64_t images = tx.shape.at(0), positions = tx.shape.at(1), d = tx.shape.at(2);
      const int64_t queries = ty.shape.at(0);
      const auto x = tx.as<float>("F32"), y = ty.as<float>("F32");
      std::vector<double> mean(positions * d), cov(positions * d * d), logDet(positions), scores(queries * positions);
      PositionalGaussianOptions o;
      o.regularization = fx.num("regularization");
      auto set = fitPositionalGaussian(cpuBackend(), x.data(), images, positions, d, o, mean.data(), cov.data(),
                                       logDet.data());
      scorePositionalGaussian(cpuBackend(), *set, y.data(), queries, scores.data(), {});
      const double rs = toleranceRatio(scores, fx.tensors.at("scores").as<double>("F64"), kPositionalScore.atol,
                                       kPositionalScore.rtol);
      const double rm = toleranceRatio(mean, fx.tensors.at("mean").as<double>("F64"), kPositionalMoments.atol,
                                       kPositionalMoments.rtol);
      const double rl = toleranceRatio(logDet, fx.tensors.at("logdet").as<double>("F64"), 1e-9, 1e-9);
      t.check(rs <= 1 && rm <= 1 && rl <= 1, name,
              "tolerance ratios: scores " + fmt(rs) + ", means " + fmt(rm) + ", logdet " + fmt(rl));
    } catch (const std::exception& e) {
      t.check(false, name, std::string("exception: ") + e.what());
    }
  }
}

void checkErrors(Tally& t) {
  const int64_t images = 5, positions = 3, d = 8;
  auto x = features(images, positions, d, 4, 1.0f);
  std::vector<double> mean(positions * d), cov(positions * d * d), logDet(positions);
  PositionalGaussianOptions none;
  none.regularization = 0;
  // 5 images in 8 dimensions: rank-deficient covariances without regularization.
  try {
    fitPositionalGaussian(cpuBackend(), x.data(), images, positions, d, none, mean.data(), cov.data(), logDet.data());
    t.check(false, "singular covariance", "no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    t.check(e.code() == ErrorCode::NumericalError && m.find("position 0") != std::string::npos,
            "singular covariance names the position", m);
  }
  PositionalGaussianOptions o;
  t.expectError(ErrorCode::InvalidArgument, "one image", [&] {
    fitPositionalGaussian(cpuBackend(), x.data(), 1, positions, d, o, mean.data(), cov.data(), logDet.data());
  });
  t.expectError(ErrorCode::InvalidArgument, "no positions", [&] {
    fitPositionalGaussian(cpuBackend(), x.data(), images, 0, d, o, mean.data(), cov.data(), logDet.data());
  });
  x[(3 * positions + 2) * d + 6] = INFINITY;
  try {
    fitPositionalGaussian(cpuBackend(), x.data(), images, positions, d, o, mean.data(), cov.data(), logDet.data());
    t.check(false, "Infinity named", "no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    t.check(e.code() == ErrorCode::InvalidArgument && m.find("image 3 at position 2") != std::string::npos &&
                m.find("Infinity (dimension 6)") != std::string::npos,
            "Infinity named by image, position and dimension", m);
  }
  // 1,024 positions of 384 dimensions: about 1.8 GB, refused under a 1 GiB limit.
  const int64_t bytes = positionalGaussianBytes(1024, 384, 2);
  t.check(bytes > 1024LL * 384 * 384 * 12 && bytes < 1024LL * 384 * 384 * 14, "memory estimate of 1024 x 384",
          std::to_string(bytes >> 20) + " MiB");
  t.expectError(ErrorCode::OutOfMemory, "statistics over the memory limit",
                [&] { requireMemory(bytes, int64_t{1} << 30, "per-position statistics"); });
  requireMemory(bytes, 0, "no limit");
  t.check(true, "limit 0 means no limit", "");
}

}  // namespace

int main(int argc, char** argv) {
  Tally t;
  const std::string root = fixturesRoot(argc, argv);
  try {
    checkFixtures(t, root);
    checkAgainstNaive(t, 2, 1, 1, 0.01, 1);
    checkAgainstNaive(t, 30, 7, 5, 0.01, 2);
    checkAgainstNaive(t, 25, 12, 33, 0.01, 3);
    checkAgainstNaive(t, 60, 5, 70, 0.01, 2);
    checkAgainstNaive(t, 9, 40, 16, 0.5, 2);
    checkAgainstNaive(t, 120, 3, 17, 0.0, 1);
    checkErrors(t);
  } catch (const std::exception& e) {
    t.check(false, "positional Gaussian tests", std::string("exception: ") + e.what());
  }
  return t.finish();
}
