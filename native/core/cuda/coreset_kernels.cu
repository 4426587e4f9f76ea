// Greedy k-center selection on the GPU: the plain algorithm, one pass over all rows per step, which
// HBM bandwidth makes cheap (n x dim float64 rows read once per step). Each step is two kernels and
// no host round trip: the first updates every row's distance to the selection with the row chosen
// last (a warp per row, float64) and reduces the farthest row per block; the second reduces the
// blocks and writes the next row into the selection on the device. The host only looks in every
// kSyncSteps steps, for progress and cancellation.
//
// Ties go to the lowest index, as on the CPU; distances are summed in another order than the CPU's,
// which only matters for rows at distances equal to 1e-15 relative.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "coreset_cuda.cuh"
#include "cuda_common.cuh"
#include "oneclass/progress.h"

namespace oneclass::cuda {
namespace {

constexpr int kUpdateThreads = 256;
constexpr int kMaxBlocks = 1024;
constexpr int kSelectThreads = 1024;
constexpr int64_t kSyncSteps = 256;
constexpr int kProjectTile = 64, kProjectDepth = 16;

__device__ __forceinline__ bool ranksBefore(double va, int64_t ia, double vb, int64_t ib) {
  return va > vb || (va == vb && ia < ib);
}

// The farthest (value, index) over a warp, lowest index on ties.
__device__ __forceinline__ void warpArgMax(double& v, int64_t& i) {
  for (int o = 16; o > 0; o >>= 1) {
    const double ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, i, o);
    if (ranksBefore(ov, oi, v, i)) v = ov, i = oi;
  }
}

// Reduces (v, i) over the block; thread 0 ends with the result.
template <int kThreads>
__device__ void blockArgMax(double& v, int64_t& i) {
  __shared__ double sv[kThreads / 32];
  __shared__ int64_t si[kThreads / 32];
  warpArgMax(v, i);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) sv[warp] = v, si[warp] = i;
  __syncthreads();
  if (warp == 0) {
    v = lane < kThreads / 32 ? sv[lane] : -DBL_MAX;
    i = lane < kThreads / 32 ? si[lane] : INT64_MAX;
    warpArgMax(v, i);
  }
}

// rows: n x d (float32 rows as given, or float64 projected rows). Updates mind with the row
// selected at `step` and writes each block's farthest row.
template <typename T>
__global__ void __launch_bounds__(kUpdateThreads)
    updateKernel(const T* rows, int64_t n, int64_t d, const int32_t* selected, int64_t step, double* mind,
                 double* blockValue, int64_t* blockIndex) {
  const int lane = threadIdx.x % 32;
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * kUpdateThreads + threadIdx.x) / 32;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * kUpdateThreads / 32;
  const T* center = rows + static_cast<int64_t>(selected[step]) * d;
  double best = -DBL_MAX;
  int64_t bestIndex = INT64_MAX;
  for (int64_t r = warp; r < n; r += warps) {
    const T* row = rows + r * d;
    double s = 0;
    for (int64_t k = lane; k < d; k += 32) {
      const double u = static_cast<double>(row[k]) - static_cast<double>(center[k]);
      s = fma(u, u, s);
    }
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    double m = mind[r];
    if (m >= 0 && s < m) {
      m = s;
      if (lane == 0) mind[r] = s;
    }
    if (lane == 0 && ranksBefore(m, r, best, bestIndex)) best = m, bestIndex = r;
  }
  blockArgMax<kUpdateThreads>(best, bestIndex);
  if (threadIdx.x == 0) blockValue[blockIdx.x] = best, blockIndex[blockIdx.x] = bestIndex;
}

// Picks the farthest row over the blocks; selects it as row `next` of the selection (unless the
// selection is complete) and records its distance (the covering radius after the last step).
__global__ void __launch_bounds__(kSelectThreads)
    selectKernel(const double* blockValue, const int64_t* blockIndex, int blocks, int32_t* selected, int64_t next,
                 int64_t count, double* mind, double* reach) {
  double v = -DBL_MAX;
  int64_t i = INT64_MAX;
  for (int b = threadIdx.x; b < blocks; b += kSelectThreads)
    if (ranksBefore(blockValue[b], blockIndex[b], v, i)) v = blockValue[b], i = blockIndex[b];
  blockArgMax<kSelectThreads>(v, i);
  if (threadIdx.x == 0) {
    *reach = v;
    if (next < count) {
      selected[next] = static_cast<int32_t>(i);
      mind[i] = -1;
    }
  }
}

__global__ void startKernel(int32_t* selected, int64_t start, double* mind, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) mind[i] = i == start ? -1.0 : DBL_MAX;
  if (i == 0) selected[0] = static_cast<int32_t>(start);
}

// out (n x outDim, float64) = x (n x d, float32) R^T (R: outDim x d, float64): 64 x 64 tiles,
// 16 x 16 threads with 4 x 4 outputs each, depth staged through shared memory.
__global__ void __launch_bounds__(256)
    projectKernel(const float* x, int64_t n, int64_t d, const double* r, int64_t outDim, double* out) {
  __shared__ double as[kProjectDepth][kProjectTile + 1];
  __shared__ double bs[kProjectDepth][kProjectTile + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kProjectTile;
  const int64_t col0 = static_cast<int64_t>(blockIdx.y) * kProjectTile;
  double acc[4][4] = {};
  for (int64_t k0 = 0; k0 < d; k0 += kProjectDepth) {
    for (int q = 0; q < (kProjectTile * kProjectDepth) / 256; ++q) {
      const int idx = tid + q * 256;
      const int rr = idx / kProjectDepth, kk = idx % kProjectDepth;
      const int64_t k = k0 + kk, ar = row0 + rr, br = col0 + rr;
      as[kk][rr] = (ar < n && k < d) ? static_cast<double>(x[ar * d + k]) : 0.0;
      bs[kk][rr] = (br < outDim && k < d) ? r[br * d + k] : 0.0;
    }
    __syncthreads();
    accumulateTile4x4(as, bs, tx, ty, acc);
    __syncthreads();
  }
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const int64_t row = row0 + ty * 4 + i, col = col0 + tx * 4 + j;
      if (row < n && col < outDim) out[row * outDim + col] = acc[i][j];
    }
}

template <typename T>
KCenterResult run(const T* rows, int64_t n, int64_t d, const KCenterOptions& options, Progress* progress,
                  const Stream& stream) {
  const int64_t count = options.count;
  DeviceBuffer<double> mind(static_cast<size_t>(n));
  DeviceBuffer<int32_t> selected(static_cast<size_t>(count));
  const int blocks =
      static_cast<int>(std::min<int64_t>(kMaxBlocks, (n + kUpdateThreads / 32 - 1) / (kUpdateThreads / 32)));
  DeviceBuffer<double> blockValue(static_cast<size_t>(blocks)), reach(1);
  DeviceBuffer<int64_t> blockIndex(static_cast<size_t>(blocks));
  startKernel<<<static_cast<unsigned>((n + 255) / 256), 256, 0, stream.get()>>>(selected.get(), options.start,
                                                                                mind.get(), n);
  ONECLASS_CUDA_CHECK(cudaGetLastError());
  for (int64_t step = 0; step < count; ++step) {
    updateKernel<T><<<blocks, kUpdateThreads, 0, stream.get()>>>(rows, n, d, selected.get(), step, mind.get(),
                                                                 blockValue.get(), blockIndex.get());
    selectKernel<<<1, kSelectThreads, 0, stream.get()>>>(blockValue.get(), blockIndex.get(), blocks, selected.get(),
                                                         step + 1, count, mind.get(), reach.get());
    if ((step + 1) % kSyncSteps == 0 || step + 1 == count) {
      ONECLASS_CUDA_CHECK(cudaGetLastError());
      stream.sync();
      if (progress) progress->report(step + 1, count);
      if (step + 1 < count) throwIfCancelled(progress, "k-center selection");
    }
  }
  KCenterResult result;
  std::vector<int32_t> indices(static_cast<size_t>(count));
  double top = 0;
  ONECLASS_CUDA_CHECK(cudaMemcpy(indices.data(), selected.get(), count * 4, cudaMemcpyDeviceToHost));
  ONECLASS_CUDA_CHECK(cudaMemcpy(&top, reach.get(), 8, cudaMemcpyDeviceToHost));
  result.indices.assign(indices.begin(), indices.end());
  result.coveringRadius = std::sqrt(std::max(0.0, top));
  result.distanceEvaluations = n * count;
  return result;
}

}  // namespace

KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                            const KCenterOptions& options, Progress* progress) {
  Stream stream;
  DeviceBuffer<float> dx(static_cast<size_t>(n * d));
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(dx.get(), x, n * d * 4, cudaMemcpyHostToDevice, stream.get()));
  if (!projection) return run<float>(dx.get(), n, d, options, progress, stream);
  const int64_t outDim = options.projection;
  DeviceBuffer<double> dr(static_cast<size_t>(outDim * d)), projected(static_cast<size_t>(n * outDim));
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(dr.get(), projection, outDim * d * 8, cudaMemcpyHostToDevice, stream.get()));
  dim3 grid(static_cast<unsigned>((n + kProjectTile - 1) / kProjectTile),
            static_cast<unsigned>((outDim + kProjectTile - 1) / kProjectTile));
  projectKernel<<<grid, 256, 0, stream.get()>>>(dx.get(), n, d, dr.get(), outDim, projected.get());
  ONECLASS_CUDA_CHECK(cudaGetLastError());
  stream.sync();
  dx.allocate(0);
  throwIfCancelled(progress, "k-center selection");
  return run<double>(projected.get(), n, outDim, options, progress, stream);
}

}  // namespace oneclass::cuda
