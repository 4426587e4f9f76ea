#include "oneclass/column_stats.h"

#include <algorithm>
#include <cmath>

#include "oneclass/parallel.h"
#include "oneclass/transform.h"

namespace oneclass {
namespace {

// sum_k f(v_k) in float64 over eight interleaved partial sums: a fixed order, and independent
// additions in flight so the loop vectorizes (one chain was latency bound).
template <typename F>
double rowSum(const float* v, int64_t d, F&& f) {
  double acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= d; k += 8)
    for (int u = 0; u < 8; ++u) acc[u] += f(k + u, static_cast<double>(v[k + u]));
  double s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; k < d; ++k) s += f(k, static_cast<double>(v[k]));
  return s;
}

}  // namespace

ColumnStats columnStats(const float* x, int64_t n, int64_t d, const RowTransform& transform, int threads) {
  threads = resolveThreads(threads);
  ColumnStats stats;
  stats.mean.assign(static_cast<size_t>(d), 0.0);
  // Rows are transformed a superblock at a time, so the working memory stays bounded.
  const int64_t block = superblockRows(d);
  // With no transform the rows are read in place.
  const bool identity = !transform.l2normalize && transform.center.empty();
  std::vector<float> buffer(identity ? 0 : static_cast<size_t>(std::min(n, block) * d));
  // Partial sums per fixed item of rows, merged in item order: the result does not depend on
  // which thread ran which item, so fits are reproducible bit for bit.
  const int64_t rowsPerItem = 256;
  const int64_t items = (std::min(n, block) + rowsPerItem - 1) / rowsPerItem;
  std::vector<double> colSums(static_cast<size_t>(items * d)), sq(static_cast<size_t>(items));
  double totalSq = 0;
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    const float* t = identity ? x + s * d : buffer.data();
    if (!identity) applyTransform(transform, x + s * d, count, d, buffer.data(), nullptr, threads);
    const int64_t used = (count + rowsPerItem - 1) / rowsPerItem;
    parallelFor(used, threads, [&](int64_t item, int) {
      double* __restrict cs = colSums.data() + item * d;
      std::fill(cs, cs + d, 0.0);
      double q = 0;
      for (int64_t i = item * rowsPerItem; i < std::min(count, (item + 1) * rowsPerItem); ++i) {
        const float* row = t + i * d;
        for (int64_t k = 0; k < d; ++k) cs[k] += static_cast<double>(row[k]);
        q += rowSum(row, d, [](int64_t, double v) { return v * v; });
      }
      sq[item] = q;
    });
    for (int64_t item = 0; item < used; ++item) {
      totalSq += sq[item];
      for (int64_t k = 0; k < d; ++k) stats.mean[k] += colSums[item * d + k];
    }
  }
  double total = 0;
  for (int64_t k = 0; k < d; ++k) total += stats.mean[k];
  const double entries = static_cast<double>(n) * static_cast<double>(d);
  for (auto& m : stats.mean) m /= static_cast<double>(n);
  const double mu = total / entries;
  stats.variance = std::max(0.0, totalSq / entries - mu * mu);

  // Second pass, around the mean: deviations per column (partials per item, merged in item order)
  // and per row, and the largest magnitude.
  std::vector<double> columnDev(static_cast<size_t>(d), 0.0), rowDev(static_cast<size_t>(n));
  std::vector<double> largest(static_cast<size_t>(items), 0.0);
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    const float* t = identity ? x + s * d : buffer.data();
    if (!identity) applyTransform(transform, x + s * d, count, d, buffer.data(), nullptr, threads);
    const int64_t used = (count + rowsPerItem - 1) / rowsPerItem;
    const double* __restrict mean = stats.mean.data();
    parallelFor(used, threads, [&](int64_t item, int) {
      double* __restrict cs = colSums.data() + item * d;
      std::fill(cs, cs + d, 0.0);
      float top = 0;
      for (int64_t i = item * rowsPerItem; i < std::min(count, (item + 1) * rowsPerItem); ++i) {
        const float* row = t + i * d;
        for (int64_t k = 0; k < d; ++k) {
          const double dev = static_cast<double>(row[k]) - mean[k];
          cs[k] += dev * dev;
          top = std::max(top, std::fabs(row[k]));
        }
        rowDev[s + i] = rowSum(row, d, [&](int64_t k, double v) {
          const double dev = v - mean[k];
          return dev * dev;
        });
      }
      largest[item] = top;
    });
    for (int64_t item = 0; item < used; ++item) {
      stats.largestAbs = std::max(stats.largestAbs, largest[item]);
      for (int64_t k = 0; k < d; ++k) columnDev[k] += colSums[item * d + k];
    }
  }
  auto upperMedian = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  if (n > 0 && d > 0) {
    stats.medianColumnDeviation = upperMedian(columnDev);
    stats.medianRowDeviation = upperMedian(rowDev);
  }
  return stats;
}

}  // namespace oneclass
