// The SMO iteration of the one-class SVM solver: start point, two-variable update, gradient
// bookkeeping, shrinking and rho (see solver.h for how it follows libsvm).
#include "solver.h"

#include <algorithm>
#include <cmath>
#include <new>

#include "../cpu/solver_kernels.h"
#include "common.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"
#include "oneclass/scratch.h"

namespace oneclass::ocsvm {
namespace {

// Below this many active variables a gradient update costs less than starting threads.
constexpr int64_t kParallelUpdateMin = int64_t(1) << 17;
// Smallest sub-problem worth solving for a start point (SolverOptions::warmStartSample).
constexpr int64_t kWarmStartMin = 256;

bool startsFromSubproblem(const SolverOptions& opt, int64_t l) {
  return std::min(opt.warmStartSample, l / 4) >= kWarmStartMin;
}

// Whether the kernel storage starts with rows on demand (SolverOptions::adaptiveMaxNu). Small nu:
// SMO touches few rows. Larger nu from a sub-problem's start: SMO takes a few hundred steps, so
// building the whole matrix or its packed triangle (and faulting in its memory) costs more than
// the rows it would save; the start's gradient is then computed by streaming (initialize).
bool onDemandFirst(const SolverOptions& opt, int64_t l) {
  return opt.nu < opt.adaptiveMaxNu || (opt.adaptiveMaxNu > 0 && startsFromSubproblem(opt, l));
}

// The kernel matrix among a sub-problem's variables, held whole, as a row source.
class MatrixSource final : public KernelRowSource {
 public:
  MatrixSource(float* m, std::vector<double> diag) : m_(m), diag_(std::move(diag)) {}
  int64_t size() const override { return int64_t(diag_.size()); }
  void computeRows(const int64_t* rows, int count, float* out) override {
    const size_t n = diag_.size();
    for (int r = 0; r < count; ++r)
      std::copy(m_ + size_t(rows[r]) * n, m_ + size_t(rows[r] + 1) * n, out + size_t(r) * n);
  }
  double diag(int64_t i) const override { return diag_[size_t(i)]; }
  float* wholeMatrix() override { return m_; }

 private:
  float* m_;  // n x n, row-major, owned by the caller
  std::vector<double> diag_;
};

}  // namespace

Solver::Solver(KernelRowSource& kernel, const SolverOptions& opt, int64_t l)
    : l_(l),
      eps_(opt.tol),
      threads_(resolveThreads(opt.threads)),
      kernel_(kernel),
      cache_(kernel, l, opt.cacheMb, opt.precompute, onDemandFirst(opt, l) ? opt.adaptiveBulkAt : 0) {
  // Speculative rows must not push out the two rows of the current step; a packed triangle
  // serves single rows cheaply, so nothing is speculated there.
  rowBatch_ = cache_.packed() ? 1 : std::max<int64_t>(1, std::min<int64_t>(opt.rowBatch, cache_.capacity() / 4));
  QD_.resize(size_t(l));
  for (int64_t i = 0; i < l; ++i) QD_[size_t(i)] = kernel.diag(i);
}

SolverResult Solver::run(const SolverOptions& opt) {
  initialize(opt);
  const int64_t maxIter = opt.maxIter >= 0 ? opt.maxIter : std::max<int64_t>(10000000, 100 * l_);
  bool converged = false;
  int64_t iter = 0;
  int64_t counter = std::min<int64_t>(l_, 1000) + 1;
  while (iter < maxIter) {
    // No row pointer is held here: the cache may change layout (an on-demand start going packed).
    if (cache_.settle()) rowBatch_ = 1;
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
  result.startedOnDemand = cache_.startedOnDemand();
  result.smallestActiveSet = std::min(smallestActive_, l_);
  result.warmStartSample = warmStartSample_;
  for (int64_t k : startUpper_) result.warmStartOverlap += result.alpha[size_t(k)] > 0;
  return result;
}

std::vector<int64_t> Solver::startOrder(const SolverOptions& opt) {
  std::vector<int64_t> order(static_cast<size_t>(l_));
  for (int64_t k = 0; k < l_; ++k) order[size_t(k)] = k;
  if (!startsFromSubproblem(opt, l_)) return order;
  const int64_t s = std::min(opt.warmStartSample, l_ / 4);

  // s distinct variables from a fixed-seed generator (PCG-style LCG), in index order.
  std::vector<uint8_t> taken(size_t(l_), 0);
  std::vector<int64_t> sample;
  sample.reserve(size_t(s));
  uint64_t state = 0x853c49e6748fea9bull;
  while (int64_t(sample.size()) < s) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const int64_t k = int64_t((state >> 33) % uint64_t(l_));
    if (!taken[size_t(k)]) {
      taken[size_t(k)] = 1;
      sample.push_back(k);
    }
  }
  std::sort(sample.begin(), sample.end());
  // Kept between fits (scratch.h): a new 4 MB block is about a thousand page faults per fit.
  const Scratch among = acquireScratch(size_t(s) * size_t(s) * sizeof(float));
  if (!kernel_.computeAmong(sample.data(), int(s), 0, int(s), scratchData<float>(among))) return order;
  std::vector<double> diag(static_cast<size_t>(s));
  for (int64_t t = 0; t < s; ++t) diag[size_t(t)] = QD_[size_t(sample[size_t(t)])];

  SolverOptions sub = opt;
  sub.warmStartSample = 0;
  sub.adaptiveMaxNu = 0;  // the matrix is read in place (MatrixSource::wholeMatrix)
  MatrixSource source(scratchData<float>(among), std::move(diag));
  SolverResult r;
  {
    Solver solver(source, sub, s);
    r = solver.run(sub);
  }
  warmStartSample_ = s;

  // The sub-problem's decision function (without rho) on every variable, from the full rows of
  // its support vectors, which SMO is likely to ask for again.
  std::vector<int64_t> svRows;
  std::vector<double> svAlpha;
  for (int64_t t = 0; t < s; ++t)
    if (r.alpha[size_t(t)] > 0) {
      svRows.push_back(sample[size_t(t)]);
      svAlpha.push_back(r.alpha[size_t(t)]);
    }
  std::vector<double> f(size_t(l_), 0.0);
  addRows(svRows, svAlpha.data(), f.data());
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return f[size_t(a)] < f[size_t(b)]; });
  return order;
}

// The start point: the mass nu*l (summed term by term, as scikit-learn's solve_one_class does)
// goes to variables in startOrder's order, 1 each, the remainder to the next one. With the
// identity order this is libsvm's start.
void Solver::initialize(const SolverOptions& opt) {
  const cpu::SolverKernels& kernels = cpu::solverKernels();
  alpha_.assign(size_t(l_), 0.0);
  double nuL = 0;
  for (int64_t k = 0; k < l_; ++k) nuL += opt.nu;
  const std::vector<int64_t> order = startOrder(opt);
  startUpper_.clear();
  for (int64_t t = 0; t < l_ && nuL > 0; ++t) {
    const int64_t k = order[size_t(t)];
    alpha_[size_t(k)] = std::min(1.0, nuL);
    nuL -= alpha_[size_t(k)];
    startUpper_.push_back(k);
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
    if (upper(k))
      upperRows.push_back(k);
    else if (!lower(k))
      freeRows.push_back(k);
  }
  if (cache_.packed()) {
    std::vector<double> w(size_t(l_), 0.0);
    for (int64_t k : upperRows) w[size_t(k)] = 1.0;
    cache_.multiplyPacked(w.data(), Gbar_.data());
  } else if (int64_t(upperRows.size()) > cache_.streamAbove()) {
    // Many upper-bound variables (large nu) and rows on demand: their rows are computed for this
    // sum only, a block at a time, instead of filling the cache (or building the packed triangle)
    // with rows SMO will mostly not ask for again; fresh memory is the larger cost of a fit in a
    // VM (docs/ocsvm-notes.md, "Start point").
    const cpu::SolverKernels& kernels = cpu::solverKernels();
    const int batch = cache_.batchLimit();
    const Scratch buffer = acquireScratch(size_t(batch) * size_t(l_) * sizeof(float));
    float* rows = scratchData<float>(buffer);
    const int64_t block = 4096;
    const int64_t blocks = (l_ + block - 1) / block;
    for (size_t start = 0; start < upperRows.size(); start += size_t(batch)) {
      const int count = int(std::min<size_t>(size_t(batch), upperRows.size() - start));
      cache_.computeStreamed(upperRows.data() + start, count, rows);
      parallelFor(blocks, threads_, [&](int64_t b, int) {
        const int64_t j0 = b * block, j1 = std::min(l_, j0 + block);
        for (int r = 0; r < count; ++r)
          kernels.addScaled(Gbar_.data() + j0, rows + size_t(r) * size_t(l_) + j0, 1.0, j1 - j0);
      });
    }
  } else {
    addRows(upperRows, nullptr, Gbar_.data());
  }
  G_ = Gbar_;
  forEachRow(freeRows, [&](const int64_t* rows, const float* const* ptrs, int count) {
    for (int r = 0; r < count; ++r) kernels.addScaled(G_.data(), ptrs[r], alpha_[size_t(rows[r])], l_);
  });
}

// out += sum over r of weights[r] * Q_rows[r] (weights null: 1 each), the rows fetched in batches
// and each batch added in column blocks across the threads.
void Solver::addRows(const std::vector<int64_t>& rows, const double* weights, double* out) {
  const cpu::SolverKernels& kernels = cpu::solverKernels();
  const int64_t block = 4096;
  const int64_t blocks = (l_ + block - 1) / block;
  size_t done = 0;
  forEachRow(rows, [&](const int64_t*, const float* const* ptrs, int count) {
    parallelFor(blocks, threads_, [&](int64_t b, int) {
      const int64_t j0 = b * block, j1 = std::min(l_, j0 + block);
      for (int r = 0; r < count; ++r)
        kernels.addScaled(out + j0, ptrs[r] + j0, weights ? weights[done + size_t(r)] : 1.0, j1 - j0);
    });
    done += size_t(count);
  });
}

// The analytic two-variable update for y_i = y_j = +1, C = 1, then the gradient update.
void Solver::step(int64_t i, int64_t j) {
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
    if (ai > 1.0) {
      ai = 1.0;
      aj = sum - 1.0;
    }
  } else {
    if (aj < 0) {
      aj = 0;
      ai = sum;
    }
  }
  if (sum > 1.0) {
    if (aj > 1.0) {
      aj = 1.0;
      ai = sum - 1.0;
    }
  } else {
    if (ai < 0) {
      ai = 0;
      aj = sum;
    }
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

void Solver::updateGradient(const float* Qi, const float* Qj, double dai, double daj) {
  const cpu::SolverKernels& kernels = cpu::solverKernels();
  double* G = G_.data();
  const int64_t na = int64_t(active_.size());
  if (na >= kParallelUpdateMin && threads_ > 1) {
    const int64_t chunks = 4 * int64_t(threads_);
    const int64_t per = (na + chunks - 1) / chunks;
    const bool dense = allActive();
    const int32_t* act = active_.data();
    parallelFor(chunks, threads_, [&](int64_t c, int) {
      int64_t t0 = c * per, t1 = std::min(na, t0 + per);
      if (dense)
        kernels.updatePair(G, Qi, Qj, dai, daj, t0, t1);
      else
        kernels.updatePairAt(G, act, Qi, Qj, dai, daj, t0, t1);
    });
    return;
  }
  if (allActive())
    kernels.updatePair(G, Qi, Qj, dai, daj, 0, l_);
  else
    kernels.updatePairAt(G, active_.data(), Qi, Qj, dai, daj, 0, na);
}

void Solver::addToGbar(const float* Q, double sign) { cpu::solverKernels().addScaled(Gbar_.data(), Q, sign, l_); }

// Recomputes G for the shrunk (inactive) variables: G_bar plus the free variables'
// contributions. Chooses the loop that needs fewer kernel rows.
void Solver::reconstructGradient() {
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
void Solver::shrink() {
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
double Solver::computeRho() const {
  double ub = kInf, lb = -kInf, sumFree = 0;
  int64_t nFree = 0;
  for (int64_t k = 0; k < l_; ++k) {
    double g = G_[size_t(k)];
    if (upper(k))
      lb = std::max(lb, g);
    else if (lower(k))
      ub = std::min(ub, g);
    else {
      ++nFree;
      sumFree += g;
    }
  }
  return nFree > 0 ? sumFree / double(nFree) : (ub + lb) / 2;
}

SolverResult solveOneClass(KernelRowSource& kernel, const SolverOptions& opt) {
  auto t0 = Clock::now();
  const int64_t l = kernel.size();
  require(opt.nu > 0 && opt.nu <= 1, "Expected nu in (0, 1] but received " + str(opt.nu));
  require(l >= 2, "Expected at least 2 training samples but received " + std::to_string(l));
  require(opt.tol > 0 && std::isfinite(opt.tol), "Expected tol > 0 but received " + str(opt.tol));
  require(opt.maxIter >= -1, "Expected maxIter >= 0 or -1 but received " + std::to_string(opt.maxIter));
  require(opt.rowBatch >= 1, "Expected rowBatch >= 1 but received " + std::to_string(opt.rowBatch));
  require(opt.cacheMb > 0 && std::isfinite(opt.cacheMb), "Expected cacheMb > 0 but received " + str(opt.cacheMb));
  require(l <= std::numeric_limits<int32_t>::max(),
          "Expected at most 2^31-1 training samples but received " + std::to_string(l));
  SolverResult result;
  try {
    Solver solver(kernel, opt, l);
    result = solver.run(opt);
  } catch (const std::bad_alloc&) {
    fail(ErrorCode::OutOfMemory, "Out of memory in the one-class SVM solver (l=" + std::to_string(l) +
                                     ", cacheMb=" + str(opt.cacheMb) + "); lower cacheMb");
  }
  if (!std::isfinite(result.rho))
    fail(ErrorCode::NumericalError, "The one-class SVM offset rho is not finite (nu=" + str(opt.nu) +
                                        ", l=" + std::to_string(l) +
                                        "): every alpha is at its upper bound, which happens for nu=1; "
                                        "scikit-learn rejects this fit too. Use nu < 1");
  result.solverSeconds = secondsSince(t0);
  return result;
}

}  // namespace oneclass::ocsvm
