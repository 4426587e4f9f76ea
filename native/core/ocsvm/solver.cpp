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

namespace oneclass::ocsvm {
namespace {

// Below this many active variables a gradient update costs less than starting threads.
constexpr int64_t kParallelUpdateMin = int64_t(1) << 17;

}  // namespace

Solver::Solver(KernelRowSource& kernel, const SolverOptions& opt, int64_t l)
    : l_(l),
      eps_(opt.tol),
      threads_(resolveThreads(opt.threads)),
      cache_(kernel, l, opt.cacheMb, opt.precompute, opt.nu < opt.adaptiveMaxNu ? opt.adaptiveBulkAt : 0) {
  // Speculative rows must not push out the two rows of the current step; a packed triangle
  // serves single rows cheaply, so nothing is speculated there.
  rowBatch_ = cache_.packed() ? 1 : std::max<int64_t>(1, std::min<int64_t>(opt.rowBatch, cache_.capacity() / 4));
  QD_.resize(size_t(l));
  for (int64_t i = 0; i < l; ++i) QD_[size_t(i)] = kernel.diag(i);
}

SolverResult Solver::run(const SolverOptions& opt) {
  initialize(opt.nu);
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
  return result;
}

// The start point of scikit-learn's solve_one_class: the mass nu*l (summed term by term, as
// its loop does) goes to the first variables, 1 each, the remainder to the next one.
void Solver::initialize(double nu) {
  const cpu::SolverKernels& kernels = cpu::solverKernels();
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
    if (upper(k))
      upperRows.push_back(k);
    else if (!lower(k))
      freeRows.push_back(k);
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
      for (int r = 0; r < count; ++r) kernels.addScaled(gbar + j0, ptrs[r] + j0, 1.0, j1 - j0);
    });
  });
  G_ = Gbar_;
  forEachRow(freeRows, [&](const int64_t* rows, const float* const* ptrs, int count) {
    for (int r = 0; r < count; ++r) kernels.addScaled(G_.data(), ptrs[r], alpha_[size_t(rows[r])], l_);
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
