// Tiny test harness for the native core's C++ tests: named checks, a closing
// "N passed, N failed, N skipped" line, exit code 1 on any failure.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "oneclass/errors.h"

namespace oneclass::testing {

struct Tally {
  int passed = 0, failed = 0, skipped = 0;
  void check(bool ok, const std::string& name, const std::string& detail = "") {
    (ok ? passed : failed)++;
    std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), detail.empty() ? "" : ": ", detail.c_str());
  }
  void skip(const std::string& name, const std::string& why) {
    skipped++;
    std::printf("SKIP %s: %s\n", name.c_str(), why.c_str());
  }
  // Checks that f() throws oneclass::Error with `code`.
  template <typename F>
  void expectError(ErrorCode code, const std::string& name, F&& f) {
    try {
      f();
      check(false, name, "no error thrown");
    } catch (const Error& e) {
      check(e.code() == code, name, std::string(e.codeName()) + ": " + e.what());
    }
  }
  int finish() const {
    std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
  }
};

inline std::vector<float> gaussianMatrix(int64_t rows, int64_t cols, uint32_t seed, float scale = 1.0f,
                                         float shift = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (auto& v : m) v = dist(rng) * scale + shift;
  return m;
}

// Largest |a - b| / (atol + rtol * |b|) over the arrays: <= 1 means within tolerance.
template <typename A, typename B>
double toleranceRatio(const A& a, const B& b, double atol, double rtol) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    double err = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
    if (!std::isfinite(static_cast<double>(a[i])) || !std::isfinite(static_cast<double>(b[i])))
      err = (a[i] == b[i]) ? 0 : INFINITY;
    worst = std::max(worst, err / (atol + rtol * std::fabs(static_cast<double>(b[i]))));
  }
  return worst;
}

// Mean and biased (divide by n) covariance of n rows of dimension d, naively in float64.
struct NaiveMoments {
  std::vector<double> mean, cov;
};
template <typename T>
NaiveMoments naiveMoments(const std::vector<T>& x, int64_t n, int64_t d) {
  NaiveMoments m{std::vector<double>(d, 0.0), std::vector<double>(d * d, 0.0)};
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < d; ++k) m.mean[k] += x[i * d + k] / static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t a = 0; a < d; ++a)
      for (int64_t b = 0; b < d; ++b)
        m.cov[a * d + b] += (x[i * d + a] - m.mean[a]) * (x[i * d + b] - m.mean[b]) / static_cast<double>(n);
  return m;
}

inline std::string fmt(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

}  // namespace oneclass::testing
