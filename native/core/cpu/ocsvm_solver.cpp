// SMO solver for the one-class SVM dual (see ocsvm.h). Follows libsvm's Solver (as forked in
// scikit-learn 1.2): same start point, working-set selection, two-variable update, shrinking,
// stopping rule and rho. It differs in bookkeeping only:
//  - arrays stay in the original index order and the active set is a sorted index list, instead
//    of libsvm's physical swapping of variables and cached row entries; ties in the working-set
//    selection can therefore be broken differently, which changes the path but not the optimum;
//  - kernel rows are always full length l (libsvm computes only the active part of a row);
//  - kernel rows are fp32 as in libsvm (Qfloat); alpha, gradients and rho are fp64.
#include "oneclass/ocsvm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <sstream>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 reports the deliberately undefined pass-through operands inside the AVX-512 conversion
// intrinsics (_mm512_cvtepu8_epi64, _mm512_cvtps_pd) as maybe-uninitialized: a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#endif

#include "oneclass/errors.h"
#include "oneclass/parallel.h"

namespace oneclass {
namespace ocsvm {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTau = 1e-12;  // libsvm's TAU: curvature used when quad_coef <= 0
constexpr int kRowBatch = 64;   // rows per computeRows call in bulk phases
// Rows extracted from a packed triangle that are kept. SMO rarely revisits a pair soon, so a
// larger cache measured no faster at l=20000 (the extraction is bound by the strided column).
constexpr int64_t kPackedRows = 64;
// Below this many active variables a gradient update costs less than starting threads.
constexpr int64_t kParallelUpdateMin = int64_t(1) << 17;

std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Kernel rows in one of three layouts, chosen from the memory budget:
//  - full:   the whole l x l matrix, precomputed (l*l*4 bytes fit);
//  - packed: the lower triangle, precomputed (l*(l+1)/2*4 bytes plus a few rows fit, the full
//            matrix does not). Q is symmetric, so row i is K[i][0..i] (contiguous) followed by
//            column i below the diagonal; rows are extracted into a small LRU of full rows.
//            Extracting a row reads l floats, recomputing it reads the whole l x d data;
//  - LRU:    full rows computed on demand, least recently used dropped (libsvm's cache).
// A pointer returned by row() stays valid until capacity() - 1 other rows have been requested.
class RowCache {
 public:
  RowCache(KernelRowSource& source, int64_t l, double cacheMb, bool precompute)
      : source_(source), l_(l) {
    const double budget = cacheMb * 1024.0 * 1024.0;
    const double rowBytes = double(l) * sizeof(float);
    const double packedBytes = double(l) * double(l + 1) / 2 * sizeof(float);
    const bool fits = budget >= rowBytes * double(l);
    full_ = fits && precompute;
    packed_ = !fits && precompute && budget >= packedBytes + 2 * rowBytes;
    if (full_) {
      capacity_ = l;
    } else if (packed_) {
      capacity_ = std::min<int64_t>(kPackedRows, int64_t((budget - packedBytes) / rowBytes));
    } else {
      // libsvm, too, raises a cache smaller than two rows to two rows.
      capacity_ = fits ? l : std::max<int64_t>(2, int64_t(budget / rowBytes));
    }
    // Not value-initialized: pages of an on-demand cache become resident only when used.
    storage_.reset(new float[size_t(capacity_) * size_t(l)]);
    std::vector<int64_t> rows(kRowBatch);
    if (full_ && precomputeLowerBlocks(storage_.get(), l)) return;
    if (full_) {
      for (int64_t start = 0; start < l; start += kRowBatch) {
        int count = int(std::min<int64_t>(kRowBatch, l - start));
        for (int r = 0; r < count; ++r) rows[r] = start + r;
        compute(rows.data(), count, storage_.get() + size_t(start) * size_t(l));
      }
      return;
    }
    if (packed_) {
      packedStorage_.reset(new float[size_t(l) * size_t(l + 1) / 2]);
      // Rows are computed in blocks as large as the budget left beside the triangle and the
      // extracted rows allows (at least kRowBatch), through the source's bulk lower-triangle
      // path when it has one.
      const double spare = budget - packedBytes - double(capacity_) * rowBytes;
      const int64_t blockRows = std::clamp<int64_t>(int64_t(spare / rowBytes), kRowBatch, std::max<int64_t>(kRowBatch, (l + 7) / 8));
      std::unique_ptr<float[]> block(new float[size_t(blockRows) * size_t(l)]);
      rows.resize(size_t(blockRows));
      for (int64_t start = 0; start < l; start += blockRows) {
        int count = int(std::min<int64_t>(blockRows, l - start));
        auto t0 = Clock::now();
        if (source_.computeLowerBlock(start, start + count, block.get())) {
          kernelSeconds_ += secondsSince(t0);
          rowsComputed_ += count;
        } else {
          for (int r = 0; r < count; ++r) rows[r] = start + r;
          for (int r0 = 0; r0 < count; r0 += kRowBatch)
            compute(rows.data() + r0, std::min(kRowBatch, count - r0), block.get() + size_t(r0) * size_t(l));
        }
        for (int r = 0; r < count; ++r) {
          int64_t i = start + r;
          std::memcpy(packedStorage_.get() + triangleOffset(i), block.get() + size_t(r) * size_t(l),
                      size_t(i + 1) * sizeof(float));
        }
      }
    }
    slotOf_.assign(size_t(l), -1);
    rowOf_.assign(size_t(capacity_), -1);
    prev_.assign(size_t(capacity_), -1);
    next_.assign(size_t(capacity_), -1);
  }

  bool full() const { return full_; }
  bool packed() const { return packed_; }
  int64_t freeSlots() const { return full_ ? 0 : capacity_ - used_; }
  bool resident(int64_t i) const { return full_ || slotOf_[size_t(i)] >= 0; }
  int64_t capacity() const { return capacity_; }
  int64_t rowsComputed() const { return rowsComputed_; }
  double kernelSeconds() const { return kernelSeconds_; }

  const float* row(int64_t i) {
    if (full_) return storage_.get() + size_t(i) * size_t(l_);
    int64_t slot = slotOf_[size_t(i)];
    if (slot >= 0) {
      touch(slot);
    } else {
      slot = claimSlot(i);
      if (packed_) extract(i, slotData(slot));
      else compute(&i, 1, slotData(slot));
    }
    return slotData(slot);
  }

  // Makes rows[0..count) resident (count <= capacity, no duplicates) with one computeRows call
  // for the missing ones, and writes their addresses to out.
  void rows(const int64_t* rows, int count, const float** out) {
    if (full_) {
      for (int r = 0; r < count; ++r) out[r] = storage_.get() + size_t(rows[r]) * size_t(l_);
      return;
    }
    missing_.clear();
    for (int r = 0; r < count; ++r) {
      int64_t slot = slotOf_[size_t(rows[r])];
      if (slot >= 0) touch(slot);  // protect hits from the evictions below
      else missing_.push_back(rows[r]);
    }
    if (!missing_.empty() && packed_) {
      for (int64_t i : missing_) extract(i, slotData(claimSlot(i)));
    } else if (!missing_.empty()) {
      scratch_.resize(missing_.size() * size_t(l_));
      compute(missing_.data(), int(missing_.size()), scratch_.data());
      for (size_t m = 0; m < missing_.size(); ++m) {
        int64_t slot = claimSlot(missing_[m]);
        std::memcpy(slotData(slot), scratch_.data() + m * size_t(l_), size_t(l_) * sizeof(float));
      }
    }
    for (int r = 0; r < count; ++r) out[r] = slotData(slotOf_[size_t(rows[r])]);
  }

  // Largest batch rows() accepts.
  int batchLimit() const { return int(std::min<int64_t>(kRowBatch, capacity_)); }

  // out += Q w using the packed triangle: one sequential pass over it instead of extracting one
  // strided row per nonzero weight. Packed mode only.
  void multiplyPacked(const double* w, double* out) const {
    const float* p = packedStorage_.get();
    for (int64_t i = 0; i < l_; ++i) {
      const float* row = p + triangleOffset(i);  // K[i][0..i]
      const double wi = w[i];
      double acc[8] = {};  // independent partial sums so the dot product vectorizes
      int64_t j = 0;
      for (; j + 8 <= i; j += 8)
        for (int u = 0; u < 8; ++u) acc[u] += double(row[j + u]) * w[j + u];
      double dot =
          ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; j < i; ++j) dot += double(row[j]) * w[j];
      if (wi != 0)
        for (int64_t k = 0; k < i; ++k) out[k] += double(row[k]) * wi;
      out[i] += dot + double(row[i]) * wi;
    }
  }

 private:
  float* slotData(int64_t slot) { return storage_.get() + size_t(slot) * size_t(l_); }

  static size_t triangleOffset(int64_t i) { return size_t(i) * size_t(i + 1) / 2; }

  // Row i of the symmetric matrix from its packed lower triangle.
  void extract(int64_t i, float* out) const {
    const float* p = packedStorage_.get();
    std::memcpy(out, p + triangleOffset(i), size_t(i + 1) * sizeof(float));
    // K[j][i] for j > i sits at offset(j) + i; offset(j + 1) - offset(j) = j + 1.
    size_t off = triangleOffset(i + 1) + size_t(i);
    for (int64_t j = i + 1; j < l_; ++j) {
      // offset(j + 16) + i = off + 16 j + 136: fetch ahead, the stride defeats the prefetcher.
      __builtin_prefetch(p + off + 16 * size_t(j) + 136);
      out[j] = p[off];
      off += size_t(j) + 1;
    }
  }

  // Whole matrix from the source's bulk lower-triangle path (blocks of rows, each against the
  // columns up to its end), mirrored into the upper triangle. False when the source has none.
  bool precomputeLowerBlocks(float* out, int64_t l) {
    // About eight blocks, so the skipped upper triangle is most of the half the mirror fills;
    // at most 64 MB of values per call.
    const int64_t block = std::max<int64_t>(
        kRowBatch, std::min<int64_t>((l + 7) / 8, (int64_t{64} << 20) / (l * int64_t(sizeof(float)))));
    for (int64_t start = 0; start < l; start += block) {
      const int64_t end = std::min(l, start + block);
      auto t0 = Clock::now();
      const bool supported = source_.computeLowerBlock(start, end, out + size_t(start) * size_t(l));
      kernelSeconds_ += secondsSince(t0);
      if (!supported) return false;
      rowsComputed_ += end - start;
    }
    // Mirror in tiles so both the rows read and the rows written stay in cache.
    constexpr int64_t T = 64;
    for (int64_t i0 = 0; i0 < l; i0 += T)
      for (int64_t j0 = i0; j0 < l; j0 += T)
        for (int64_t i = i0; i < std::min(l, i0 + T); ++i)
          for (int64_t j = std::max(j0, i + 1); j < std::min(l, j0 + T); ++j)
            out[size_t(i) * size_t(l) + size_t(j)] = out[size_t(j) * size_t(l) + size_t(i)];
    return true;
  }

  void compute(const int64_t* rows, int count, float* out) {
    auto t0 = Clock::now();
    source_.computeRows(rows, count, out);
    kernelSeconds_ += secondsSince(t0);
    rowsComputed_ += count;
  }

  void unlink(int64_t slot) {
    int64_t p = prev_[size_t(slot)], n = next_[size_t(slot)];
    if (p >= 0) next_[size_t(p)] = n; else head_ = n;
    if (n >= 0) prev_[size_t(n)] = p; else tail_ = p;
  }
  void pushFront(int64_t slot) {
    prev_[size_t(slot)] = -1;
    next_[size_t(slot)] = head_;
    if (head_ >= 0) prev_[size_t(head_)] = slot;
    head_ = slot;
    if (tail_ < 0) tail_ = slot;
  }
  void touch(int64_t slot) {
    if (head_ == slot) return;
    unlink(slot);
    pushFront(slot);
  }
  // A slot for row i: a never-used one, else the least recently used (its row is dropped).
  int64_t claimSlot(int64_t i) {
    int64_t slot;
    if (used_ < capacity_) {
      slot = used_++;
    } else {
      slot = tail_;
      unlink(slot);
      int64_t old = rowOf_[size_t(slot)];
      if (slotOf_[size_t(old)] == slot) slotOf_[size_t(old)] = -1;
    }
    rowOf_[size_t(slot)] = i;
    slotOf_[size_t(i)] = slot;
    pushFront(slot);
    return slot;
  }

  KernelRowSource& source_;
  int64_t l_;
  bool full_ = false;
  int64_t capacity_ = 0;
  std::unique_ptr<float[]> storage_;
  bool packed_ = false;
  std::unique_ptr<float[]> packedStorage_;  // lower triangle, row-major, packed
  std::vector<int64_t> slotOf_, rowOf_, prev_, next_;
  int64_t head_ = -1, tail_ = -1, used_ = 0;
  std::vector<int64_t> missing_;
  std::vector<float> scratch_;
  int64_t rowsComputed_ = 0;
  double kernelSeconds_ = 0;
};

enum Status : uint8_t { kLower, kUpper, kFree };

class Solver {
 public:
  Solver(KernelRowSource& kernel, const SolverOptions& opt, int64_t l)
      : l_(l), eps_(opt.tol), threads_(resolveThreads(opt.threads)),
        cache_(kernel, l, opt.cacheMb, opt.precompute) {
    // Speculative rows must not push out the two rows of the current step; a packed triangle
    // serves single rows cheaply, so nothing is speculated there.
    rowBatch_ = cache_.packed() ? 1
                                : std::max<int64_t>(1, std::min<int64_t>(opt.rowBatch,
                                                                         cache_.capacity() / 4));
    QD_.resize(size_t(l));
    for (int64_t i = 0; i < l; ++i) QD_[size_t(i)] = kernel.diag(i);
  }

  SolverResult run(const SolverOptions& opt) {
    initialize(opt.nu);
    const int64_t maxIter = opt.maxIter >= 0 ? opt.maxIter : std::max<int64_t>(10000000, 100 * l_);
    bool converged = false;
    int64_t iter = 0;
    int64_t counter = std::min<int64_t>(l_, 1000) + 1;
    while (iter < maxIter) {
      if (--counter == 0) {
        counter = std::min<int64_t>(l_, 1000);
        if (opt.shrinking) shrink();
      }
      int64_t i, j;
      if (!selectWorkingSet(i, j)) {
        // Optimal on the active set: check against all variables before stopping.
        reconstructGradient();
        activateAll();
        if (!selectWorkingSet(i, j)) {
          converged = true;
          break;
        }
        counter = 1;  // shrink again at the next iteration
      }
      ++iter;
      step(i, j);
    }
    if (!converged) {
      reconstructGradient();
      activateAll();
    }

    SolverResult result;
    result.rho = computeRho();
    double v = 0;
    for (int64_t k = 0; k < l_; ++k) v += alpha_[size_t(k)] * G_[size_t(k)];
    result.objective = v / 2;
    result.alpha = std::move(alpha_);
    result.iterations = iter;
    result.converged = converged;
    result.kernelRowsComputed = cache_.rowsComputed();
    result.kernelSeconds = cache_.kernelSeconds();
    result.fullMatrix = cache_.full();
    result.packedMatrix = cache_.packed();
    result.smallestActiveSet = std::min(smallestActive_, l_);
    return result;
  }

 private:
  bool upper(int64_t k) const { return status_[size_t(k)] == kUpper; }
  bool lower(int64_t k) const { return status_[size_t(k)] == kLower; }
  void updateStatus(int64_t k) {
    double a = alpha_[size_t(k)];
    status_[size_t(k)] = a >= 1.0 ? kUpper : (a <= 0 ? kLower : kFree);
  }
  bool allActive() const { return int64_t(active_.size()) == l_; }
  void activateAll() {
    if (allActive()) return;
    active_.resize(size_t(l_));
    for (int64_t k = 0; k < l_; ++k) active_[size_t(k)] = int32_t(k);
  }

  // Row k of Q. On a miss while the cache still has unused slots, computes it together with up
  // to rowBatch - 1 other uncached rows SMO is likely to ask for next: the active variables with
  // the largest -G below the upper bound (candidates for i) and the largest G above the lower
  // bound (candidates for j). One pass over the data then serves several rows, which matters
  // when a row is bound by reading the l x d data (large l) or the source is a GEMM.
  const float* row(int64_t k) {
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
                                  return std::binary_search(batch_.begin() + 1,
                                                            batch_.begin() + fromUp, e.second);
                                }),
                 byLow_.end());
    takeTop(byLow_, want - int64_t(fromUp - 1));
    ptrs_.resize(batch_.size());
    cache_.rows(batch_.data(), int(batch_.size()), ptrs_.data());
    return ptrs_[0];
  }

  // Calls body(rowIndex, row) for each listed row, fetching rows in batches.
  template <typename Body>
  void forEachRow(const std::vector<int64_t>& rows, Body&& body) {
    const int batch = cache_.batchLimit();
    std::vector<const float*> ptrs(static_cast<size_t>(batch));
    for (size_t start = 0; start < rows.size(); start += size_t(batch)) {
      int count = int(std::min<size_t>(size_t(batch), rows.size() - start));
      cache_.rows(rows.data() + start, count, ptrs.data());
      body(rows.data() + start, ptrs.data(), count);
    }
  }

  // The start point of scikit-learn's solve_one_class: the mass nu*l (summed term by term, as
  // its loop does) goes to the first variables, 1 each, the remainder to the next one.
  void initialize(double nu) {
    alpha_.assign(size_t(l_), 0.0);
    double nuL = 0;
    for (int64_t k = 0; k < l_; ++k) nuL += nu;
    for (int64_t k = 0; k < l_ && nuL > 0; ++k) {
      alpha_[size_t(k)] = std::min(1.0, nuL);
      nuL -= alpha_[size_t(k)];
    }
    status_.resize(size_t(l_));
    for (int64_t k = 0; k < l_; ++k) updateStatus(k);
    active_.clear();
    activateAll();

    // G = Q alpha (p = 0) and G_bar = sum over upper-bound i of C_i Q_i (C = 1). Upper-bound
    // variables have alpha = C, so G = G_bar + the free variables' terms (at most one here).
    Gbar_.assign(size_t(l_), 0.0);
    std::vector<int64_t> upperRows, freeRows;
    for (int64_t k = 0; k < l_; ++k) {
      if (upper(k)) upperRows.push_back(k);
      else if (!lower(k)) freeRows.push_back(k);
    }
    const int64_t block = 4096;
    const int64_t blocks = (l_ + block - 1) / block;
    if (cache_.packed()) {
      std::vector<double> w(size_t(l_), 0.0);
      for (int64_t k : upperRows) w[size_t(k)] = 1.0;
      cache_.multiplyPacked(w.data(), Gbar_.data());
      upperRows.clear();
    }
    forEachRow(upperRows, [&](const int64_t*, const float* const* ptrs, int count) {
      parallelFor(blocks, threads_, [&](int64_t b, int) {
        int64_t j0 = b * block, j1 = std::min(l_, j0 + block);
        double* gbar = Gbar_.data();
        for (int r = 0; r < count; ++r) {
          const float* q = ptrs[r];
          for (int64_t j = j0; j < j1; ++j) gbar[j] += double(q[j]);
        }
      });
    });
    G_ = Gbar_;
    forEachRow(freeRows, [&](const int64_t* rows, const float* const* ptrs, int count) {
      for (int r = 0; r < count; ++r) {
        const float* q = ptrs[r];
        double a = alpha_[size_t(rows[r])];
        for (int64_t j = 0; j < l_; ++j) G_[size_t(j)] += a * double(q[j]);
      }
    });
  }

  // WSS 2 of Fan et al. for y = +1 everywhere. Returns false when the active set is optimal
  // within eps (libsvm's select_working_set returning 1).
  bool selectWorkingSet(int64_t& outI, int64_t& outJ) {
#if defined(__AVX512F__)
    if (allActive()) return selectWorkingSetDense(outI, outJ);
#endif
    double gmax = -kInf, gmax2 = -kInf;
    int64_t iBest = -1;
    const size_t na = active_.size();
    for (size_t t = 0; t < na; ++t) {
      int64_t k = active_[t];
      if (!upper(k) && -G_[size_t(k)] >= gmax) {
        gmax = -G_[size_t(k)];
        iBest = k;
      }
    }
    const float* Qi = iBest >= 0 ? row(iBest) : nullptr;
    const double qdi = iBest >= 0 ? QD_[size_t(iBest)] : 0;
    int64_t jBest = -1;
    double objDiffMin = kInf;
    for (size_t t = 0; t < na; ++t) {
      int64_t k = active_[t];
      if (lower(k)) continue;
      double g = G_[size_t(k)];
      if (g >= gmax2) gmax2 = g;
      double gradDiff = gmax + g;
      if (gradDiff > 0) {
        double quad = qdi + QD_[size_t(k)] - 2.0 * double(Qi[k]);
        double objDiff = -(gradDiff * gradDiff) / (quad > 0 ? quad : kTau);
        if (objDiff <= objDiffMin) {
          objDiffMin = objDiff;
          jBest = k;
        }
      }
    }
    if (gmax + gmax2 < eps_ || jBest == -1) return false;
    outI = iBest;
    outJ = jBest;
    return true;
  }

#if defined(__AVX512F__)
  // selectWorkingSet over all l variables, eight at a time. Each lane keeps its best value and
  // the last index reaching it; merging lanes by (value, then larger index) reproduces the
  // scalar loops' ">=" / "<=" tie-breaking (last index wins), so both paths pick the same pair.
  bool selectWorkingSetDense(int64_t& outI, int64_t& outJ) {
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
      __m512d quad =
          _mm512_sub_pd(_mm512_add_pd(vqdi, _mm512_loadu_pd(QD + k)), _mm512_mul_pd(two, qi));
      quad = _mm512_mask_mov_pd(tau, _mm512_cmp_pd_mask(quad, zero, _CMP_GT_OQ), quad);
      __m512d od = _mm512_div_pd(_mm512_sub_pd(zero, _mm512_mul_pd(gd, gd)), quad);
      __mmask8 m = pos & _mm512_cmp_pd_mask(od, vmin, _CMP_LE_OQ);
      vmin = _mm512_mask_mov_pd(vmin, m, od);
      imin = _mm512_mask_mov_epi64(imin, m, idx);
    }
    double gmax2 = _mm512_reduce_max_pd(vg2);
    double objDiffMin = kInf;
    int64_t jBest = -1;
    reduce(vmin, imin, false, objDiffMin, jBest);
    if (jBest < 0) objDiffMin = kInf;
    for (int64_t k = l8; k < l; ++k) {
      if (st[k] == kLower) continue;
      double g = G[k];
      if (g >= gmax2) gmax2 = g;
      double gradDiff = gmax + g;
      if (gradDiff > 0) {
        double quad = QD[iBest] + QD[k] - 2.0 * double(Qi[k]);
        double objDiff = -(gradDiff * gradDiff) / (quad > 0 ? quad : kTau);
        if (objDiff <= objDiffMin) {
          objDiffMin = objDiff;
          jBest = k;
        }
      }
    }
    if (gmax + gmax2 < eps_ || jBest == -1) return false;
    outI = iBest;
    outJ = jBest;
    return true;
  }
#endif

  // The analytic two-variable update for y_i = y_j = +1, C = 1, then the gradient update.
  void step(int64_t i, int64_t j) {
    const float* Qi = row(i);
    const float* Qj = row(j);
    double& ai = alpha_[size_t(i)];
    double& aj = alpha_[size_t(j)];
    const double oldAi = ai, oldAj = aj;
    double quad = QD_[size_t(i)] + QD_[size_t(j)] - 2.0 * double(Qi[j]);
    if (quad <= 0) quad = kTau;
    const double delta = (G_[size_t(i)] - G_[size_t(j)]) / quad;
    const double sum = ai + aj;
    ai -= delta;
    aj += delta;
    if (sum > 1.0) {
      if (ai > 1.0) { ai = 1.0; aj = sum - 1.0; }
    } else {
      if (aj < 0) { aj = 0; ai = sum; }
    }
    if (sum > 1.0) {
      if (aj > 1.0) { aj = 1.0; ai = sum - 1.0; }
    } else {
      if (ai < 0) { ai = 0; aj = sum; }
    }
    const double dai = ai - oldAi, daj = aj - oldAj;
    updateGradient(Qi, Qj, dai, daj);

    const bool wasUpperI = upper(i), wasUpperJ = upper(j);
    updateStatus(i);
    updateStatus(j);
    // Qi/Qj are still resident: no other row was requested since.
    if (wasUpperI != upper(i)) addToGbar(Qi, wasUpperI ? -1.0 : 1.0);
    if (wasUpperJ != upper(j)) addToGbar(Qj, wasUpperJ ? -1.0 : 1.0);
  }

  void updateGradient(const float* Qi, const float* Qj, double dai, double daj) {
    double* G = G_.data();
    const int64_t na = int64_t(active_.size());
    if (na >= kParallelUpdateMin && threads_ > 1) {
      const int64_t chunks = 4 * int64_t(threads_);
      const int64_t per = (na + chunks - 1) / chunks;
      const bool dense = allActive();
      const int32_t* act = active_.data();
      parallelFor(chunks, threads_, [&](int64_t c, int) {
        int64_t t0 = c * per, t1 = std::min(na, t0 + per);
        if (dense) {
          for (int64_t k = t0; k < t1; ++k) G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
        } else {
          for (int64_t t = t0; t < t1; ++t) {
            int32_t k = act[t];
            G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
          }
        }
      });
      return;
    }
    if (allActive()) {
      for (int64_t k = 0; k < l_; ++k) G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
    } else {
      const int32_t* act = active_.data();
      for (int64_t t = 0; t < na; ++t) {
        int32_t k = act[t];
        G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
      }
    }
  }

  void addToGbar(const float* Q, double sign) {
    double* Gbar = Gbar_.data();
    for (int64_t k = 0; k < l_; ++k) Gbar[k] += sign * double(Q[k]);
  }

  // Recomputes G for the shrunk (inactive) variables: G_bar plus the free variables'
  // contributions. Chooses the loop that needs fewer kernel rows.
  void reconstructGradient() {
    if (allActive()) return;
    std::vector<uint8_t> isActive(size_t(l_), 0);
    for (int32_t k : active_) isActive[size_t(k)] = 1;
    std::vector<int64_t> inactive, freeActive;
    for (int64_t k = 0; k < l_; ++k) {
      if (!isActive[size_t(k)]) {
        inactive.push_back(k);
        G_[size_t(k)] = Gbar_[size_t(k)];
      } else if (status_[size_t(k)] == kFree) {
        freeActive.push_back(k);
      }
    }
    if (freeActive.empty()) return;
    if (inactive.size() < freeActive.size()) {
      forEachRow(inactive, [&](const int64_t* rows, const float* const* ptrs, int count) {
        parallelFor(count, threads_, [&](int64_t r, int) {
          const float* q = ptrs[r];
          double s = 0;
          for (int64_t k : freeActive) s += alpha_[size_t(k)] * double(q[k]);
          G_[size_t(rows[r])] += s;
        });
      });
    } else {
      forEachRow(freeActive, [&](const int64_t* rows, const float* const* ptrs, int count) {
        for (int r = 0; r < count; ++r) {
          const float* q = ptrs[r];
          double a = alpha_[size_t(rows[r])];
          for (int64_t k : inactive) G_[size_t(k)] += a * double(q[k]);
        }
      });
    }
  }

  // libsvm's do_shrinking for y = +1: drop bound variables that cannot enter a violating pair;
  // once close to the optimum (gap <= 10 eps) unshrink once and reconstruct the gradient.
  void shrink() {
    double gmax1 = -kInf, gmax2 = -kInf;
    for (int32_t k : active_) {
      double g = G_[size_t(k)];
      if (!upper(k) && -g >= gmax1) gmax1 = -g;
      if (!lower(k) && g >= gmax2) gmax2 = g;
    }
    if (!unshrunk_ && gmax1 + gmax2 <= eps_ * 10) {
      unshrunk_ = true;
      reconstructGradient();
      activateAll();
    }
    size_t kept = 0;
    for (size_t t = 0; t < active_.size(); ++t) {
      int32_t k = active_[t];
      double g = G_[size_t(k)];
      bool drop = upper(k) ? (-g > gmax1) : lower(k) ? (g > gmax2) : false;
      if (!drop) active_[kept++] = k;
    }
    active_.resize(kept);
    smallestActive_ = std::min<int64_t>(smallestActive_, int64_t(kept));
  }

  // libsvm's calculate_rho: the mean gradient over free variables, else the midpoint of the
  // bounds the bound variables impose.
  double computeRho() const {
    double ub = kInf, lb = -kInf, sumFree = 0;
    int64_t nFree = 0;
    for (int64_t k = 0; k < l_; ++k) {
      double g = G_[size_t(k)];
      if (upper(k)) lb = std::max(lb, g);
      else if (lower(k)) ub = std::min(ub, g);
      else { ++nFree; sumFree += g; }
    }
    return nFree > 0 ? sumFree / double(nFree) : (ub + lb) / 2;
  }

  int64_t l_;
  double eps_;
  int threads_;
  RowCache cache_;
  std::vector<double> QD_, alpha_, G_, Gbar_;
  std::vector<uint8_t> status_;
  std::vector<int32_t> active_;  // sorted indices of the active variables
  bool unshrunk_ = false;
  int64_t rowBatch_ = 1;
  std::vector<int64_t> batch_;
  std::vector<const float*> ptrs_;
  std::vector<std::pair<double, int64_t>> byUp_, byLow_;
  int64_t smallestActive_ = std::numeric_limits<int64_t>::max();
};

// |a - b|^2 for four b rows at once: exact float differences accumulated in double, eight
// partial sums per row so the compiler can keep them in vector registers.
inline void sqDist4(const float* a, const float* b0, const float* b1, const float* b2,
                    const float* b3, int64_t d, double out[4]) {
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
    double s = ((acc[r][0] + acc[r][1]) + (acc[r][2] + acc[r][3])) +
               ((acc[r][4] + acc[r][5]) + (acc[r][6] + acc[r][7]));
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

SolverResult solveOneClass(KernelRowSource& kernel, const SolverOptions& opt) {
  auto t0 = Clock::now();
  const int64_t l = kernel.size();
  require(opt.nu > 0 && opt.nu <= 1, "Expected nu in (0, 1] but received " + str(opt.nu));
  require(l >= 2, "Expected at least 2 training samples but received " + std::to_string(l));
  require(opt.tol > 0 && std::isfinite(opt.tol),
          "Expected tol > 0 but received " + str(opt.tol));
  require(opt.maxIter >= -1,
          "Expected maxIter >= 0 or -1 but received " + std::to_string(opt.maxIter));
  require(opt.rowBatch >= 1, "Expected rowBatch >= 1 but received " + std::to_string(opt.rowBatch));
  require(opt.cacheMb > 0 && std::isfinite(opt.cacheMb),
          "Expected cacheMb > 0 but received " + str(opt.cacheMb));
  require(l <= std::numeric_limits<int32_t>::max(),
          "Expected at most 2^31-1 training samples but received " + std::to_string(l));
  SolverResult result;
  try {
    Solver solver(kernel, opt, l);
    result = solver.run(opt);
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::OutOfMemory, "Out of memory in the one-class SVM solver (l=" +
                                     std::to_string(l) + ", cacheMb=" + str(opt.cacheMb) +
                                     "); lower cacheMb");
  }
  if (!std::isfinite(result.rho))
    fail(ErrorCode::NumericalError,
         "The one-class SVM offset rho is not finite (nu=" + str(opt.nu) + ", l=" +
             std::to_string(l) + "): every alpha is at its upper bound, which happens for nu=1; "
             "scikit-learn rejects this fit too. Use nu < 1");
  result.solverSeconds = secondsSince(t0);
  return result;
}

RbfKernelSource::RbfKernelSource(const float* x, int64_t l, int64_t d, double gamma, int threads)
    : x_(x), l_(l), d_(d), gamma_(gamma), threads_(resolveThreads(threads)) {
  require(x != nullptr || l == 0, "Expected a data pointer for the kernel source");
  require(l >= 0 && d >= 1, "Expected l >= 0 and d >= 1 but received l=" + std::to_string(l) +
                                " d=" + std::to_string(d));
  require(gamma > 0 && std::isfinite(gamma), "Expected gamma > 0 but received " + str(gamma));
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
                                        const std::vector<double>& alpha, double rho,
                                        const float* y, int64_t m, int threads) {
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

}  // namespace ocsvm
}  // namespace oneclass
