// Greedy k-center selection against float64 references: the fixtures of
// python-export/refs/ref_coreset.py (numpy, with its own implementation of the documented random
// projection) and a naive float64 implementation here, over awkward shapes, duplicates, thread
// counts and both storage paths (rows as given, projected rows). Selections must be identical.
//
//   test_coreset [fixtures_dir]      (default: $ONECLASS_FIXTURES, else test/fixtures)
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>

#include "oneclass/backend.h"
#include "oneclass/coreset.h"
#include "oneclass/errors.h"
#include "safetensors_reader.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

// The definition, naively: float64 rows (projected when asked), exact differences, argmax with
// ties to the lowest index, selected rows excluded.
struct NaiveSelection {
  std::vector<int64_t> indices;
  double radius = 0;
};

NaiveSelection naiveKCenter(const std::vector<float>& x, int64_t n, int64_t d, const KCenterOptions& o) {
  int64_t dim = d;
  std::vector<double> rows(x.begin(), x.end());
  if (o.projection > 0) {
    const std::vector<double> r = gaussianProjection(o.projection, d, o.seed);
    dim = o.projection;
    std::vector<double> p(static_cast<size_t>(n * dim), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < dim; ++j) {
        double s = 0;
        for (int64_t k = 0; k < d; ++k) s += static_cast<double>(x[i * d + k]) * r[j * d + k];
        p[i * dim + j] = s;
      }
    rows.swap(p);
  }
  std::vector<double> mind(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  NaiveSelection out;
  int64_t c = o.start;
  for (int64_t step = 0; step < o.count; ++step) {
    out.indices.push_back(c);
    mind[c] = -1;
    for (int64_t i = 0; i < n; ++i) {
      if (mind[i] < 0) continue;
      double s = 0;
      for (int64_t k = 0; k < dim; ++k)
        s += (rows[i * dim + k] - rows[c * dim + k]) * (rows[i * dim + k] - rows[c * dim + k]);
      mind[i] = std::min(mind[i], s);
    }
    c = std::max_element(mind.begin(), mind.end()) - mind.begin();  // the first maximum
  }
  out.radius = std::sqrt(std::max(0.0, *std::max_element(mind.begin(), mind.end())));
  return out;
}

std::string firstDifference(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size()) return "sizes " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i]) return "step " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
  return "identical";
}

// Rows on a few low-dimensional subspaces (the shape of patch features), which exercise the
// pruning; scale sets how far apart the clusters are.
std::vector<float> clusteredRows(int64_t n, int64_t d, int clusters, uint32_t seed, float scale) {
  auto centers = gaussianMatrix(clusters, d, seed, scale);
  auto basis = gaussianMatrix(clusters * 3, d, seed + 1);
  auto coef = gaussianMatrix(n, 3, seed + 2);
  auto noise = gaussianMatrix(n, d, seed + 3, 0.02f);
  std::vector<float> x(static_cast<size_t>(n * d));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = (i * 7919) % clusters;
    for (int64_t k = 0; k < d; ++k) {
      float v = centers[c * d + k] + noise[i * d + k];
      for (int b = 0; b < 3; ++b) v += coef[i * 3 + b] * basis[(c * 3 + b) * d + k];
      x[i * d + k] = v;
    }
  }
  return x;
}

void checkAgainstNaive(Tally& t, const std::string& name, const std::vector<float>& x, int64_t n, int64_t d,
                       KCenterOptions o) {
  const NaiveSelection want = naiveKCenter(x, n, d, o);
  for (int threads : {1, 2, 5}) {
    o.threads = threads;
    const KCenterResult got = kCenterGreedy(cpuBackend(), x.data(), n, d, o);
    const double r = toleranceRatio(std::vector<double>{got.coveringRadius}, std::vector<double>{want.radius},
                                    kCoresetRadius.atol, kCoresetRadius.rtol);
    t.check(got.indices == want.indices && r <= 1, name + " threads=" + std::to_string(threads),
            firstDifference(got.indices, want.indices) + ", covering radius " + fmt(got.coveringRadius) + " vs " +
                fmt(want.radius));
  }
}

void checkFixtures(Tally& t, const std::string& root) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(root) / "coreset";
  const std::vector<fs::path> files = fixtureFiles(dir);
  t.check(files.size() >= 4, "coreset fixtures found", dir.string());
  for (const fs::path& f : files) {
    const std::string name = "fixture " + f.stem().string();
    try {
      const Fixture fx = readSafetensors(f.string());
      const Tensor& tx = fx.tensors.at("x");
      const std::vector<float> x = tx.as<float>("F32");
      const int64_t n = tx.rows(), d = tx.cols();
      KCenterOptions o;
      o.count = static_cast<int64_t>(fx.num("count"));
      o.projection = static_cast<int64_t>(fx.num("projection"));
      o.seed = std::stoull(fx.meta.at("seed"));
      o.start = static_cast<int64_t>(fx.num("start"));
      if (o.projection > 0) {
        const std::vector<double> want = fx.tensors.at("projection").as<double>("F64");
        const std::vector<double> got = gaussianProjection(o.projection, d, o.seed);
        int64_t differ = 0;
        for (size_t i = 0; i < want.size(); ++i) differ += got[i] != want[i];
        t.check(got.size() == want.size() && differ == 0, name + " projection bit for bit",
                std::to_string(differ) + " of " + std::to_string(want.size()) + " entries differ");
      }
      const std::vector<int64_t> want = fx.tensors.at("indices").as<int64_t>("I64");
      const double radius = fx.num("covering_radius");
      for (int threads : {1, 2}) {
        o.threads = threads;
        const KCenterResult got = kCenterGreedy(cpuBackend(), x.data(), n, d, o);
        const double r = toleranceRatio(std::vector<double>{got.coveringRadius}, std::vector<double>{radius},
                                        kCoresetRadius.atol, kCoresetRadius.rtol);
        t.check(
            got.indices == want && r <= 1, name + " threads=" + std::to_string(threads),
            firstDifference(got.indices, want) + ", covering radius " + fmt(got.coveringRadius) + " vs " + fmt(radius));
      }
    } catch (const std::exception& e) {
      t.check(false, name, std::string("exception: ") + e.what());
    }
  }
}

class CountingProgress final : public Progress {
 public:
  explicit CountingProgress(int64_t cancelAfter) : cancelAfter_(cancelAfter) {}
  void report(int64_t done, int64_t total) override {
    ordered_ = ordered_ && done > last_ && done <= total;
    last_ = done;
    ++calls_;
  }
  bool cancelled() const override { return cancelAfter_ >= 0 && last_ >= cancelAfter_; }
  int64_t last_ = 0, calls_ = 0;
  bool ordered_ = true;

 private:
  int64_t cancelAfter_;
};

void checkProgressAndErrors(Tally& t) {
  const int64_t n = 500, d = 12;
  auto x = gaussianMatrix(n, d, 3);
  KCenterOptions o;
  o.count = 50;
  o.projection = 4;
  CountingProgress all(-1);
  kCenterGreedy(cpuBackend(), x.data(), n, d, o, &all);
  t.check(all.ordered_ && all.last_ == 50 && all.calls_ >= 1, "progress reaches count in order",
          std::to_string(all.calls_) + " reports, last " + std::to_string(all.last_));
  CountingProgress stop(10);
  t.expectError(ErrorCode::Aborted, "cancelled after 10 steps",
                [&] { kCenterGreedy(cpuBackend(), x.data(), n, d, o, &stop); });
  t.check(stop.last_ == 10, "cancelled selection stops at once", "last report " + std::to_string(stop.last_));

  KCenterOptions bad = o;
  bad.count = 0;
  t.expectError(ErrorCode::InvalidArgument, "count 0", [&] { kCenterGreedy(cpuBackend(), x.data(), n, d, bad); });
  bad.count = n + 1;
  t.expectError(ErrorCode::InvalidArgument, "count above the rows",
                [&] { kCenterGreedy(cpuBackend(), x.data(), n, d, bad); });
  bad = o;
  bad.start = n;
  t.expectError(ErrorCode::InvalidArgument, "start out of range",
                [&] { kCenterGreedy(cpuBackend(), x.data(), n, d, bad); });
  t.expectError(ErrorCode::InvalidArgument, "no rows", [&] { kCenterGreedy(cpuBackend(), x.data(), 0, d, o); });
  x[137 * d + 5] = std::nanf("");
  try {
    kCenterGreedy(cpuBackend(), x.data(), n, d, o);
    t.check(false, "NaN row named", "no error");
  } catch (const Error& e) {
    const std::string m = e.what();
    t.check(e.code() == ErrorCode::InvalidArgument && m.find("row 137") != std::string::npos &&
                m.find("NaN") != std::string::npos,
            "NaN row named", m);
  }
  // Memory estimate: the projected rows dominate.
  KCenterOptions big;
  big.count = 7700;
  big.projection = 128;
  const int64_t bytes = kCenterWorkingBytes(770000, 384, big);
  t.check(bytes >= 770000LL * 128 * 8 && bytes < 770000LL * 128 * 8 * 2, "working bytes of a 770,000-row bank",
          std::to_string(bytes >> 20) + " MiB");
}

}  // namespace

int main(int argc, char** argv) {
  Tally t;
  const std::string root = fixturesRoot(argc, argv);
  try {
    checkFixtures(t, root);
    struct Case {
      const char* name;
      int64_t n, d, count, projection, start;
      int clusters;  // 0: isotropic Gaussian rows
      float scale;
    };
    for (Case c : {Case{"gaussian", 700, 9, 90, 0, 0, 0, 1}, Case{"gaussian projected", 900, 31, 150, 5, 17, 0, 1},
                   Case{"one row", 1, 4, 1, 0, 0, 0, 1}, Case{"every row", 60, 3, 60, 0, 59, 0, 1},
                   Case{"one column", 400, 1, 80, 0, 3, 0, 1}, Case{"clustered", 3000, 24, 400, 0, 0, 30, 6},
                   Case{"clustered, tight", 4000, 17, 600, 8, 100, 60, 20},
                   Case{"clustered, projected up", 1000, 6, 200, 12, 0, 10, 4},
                   Case{"wide rows, not rotated", 300, 600, 40, 0, 0, 0, 1},
                   // Isotropic noise in 64-d: the tests stop paying and the plain loop takes over.
                   Case{"gaussian, plain loop", 2000, 64, 300, 0, 7, 0, 1}}) {
      std::vector<float> x = c.clusters ? clusteredRows(c.n, c.d, c.clusters, 5, c.scale)
                                        : gaussianMatrix(c.n, c.d, static_cast<uint32_t>(c.n + c.d));
      KCenterOptions o;
      o.count = c.count;
      o.projection = c.projection;
      o.seed = 99;
      o.start = c.start;
      checkAgainstNaive(t, std::string(c.name) + " n=" + std::to_string(c.n) + " d=" + std::to_string(c.d), x, c.n, c.d,
                        o);
    }
    // Duplicated rows (fewer distinct rows than selected), also after a projection.
    {
      auto distinct = gaussianMatrix(25, 5, 8);
      std::vector<float> x;
      for (int64_t i = 0; i < 250; ++i) {
        const int64_t j = (i * 37) % 25;
        x.insert(x.end(), distinct.begin() + j * 5, distinct.begin() + (j + 1) * 5);
      }
      KCenterOptions o;
      o.count = 40;
      checkAgainstNaive(t, "duplicates", x, 250, 5, o);
      o.projection = 3;
      o.start = 249;
      checkAgainstNaive(t, "duplicates projected", x, 250, 5, o);
    }
    checkProgressAndErrors(t);
  } catch (const std::exception& e) {
    t.check(false, "coreset tests", std::string("exception: ") + e.what());
  }
  return t.finish();
}
