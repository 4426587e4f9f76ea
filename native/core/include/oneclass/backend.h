// The backend interface of the native core: every stage-2 operation that costs O(N*M*D) or
// O(pixels), implemented once for the CPU and once for CUDA. Everything else (fitting rules,
// validation, serialization) lives above it and is shared.
//
// Matrices are row-major float32, "size rows * cols". A PointSet is a reference set (training
// points, support vectors, whitening rows) prepared once for repeated scoring: packed for the
// CPU micro-kernels, or uploaded to the GPU.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "oneclass/heatmap.h"

namespace oneclass {

struct KCenterOptions;  // coreset.h
struct KCenterResult;
class Progress;       // progress.h
class PositionalSet;  // positional_gaussian.h

// Applied to reference rows at prepare() and to every query row: optional L2 normalization,
// then subtraction of `center` (empty = none). Centering on the training mean keeps the GEMM
// expansion |x|^2 + |y|^2 - 2 x.y accurate in float32 (NUMERICS.md).
struct RowTransform {
  bool l2normalize = false;
  std::vector<float> center;
};

class PointSet {
 public:
  virtual ~PointSet() = default;
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const RowTransform& transform() const { return transform_; }
  // Transformed reference row j as float32 (used for exact re-ranking of neighbours).
  virtual void copyRow(int64_t j, float* out) const = 0;

 protected:
  PointSet(int64_t rows, int64_t cols, RowTransform t) : rows_(rows), cols_(cols), transform_(std::move(t)) {}
  int64_t rows_, cols_;
  RowTransform transform_;
};

struct ExecOptions {
  int threads = 0;  // CPU threads; 0 = all hardware threads
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Packs/uploads m reference rows of dimension d. `t` is applied to every query; it is applied
  // to the reference rows too unless transformRows is false (whitening rows of the Gaussian
  // density are used as they are, only queries are centred).
  virtual std::unique_ptr<PointSet> prepare(const float* rows, int64_t m, int64_t d, const RowTransform& t,
                                            bool transformRows = true) = 0;

  // out[i] = log sum_j w_j exp(-gamma * |T(x_i) - y_j|^2), computed with a running max so it
  // never underflows. weights == nullptr means w_j = 1; weights must be >= 0 (length m).
  virtual void kernelLogSum(const PointSet& ref, const float* x, int64_t n, double gamma, const double* weights,
                            double* out, const ExecOptions& exec) = 0;

  // The k nearest reference rows of each query, ascending: distance/index are n * k. Candidates
  // are selected by squared Euclidean distance between transformed rows, then ranked and
  // reported by exactDistance() in float64 (transform.h): the squared Euclidean distance, or the
  // cosine distance for L2-normalizing transforms.
  virtual void nearest(const PointSet& ref, const float* x, int64_t n, int k, double* distance, int64_t* index,
                       const ExecOptions& exec) = 0;

  // out[i] = sum_j (y_j . T(x_i))^2: the squared norm of the query projected on the reference
  // rows; with the rows of L^-1 as reference this is the squared Mahalanobis distance.
  virtual void projectedSquaredNorm(const PointSet& ref, const float* x, int64_t n, double* out,
                                    const ExecOptions& exec) = 0;

  // out[i] = sum_j w_j exp(-gamma * |T(x_i) - y_j|^2) with the kernel evaluated and summed in
  // float64 (squared distances come from the float32 GEMM of centred rows): the decision
  // function of the one-class SVM, whose values are small differences of large sums.
  virtual void kernelWeightedSum(const PointSet& ref, const float* x, int64_t n, double gamma, const double* weights,
                                 double* out, const ExecOptions& exec) = 0;

  // out[i * m + j] = exp(-gamma * |T(x_i) - y_j|^2) for a block of query rows (kernel rows of
  // the OC-SVM solver), for the reference rows j < cols (cols < 0: all m); the row stride of
  // out stays m. The caller bounds n so the n * m block stays small.
  virtual void kernelRows(const PointSet& ref, const float* x, int64_t n, double gamma, float* out,
                          const ExecOptions& exec, int64_t cols = -1) = 0;

  // Greedy k-center selection (coreset.h) on n checked rows of dimension d; `projection` is the
  // options.projection x d matrix of gaussianProjection (null when options.projection is 0).
  virtual KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                                      const KCenterOptions& options, Progress* progress) = 0;

  // Per-position mean (positions x dim) and unbiased covariance (positions x dim x dim) of
  // x = images x positions x dim, accumulated in float64 (positional_gaussian.h); images >= 2.
  virtual void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean,
                                 double* covariance, const ExecOptions& exec) = 0;
  // An empty set of per-position whitening factors for this backend, filled by PositionalSet::load.
  virtual std::unique_ptr<PositionalSet> createPositionalSet(int64_t positions, int64_t dim) = 0;
  // out[i * positions + p] = |L_p^-1 (x_ip - mean_p)|^2 for x = images x positions x dim.
  virtual void positionalSquaredMahalanobis(const PositionalSet& set, const float* x, int64_t images, double* out,
                                            const ExecOptions& exec) = 0;

  // Applies a heatmap plan to `batch` grids (plan.inHeight x plan.inWidth each), writing
  // batch x outHeight x outWidth floats.
  virtual void upsample(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out,
                        const ExecOptions& exec) = 0;
};

// The CPU backend, at the CPU level chosen at run time (oneclass/cpu_dispatch.h). It always
// exists, unless ONECLASS_CPU_LEVEL forces a level this CPU cannot run: then it fails with
// BackendUnavailable saying why.
Backend& cpuBackend();
// The SIMD instruction set of the chosen level's kernels ("avx512", "avx2", "sse4.2", "neon",
// ...; "none" after a level error).
const char* cpuSimd();

struct CudaDeviceInfo {
  int index;
  std::string name;
  int computeMajor, computeMinor;
  int multiprocessors;
  size_t totalMemory;
};

struct CudaStatus {
  bool compiled = false;  // built with nvcc
  bool usable = false;    // a device answered
  std::string reason;     // why not usable (CUDA error string), empty when usable
  int runtimeVersion = 0, driverVersion = 0;
  std::vector<CudaDeviceInfo> devices;
};

// Probed once, then cached.
const CudaStatus& cudaStatus();

// The CUDA backend, or nullptr when it is not usable (cudaStatus().reason says why).
Backend* cudaBackend();

// "cpu" -> CPU; "cuda" -> CUDA or Error(BackendUnavailable); "auto" -> CUDA when usable, else CPU.
Backend& selectBackend(const std::string& device);

}  // namespace oneclass
