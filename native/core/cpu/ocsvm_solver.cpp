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
// Below this many active variables a gradient update costs less than starting threads.
constexpr int64_t kParallelUpdateMin = int64_t(1) << 17;

std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

// Kernel rows, either the whole precomputed matrix or an LRU cache of full rows. A pointer
// returned by row() stays valid until capacity() - 1 other rows have been requested.
class RowCache {
 public:
  RowCache(KernelRowSource& source, int64_t l, double cacheMb, bool precompute)
      : source_(source), l_(l) {
    const double budget = cacheMb * 1024.0 * 1024.0;
    const double rowBytes = double(l) * sizeof(float);
    const bool fits = budget >= rowBytes * double(l);
    full_ = fits && precompute;
    // libsvm, too, raises a cache smaller than two rows to two rows.
    capacity_ = fits ? l : std::max<int64_t>(2, int64_t(budget / rowBytes));
    // Not value-initialized: pages of an on-demand cache become resident only when used.
    storage_.reset(new float[size_t(capacity_) * size_t(l)]);
    if (full_) {
      std::vector<int64_t> rows(kRowBatch);
      for (int64_t start = 0; start < l; start += kRowBatch) {
        int count = int(std::min<int64_t>(kRowBatch, l - start));
        for (int r = 0; r < count; ++r) rows[r] = start + r;
        compute(rows.data(), count, storage_.get() + size_t(start) * size_t(l));
      }
      return;
    }
    slotOf_.assign(size_t(l), -1);
    rowOf_.assign(size_t(capacity_), -1);
    prev_.assign(size_t(capacity_), -1);
    next_.assign(size_t(capacity_), -1);
  }

  bool full() const { return full_; }
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
      compute(&i, 1, slotData(slot));
    }
    return slotData(slot);
  }

  // Makes rows[0..count) resident (count <= capacity) with one computeRows call for the missing
  // ones, and writes their addresses to out.
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
    if (!missing_.empty()) {
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

 private:
  float* slotData(int64_t slot) { return storage_.get() + size_t(slot) * size_t(l_); }

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
      slotOf_[size_t(rowOf_[size_t(slot)])] = -1;
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
    const float* Qi = iBest >= 0 ? cache_.row(iBest) : nullptr;
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

  // The analytic two-variable update for y_i = y_j = +1, C = 1, then the gradient update.
  void step(int64_t i, int64_t j) {
    const float* Qi = cache_.row(i);
    const float* Qj = cache_.row(j);
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
