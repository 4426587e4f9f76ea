// One-class SVM dual solver with the semantics of libsvm's one-class formulation (the one
// scikit-learn 1.2's OneClassSVM runs):
//
//   min_a 0.5 a'Qa   subject to  0 <= a_i <= 1,  sum_i a_i = nu * l,   Q_ij = K(x_i, x_j)
//
// solved by SMO with libsvm's second-order working-set selection (Fan, Chen and Lin, JMLR 2005),
// its stopping rule (maximal violation < tol), its shrinking heuristic and its rho. The decision
// function of the fitted model is f(x) = sum_i a_i K(x_i, x) - rho; the support vectors are the
// i with a_i > 0 (scikit-learn: dual_coef_ = a[support_], offset_ = rho, intercept_ = -rho).
//
// The solver sees the data only through a KernelRowSource, so the same solver runs on a naive
// reference kernel (native/tests/rbf_reference.h), the backends' GEMM-based kernel rows
// (fitOneClassSvm) or a benchmark's stand-in.
//
// Implementation: native/core/ocsvm/ (solver, working-set selection, row cache, kernel source).
#pragma once
#include <cstdint>
#include <vector>

#include "oneclass/backend.h"

namespace oneclass {
namespace ocsvm {

// Supplies rows of the l x l kernel matrix. computeRows is called with 1 to max(64, rowBatch)
// rows at a time (64 in bulk phases, up to rowBatch on cache misses, 1 when the cache is full)
// and is expected to parallelize internally; the solver never calls it concurrently.
struct KernelRowSource {
  virtual ~KernelRowSource() = default;
  // l, the number of training points.
  virtual int64_t size() const = 0;
  // out[r * l + j] = K(x_rows[r], x_j) for r in [0, count), j in [0, l).
  virtual void computeRows(const int64_t* rows, int count, float* out) = 0;
  // K(x_i, x_i); 1 for the RBF kernel.
  virtual double diag(int64_t i) const = 0;
  // Optional bulk path for precomputing: writes K(x_i, x_j) for rows [row0, row1) and columns
  // [0, row1) into out[(i - row0) * l + j] (at least the lower triangle j <= i; values beyond
  // i may be left unwritten). Returns false when the source has no such path, and the solver
  // then calls computeRows. A GEMM-based source computes half the matrix this way.
  virtual bool computeLowerBlock(int64_t row0, int64_t row1, float* out) {
    (void)row0;
    (void)row1;
    (void)out;
    return false;
  }
  // Optional path for completing a matrix of which some rows are known: writes
  // K(x_rows[r], x_rows[c]) for r in [r0, r1) and c in [0, count) into out[(r - r0) * count + c],
  // a block of the count x count matrix among the listed rows (the same `rows` array in every call
  // of one completion). Returns false when the source has no such path: the solver then computes
  // the missing rows whole.
  virtual bool computeAmong(const int64_t* rows, int count, int r0, int r1, float* out) {
    (void)rows;
    (void)count;
    (void)r0;
    (void)r1;
    (void)out;
    return false;
  }
  // Optional: the whole l x l matrix, already in memory (row-major), which the solver then reads
  // in place instead of copying it into its cache. nullptr: no such matrix.
  virtual float* wholeMatrix() { return nullptr; }
};

struct SolverOptions {
  double nu = 0.5;         // in (0, 1]: upper bound on the fraction of outliers, lower bound on SVs
  double tol = 1e-3;       // stop when the maximal KKT violation m(a) - M(a) < tol (libsvm's eps)
  int64_t maxIter = -1;    // -1: libsvm's default max(10000000, 100 * l). scikit-learn's fork has
                           // no cap at all for its max_iter=-1; 10^7 iterations is never reached
                           // by problems that converge.
  bool shrinking = true;   // libsvm's shrinking heuristic (-h 1)
  double cacheMb = 1024;   // budget for kernel values (fp32). With precompute: the whole matrix
                           // when l*l*4 bytes fit, else its packed lower triangle (l*(l+1)/2*4
                           // bytes, plus up to 64 extracted rows) when that and two rows
                           // fit; otherwise an LRU cache of full rows (l*4 bytes each, at
                           // least two) filled on demand
  bool precompute = true;  // compute the (full or packed) matrix up front in batches of rows:
                           // right for GEMM-based sources. false: rows on demand only, right for
                           // per-row sources, as SMO often touches only part of the rows
  int rowBatch = 64;       // rows per KernelRowSource call on a cache miss while the cache has
                           // unused slots: the missing row plus the most violating uncached
                           // ones, so one pass over the data serves several rows (1: libsvm's
                           // one row at a time; 64 rather than 16: docs/ocsvm-notes.md, layout 3)
  // With precompute and a whole matrix that fits: start with rows on demand (computed in batches,
  // into the full matrix's storage) and compute the rest in bulk once adaptiveBulkAt * l rows are
  // in (the rows already known supply the rest by symmetry). When only the packed triangle fits:
  // rows on demand in an LRU of full rows, then the packed triangle in bulk once adaptiveBulkAt * l
  // rows were computed. Only for nu < adaptiveMaxNu: at
  // larger nu most rows are support vectors and SMO touches nearly all of them, so the bulk
  // lower-triangle pass is cheaper from the start (docs/ocsvm-notes.md has the measurements).
  double adaptiveMaxNu = 0.3;  // 0: always bulk
  double adaptiveBulkAt = 0.4;
  int threads = 0;  // 0: every hardware thread
  // The start point. 0: libsvm's (alpha = 1 on the first floor(nu * l) variables). Otherwise, for
  // l >= 4 * warmStartSample: the same problem is first solved on warmStartSample variables drawn
  // with a fixed seed (their kernel matrix only), its decision function is evaluated on every
  // variable, and alpha = 1 goes to the nu * l variables it scores lowest, the likely bounded
  // support vectors. The optimum is the same; SMO starts nearer to it and computes fewer kernel
  // rows (docs/ocsvm-notes.md, "Start point").
  int64_t warmStartSample = 1024;
};

struct SolverResult {
  std::vector<double> alpha;  // size l, in [0, 1], sum = nu * l
  double rho = 0;             // decision(x) = sum_i alpha_i K(x_i, x) - rho
  double objective = 0;       // 0.5 alpha' Q alpha (libsvm's "obj")
  int64_t iterations = 0;     // SMO steps, counted as libsvm counts them
  bool converged = false;     // false: stopped at maxIter; the model is the last iterate
  // Diagnostics (not part of libsvm's result).
  int64_t kernelRowsComputed = 0;  // rows requested from the KernelRowSource
  double kernelSeconds = 0;        // wall time spent inside KernelRowSource::computeRows
  double solverSeconds = 0;        // total wall time of solveOneClass
  bool fullMatrix = false;         // the whole kernel matrix was precomputed
  bool packedMatrix = false;       // its lower triangle was precomputed (full matrix too large)
  bool startedOnDemand = false;    // the full matrix's rows came on demand first (adaptiveMaxNu)
  int64_t smallestActiveSet = 0;   // fewest variables left active by shrinking (l: none shrunk)
  int64_t warmStartSample = 0;     // variables of the start point's sub-problem (0: libsvm's start)
  int64_t warmStartOverlap = 0;    // how many of the start's upper-bound variables end with alpha > 0
};

// Throws oneclass::Error: InvalidArgument for nu outside (0, 1], l < 2 (or >= 2^31), tol <= 0,
// maxIter < -1, cacheMb <= 0, rowBatch < 1; OutOfMemory when the cache cannot be allocated;
// NumericalError when rho is not finite (nu = 1: every alpha at its bound; scikit-learn raises
// "The dual coefficients or intercepts are not finite" there).
// Exceptions thrown by the KernelRowSource propagate unchanged.
SolverResult solveOneClass(KernelRowSource& kernel, const SolverOptions& opt);

// Fits the one-class SVM with the RBF kernel K(x, y) = exp(-gamma |T(x) - T(y)|^2) on the n x d
// training rows `data` (untransformed; read in place for the whole fit): prepares them on
// `backend` with the transform T, then solves with kernel rows computed by the backend's fused
// GEMM path (kernelRows) instead of libsvm's scalar float64 dot products. options.threads is the
// backend's thread count too. Throws as solveOneClass, plus InvalidArgument for gamma <= 0.
SolverResult fitOneClassSvm(Backend& backend, const float* data, int64_t n, int64_t d, const RowTransform& transform,
                            double gamma, const SolverOptions& options);

}  // namespace ocsvm
}  // namespace oneclass
