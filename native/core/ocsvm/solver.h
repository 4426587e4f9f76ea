// The SMO solver's state and steps (internal to native/core/ocsvm/; the interface is
// oneclass/ocsvm.h). Follows libsvm's Solver (as forked in scikit-learn 1.2): same start point,
// working-set selection, two-variable update, shrinking, stopping rule and rho. It differs in
// bookkeeping only:
//  - arrays stay in the original index order and the active set is a sorted index list, instead
//    of libsvm's physical swapping of variables and cached row entries; ties in the working-set
//    selection can therefore be broken differently, which changes the path but not the optimum;
//  - kernel rows are always full length l (libsvm computes only the active part of a row);
//  - kernel rows are fp32 as in libsvm (Qfloat); alpha, gradients and rho are fp64.
//
// solver.cpp holds the iteration, the update and rho; working_set.cpp the working-set selection
// and the kernel rows it fetches; row_cache.* where those rows live.
#pragma once
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "oneclass/ocsvm.h"
#include "row_cache.h"

namespace oneclass::ocsvm {

enum Status : uint8_t { kLower, kUpper, kFree };

class Solver {
 public:
  Solver(KernelRowSource& kernel, const SolverOptions& opt, int64_t l);
  SolverResult run(const SolverOptions& opt);

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

  // Row k of Q, fetched together with rows SMO is likely to ask for next (working_set.cpp).
  const float* row(int64_t k);

  // Calls body(rowIndices, rows, count) for the listed rows, fetching them in batches.
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

  void initialize(const SolverOptions& opt);
  // The order in which the start point hands out alpha = 1 (SolverOptions::warmStartSample).
  std::vector<int64_t> startOrder(const SolverOptions& opt);
  // WSS 2 of Fan et al. for y = +1 everywhere. Returns false when the active set is optimal
  // within eps (libsvm's select_working_set returning 1).
  bool selectWorkingSet(int64_t& outI, int64_t& outJ);
  void step(int64_t i, int64_t j);
  void updateGradient(const float* Qi, const float* Qj, double dai, double daj);
  void addToGbar(const float* Q, double sign);
  void addRows(const std::vector<int64_t>& rows, const double* weights, double* out);
  void reconstructGradient();
  void shrink();
  double computeRho() const;

  int64_t l_;
  double eps_;
  int threads_;
  KernelRowSource& kernel_;
  RowCache cache_;
  std::vector<double> QD_, alpha_, G_, Gbar_;
  std::vector<uint8_t> status_;
  std::vector<int64_t> startUpper_;  // the start point's upper-bound variables
  int64_t warmStartSample_ = 0;
  std::vector<int32_t> active_;  // sorted indices of the active variables
  bool unshrunk_ = false;
  int64_t rowBatch_ = 1;
  std::vector<int64_t> batch_;
  std::vector<const float*> ptrs_;
  std::vector<std::pair<double, int64_t>> byUp_, byLow_;
  int64_t smallestActive_ = std::numeric_limits<int64_t>::max();
};

}  // namespace oneclass::ocsvm
