#include "rbf_reference.h"

#include <cmath>
#include <sstream>
#include <string>

#include "oneclass/errors.h"
#include "oneclass/parallel.h"

namespace oneclass::ocsvm {
namespace {

std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// |a - b|^2 for four b rows at once: exact float differences accumulated in double, eight
// partial sums per row so the compiler can keep them in vector registers.
inline void sqDist4(const float* a, const float* b0, const float* b1, const float* b2, const float* b3, int64_t d,
                    double out[4]) {
  double acc[4][8] = {};
  const float* b[4] = {b0, b1, b2, b3};
  int64_t k = 0;
  for (; k + 8 <= d; k += 8) {
    for (int r = 0; r < 4; ++r) {
      for (int u = 0; u < 8; ++u) {
        double t = double(a[k + u]) - double(b[r][k + u]);
        acc[r][u] += t * t;
      }
    }
  }
  for (int r = 0; r < 4; ++r) {
    double s =
        ((acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3])) + ((acc[r][4] + acc[r][5]) + (acc[r][6] + acc[r][7]));
    for (int64_t kk = k; kk < d; ++kk) {
      double t = double(a[kk]) - double(b[r][kk]);
      s += t * t;
    }
    out[r] = s;
  }
}

inline double sqDist1(const float* a, const float* b, int64_t d) {
  double out[4];
  sqDist4(a, b, b, b, b, d, out);
  return out[0];
}

}  // namespace

RbfKernelSource::RbfKernelSource(const float* x, int64_t l, int64_t d, double gamma, int threads)
    : x_(x), l_(l), d_(d), gamma_(gamma), threads_(resolveThreads(threads)) {
  require(x != nullptr || l == 0, "Expected a data pointer for the kernel source");
  require(l >= 0 && d >= 1,
          "Expected l >= 0 and d >= 1 but received l=" + std::to_string(l) + " d=" + std::to_string(d));
  require(gamma > 0 && std::isfinite(gamma), "Expected gamma > 0 but received " + str(gamma));
}

bool RbfKernelSource::computeAmong(const int64_t* rows, int count, int r0, int r1, float* out) {
  parallelFor(r1 - r0, threads_, [&](int64_t r, int) {
    const float* a = x_ + rows[r0 + r] * d_;
    for (int c = 0; c < count; ++c) out[r * count + c] = float(std::exp(-gamma_ * sqDist1(a, x_ + rows[c] * d_, d_)));
  });
  return true;
}

void RbfKernelSource::computeRows(const int64_t* rows, int count, float* out) {
  // Work items are (row, block of 256 columns) so that even a single row uses every thread.
  const int64_t block = 256;
  const int64_t blocks = (l_ + block - 1) / block;
  parallelFor(int64_t(count) * blocks, threads_, [&](int64_t item, int) {
    const int64_t r = item / blocks;
    const int64_t j0 = (item % blocks) * block, j1 = std::min(l_, j0 + block);
    const float* a = x_ + rows[r] * d_;
    float* o = out + r * l_;
    double dist[4];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      sqDist4(a, x_ + j * d_, x_ + (j + 1) * d_, x_ + (j + 2) * d_, x_ + (j + 3) * d_, d_, dist);
      for (int u = 0; u < 4; ++u) o[j + u] = float(std::exp(-gamma_ * dist[u]));
    }
    for (; j < j1; ++j) o[j] = float(std::exp(-gamma_ * sqDist1(a, x_ + j * d_, d_)));
  });
}

std::vector<double> decisionFunctionRbf(const float* x, int64_t l, int64_t d, double gamma,
                                        const std::vector<double>& alpha, double rho, const float* y, int64_t m,
                                        int threads) {
  require(int64_t(alpha.size()) == l, "Expected alpha of size l");
  std::vector<int64_t> sv;
  for (int64_t i = 0; i < l; ++i)
    if (alpha[size_t(i)] > 0) sv.push_back(i);
  std::vector<double> out(static_cast<size_t>(m));
  parallelFor(m, resolveThreads(threads), [&](int64_t q, int) {
    const float* b = y + q * d;
    double s = 0;
    for (int64_t i : sv) s += alpha[size_t(i)] * std::exp(-gamma * sqDist1(x + i * d, b, d));
    out[size_t(q)] = s - rho;
  });
  return out;
}

}  // namespace oneclass::ocsvm
