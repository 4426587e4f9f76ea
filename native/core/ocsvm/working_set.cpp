// Working-set selection of the one-class SVM solver (WSS 2 of Fan, Chen and Lin), and the kernel
// rows it asks for: a miss fetches, with the row needed, the rows SMO is likely to need next.
#include <algorithm>

#include "common.h"
#include "oneclass/cpu_dispatch.h"
#include "solver.h"

#if defined(ONECLASS_OCSVM_DENSE_AVX512)
#include <immintrin.h>
// GCC 12 reports the deliberately undefined pass-through operands inside the AVX-512 conversion
// intrinsics (_mm512_cvtepu8_epi64, _mm512_cvtps_pd) as maybe-uninitialized: a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

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
// within eps (libsvm's select_working_set returning 1).
bool Solver::selectWorkingSet(int64_t& outI, int64_t& outJ) {
#if defined(ONECLASS_OCSVM_DENSE_AVX512)
  if (allActive() && cpuLevelHasAvx512()) return selectWorkingSetDense(outI, outJ);
#endif
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

#if defined(ONECLASS_OCSVM_DENSE_AVX512)
#pragma GCC push_options
#pragma GCC target("avx,avx2,fma,bmi,bmi2,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")
// selectWorkingSet over all l variables, eight at a time. Each lane keeps its best value and
// the last index reaching it; merging lanes by (value, then larger index) reproduces the
// scalar loops' ">=" / "<=" tie-breaking (last index wins), so both paths pick the same pair.
bool Solver::selectWorkingSetDense(int64_t& outI, int64_t& outJ) {
  const double* G = G_.data();
  const uint8_t* st = status_.data();
  const int64_t l = l_;
  const int64_t l8 = l & ~int64_t(7);
  const __m512i step8 = _mm512_set1_epi64(8);
  const __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  auto statusMask = [&](int64_t k, uint8_t bad) -> __mmask8 {
    __m512i s8 = _mm512_cvtepu8_epi64(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(st + k)));
    return _mm512_cmpneq_epi64_mask(s8, _mm512_set1_epi64(bad));
  };
  // Merges lanes: the best value by `better`, ties to the larger index.
  auto reduce = [](__m512d v, __m512i idx, bool wantMax, double& bestV, int64_t& bestI) {
    alignas(64) double vs[8];
    alignas(64) int64_t is[8];
    _mm512_store_pd(vs, v);
    _mm512_store_epi64(is, idx);
    for (int u = 0; u < 8; ++u) {
      if (is[u] < 0) continue;
      bool better = wantMax ? vs[u] > bestV : vs[u] < bestV;
      if (better || (vs[u] == bestV && is[u] > bestI) || bestI < 0) {
        bestV = vs[u];
        bestI = is[u];
      }
    }
  };

  // i = argmax { -G_t : alpha_t < C }
  __m512d vmax = _mm512_set1_pd(-kInf);
  __m512i imax = _mm512_set1_epi64(-1), idx = lane;
  for (int64_t k = 0; k < l8; k += 8, idx = _mm512_add_epi64(idx, step8)) {
    __m512d negG = _mm512_sub_pd(_mm512_setzero_pd(), _mm512_loadu_pd(G + k));
    __mmask8 m = statusMask(k, kUpper) & _mm512_cmp_pd_mask(negG, vmax, _CMP_GE_OQ);
    vmax = _mm512_mask_mov_pd(vmax, m, negG);
    imax = _mm512_mask_mov_epi64(imax, m, idx);
  }
  double gmax = -kInf;
  int64_t iBest = -1;
  reduce(vmax, imax, true, gmax, iBest);
  if (iBest < 0) gmax = -kInf;
  for (int64_t k = l8; k < l; ++k)
    if (st[k] != kUpper && -G[k] >= gmax) {
      gmax = -G[k];
      iBest = k;
    }
  if (iBest < 0) return false;  // no i: no j either (libsvm returns "optimal")

  // j = argmin { -(gmax + G_t)^2 / quad_t : alpha_t > 0, gmax + G_t > 0 }; Gmax2 = max G_t
  const float* Qi = row(iBest);
  const double* QD = QD_.data();
  const __m512d vgmax = _mm512_set1_pd(gmax), vqdi = _mm512_set1_pd(QD[iBest]);
  const __m512d two = _mm512_set1_pd(2.0), tau = _mm512_set1_pd(kTau);
  const __m512d zero = _mm512_setzero_pd();
  __m512d vg2 = _mm512_set1_pd(-kInf), vmin = _mm512_set1_pd(kInf);
  __m512i imin = _mm512_set1_epi64(-1);
  idx = lane;
  for (int64_t k = 0; k < l8; k += 8, idx = _mm512_add_epi64(idx, step8)) {
    __mmask8 ok = statusMask(k, kLower);
    __m512d g = _mm512_loadu_pd(G + k);
    vg2 = _mm512_mask_max_pd(vg2, ok, vg2, g);
    __m512d gd = _mm512_add_pd(vgmax, g);
    __mmask8 pos = ok & _mm512_cmp_pd_mask(gd, zero, _CMP_GT_OQ);
    if (!pos) continue;
    __m512d qi = _mm512_cvtps_pd(_mm256_loadu_ps(Qi + k));
    __m512d quad = _mm512_sub_pd(_mm512_add_pd(vqdi, _mm512_loadu_pd(QD + k)), _mm512_mul_pd(two, qi));
    quad = _mm512_mask_mov_pd(tau, _mm512_cmp_pd_mask(quad, zero, _CMP_GT_OQ), quad);
    __m512d od = _mm512_div_pd(_mm512_sub_pd(zero, _mm512_mul_pd(gd, gd)), quad);
    __mmask8 m = pos & _mm512_cmp_pd_mask(od, vmin, _CMP_LE_OQ);
    vmin = _mm512_mask_mov_pd(vmin, m, od);
    imin = _mm512_mask_mov_epi64(imin, m, idx);
  }
  JSelection j{gmax, QD[iBest], Qi};
  j.gmax2 = _mm512_reduce_max_pd(vg2);
  reduce(vmin, imin, false, j.objDiffMin, j.best);
  if (j.best < 0) j.objDiffMin = kInf;
  for (int64_t k = l8; k < l; ++k)  // the last l % 8 variables
    if (st[k] != kLower) j.consider(k, G[k], QD[k]);
  if (gmax + j.gmax2 < eps_ || j.best == -1) return false;
  outI = iBest;
  outJ = j.best;
  return true;
}
#pragma GCC pop_options
#endif

}  // namespace oneclass::ocsvm
