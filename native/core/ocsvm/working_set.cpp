// Working-set selection of the one-class SVM solver (WSS 2 of Fan, Chen and Lin), and the kernel
// rows it asks for: a miss fetches, with the row needed, the rows SMO is likely to need next.
#include <algorithm>

#include "../cpu/solver_kernels.h"
#include "common.h"
#include "solver.h"

namespace oneclass::ocsvm {
namespace {

// WSS 2's choice of j once i is chosen (y = +1): over the variables above their lower bound, the
// largest gradient (gmax2, for the stopping rule) and the smallest -(gmax + G_k)^2 / quad_ik.
// Ties go to the later index, as libsvm's loop.
struct JSelection {
  double gmax, qdi;
  const float* Qi;  // row i of Q; read only where gmax + G_k > 0, so null when there is no i
  double gmax2 = -kInf, objDiffMin = kInf;
  int64_t best = -1;

  void consider(int64_t k, double g, double qdk) {
    if (g >= gmax2) gmax2 = g;
    const double gradDiff = gmax + g;
    if (gradDiff > 0) {
      const double quad = qdi + qdk - 2.0 * double(Qi[k]);
      const double objDiff = -(gradDiff * gradDiff) / (quad > 0 ? quad : kTau);
      if (objDiff <= objDiffMin) {
        objDiffMin = objDiff;
        best = k;
      }
    }
  }
};

}  // namespace

// Row k of Q. On a miss while the cache still has unused slots, computes it together with up
// to rowBatch - 1 other uncached rows SMO is likely to ask for next: the active variables with
// the largest -G below the upper bound (candidates for i) and the largest G above the lower
// bound (candidates for j). One pass over the data then serves several rows, which matters
// when a row is bound by reading the l x d data (large l) or the source is a GEMM.
const float* Solver::row(int64_t k) {
  // Only into never-used slots: once the cache is full, speculative rows would evict rows
  // known to be useful (measured 40% slower at l=10000 with a cache of 39% of the rows).
  const int64_t want = std::min<int64_t>(rowBatch_, cache_.freeSlots()) - 1;
  if (want <= 0 || cache_.resident(k)) return cache_.row(k);
  batch_.assign(1, k);
  byUp_.clear();
  byLow_.clear();
  for (int32_t t : active_) {
    if (t == k || cache_.resident(t)) continue;
    if (!upper(t)) byUp_.push_back({-G_[size_t(t)], t});
    if (!lower(t)) byLow_.push_back({G_[size_t(t)], t});
  }
  auto takeTop = [&](std::vector<std::pair<double, int64_t>>& v, int64_t n) {
    n = std::min<int64_t>(n, int64_t(v.size()));
    if (n <= 0) return;
    std::nth_element(v.begin(), v.begin() + (n - 1), v.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (int64_t u = 0; u < n; ++u) batch_.push_back(v[size_t(u)].second);
  };
  takeTop(byUp_, want / 2);
  std::sort(batch_.begin() + 1, batch_.end());
  const size_t fromUp = batch_.size();
  byLow_.erase(std::remove_if(byLow_.begin(), byLow_.end(),
                              [&](const auto& e) {
                                return std::binary_search(batch_.begin() + 1, batch_.begin() + fromUp, e.second);
                              }),
               byLow_.end());
  takeTop(byLow_, want - int64_t(fromUp - 1));
  ptrs_.resize(batch_.size());
  cache_.rows(batch_.data(), int(batch_.size()), ptrs_.data());
  return ptrs_[0];
}

// WSS 2 of Fan et al. for y = +1 everywhere. Returns false when the active set is optimal
// within eps (libsvm's select_working_set returning 1). With every variable active (no
// shrinking yet) the two scans run as the CPU level's vector kernels (cpu/solver_kernels.h),
// which pick the same pair as the loops below.
bool Solver::selectWorkingSet(int64_t& outI, int64_t& outJ) {
  if (allActive()) {
    const cpu::SolverKernels& kernels = cpu::solverKernels();
    double gmax = -kInf;
    const int64_t iBest = kernels.selectMaxNegG(G_.data(), status_.data(), kUpper, l_, gmax);
    if (iBest < 0) return false;  // no i: no j either (libsvm returns "optimal")
    const float* Qi = row(iBest);
    JSelection j{gmax, QD_[size_t(iBest)], Qi};
    j.best = kernels.selectMinObjDiff(G_.data(), status_.data(), kLower, QD_.data(), Qi, l_, gmax, QD_[size_t(iBest)],
                                      kTau, j.gmax2, j.objDiffMin);
    if (gmax + j.gmax2 < eps_ || j.best == -1) return false;
    outI = iBest;
    outJ = j.best;
    return true;
  }
  double gmax = -kInf;
  int64_t iBest = -1;
  const size_t na = active_.size();
  for (size_t t = 0; t < na; ++t) {
    int64_t k = active_[t];
    if (!upper(k) && -G_[size_t(k)] >= gmax) {
      gmax = -G_[size_t(k)];
      iBest = k;
    }
  }
  JSelection j{gmax, iBest >= 0 ? QD_[size_t(iBest)] : 0, iBest >= 0 ? row(iBest) : nullptr};
  for (size_t t = 0; t < na; ++t) {
    int64_t k = active_[t];
    if (!lower(k)) j.consider(k, G_[size_t(k)], QD_[size_t(k)]);
  }
  if (gmax + j.gmax2 < eps_ || j.best == -1) return false;
  outI = iBest;
  outJ = j.best;
  return true;
}

}  // namespace oneclass::ocsvm
