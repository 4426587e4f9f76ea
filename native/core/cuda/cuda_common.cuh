// Shared pieces of the CUDA backend: error checking, owning device buffers, a per-call stream.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "oneclass/errors.h"

namespace oneclass::cuda {

[[noreturn]] inline void throwCuda(cudaError_t e, const char* what, const char* file, int line) {
  std::string message =
      std::string(what) + " failed: " + cudaGetErrorString(e) + " (" + file + ":" + std::to_string(line) + ")";
  fail(e == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::CudaError, message);
}

#define ONECLASS_CUDA_CHECK(call)                                                                            \
  do {                                                                                                       \
    cudaError_t oneclass_err_ = (call);                                                                      \
    if (oneclass_err_ != cudaSuccess) ::oneclass::cuda::throwCuda(oneclass_err_, #call, __FILE__, __LINE__); \
  } while (0)

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) { allocate(count); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }
  void allocate(size_t count) {
    if (ptr_) cudaFree(ptr_);
    ptr_ = nullptr;
    count_ = count;
    if (count) ONECLASS_CUDA_CHECK(cudaMalloc(&ptr_, count * sizeof(T)));
  }
  T* get() const { return ptr_; }
  size_t size() const { return count_; }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// A stream owned by one call, so concurrent calls from libuv's threads overlap.
class Stream {
 public:
  Stream() { ONECLASS_CUDA_CHECK(cudaStreamCreateWithFlags(&s_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(s_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  cudaStream_t get() const { return s_; }
  void sync() const { ONECLASS_CUDA_CHECK(cudaStreamSynchronize(s_)); }

 private:
  cudaStream_t s_{};
};

// One thread's share of a tiled product: acc[i][j] += sum over kk of a[kk][ty*4+i] * b[kk][tx*4+j],
// read from the two tiles staged in shared memory (Depth slices of 64 values, padded rows against
// bank conflicts). Every tiled kernel (the fused dot kernels, the coreset projection, the
// per-position covariance and scores) stages its tiles its own way, then accumulates with this.
__device__ __forceinline__ float fusedMulAdd(float a, float b, float c) { return fmaf(a, b, c); }
__device__ __forceinline__ double fusedMulAdd(double a, double b, double c) { return fma(a, b, c); }

template <int Depth, int Stride, typename T>
__device__ __forceinline__ void accumulateTile4x4(const T (&as)[Depth][Stride], const T (&bs)[Depth][Stride], int tx,
                                                  int ty, T (&acc)[4][4]) {
#pragma unroll
  for (int kk = 0; kk < Depth; ++kk) {
    T a[4], b[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) a[i] = as[kk][ty * 4 + i], b[i] = bs[kk][tx * 4 + i];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
      for (int j = 0; j < 4; ++j) acc[i][j] = fusedMulAdd(a[i], b[j], acc[i][j]);
  }
}

// Tiles of the fused dot kernels.
constexpr int kTileRows = 64;   // queries per block
constexpr int kTileCols = 64;   // reference rows per inner tile
constexpr int kTileDepth = 16;  // depth slice staged in shared memory
constexpr int kThreads = 256;   // 16 x 16 threads, 4 x 4 outputs each

struct DotProblem {
  const float* a;      // n x d queries (transformed), device
  const float* b;      // m x d reference rows (transformed), device
  const float* xnorm;  // n
  const float* ynorm;  // m padded to a multiple of kTileCols (0 in the padding)
  int64_t n, m, d;
  int chunks;  // column chunks: gridDim.y
};

// Launchers (dot_kernels.cu). Partial results are [chunk][row].
void launchLogSum(const DotProblem& p, const float* logw, float gamma, float* partMax, float* partSum, cudaStream_t s);
void launchWeightedSum(const DotProblem& p, const double* weights, double gamma, double* partSum, cudaStream_t s);
void launchSquaredNorm(const DotProblem& p, float* partSum, cudaStream_t s);
void launchNearest1(const DotProblem& p, float* partDist, int64_t* partIndex, cudaStream_t s);
// out[i * m + j] = f(squared distance) for the n x m block: exp(-gamma d) when kernel, else d.
void launchPairwise(const DotProblem& p, float gamma, bool kernel, float* out, cudaStream_t s);
void launchSelectK(const float* dist, int64_t n, int64_t m, int k, float* outDist, int64_t* outIndex, cudaStream_t s);

// Heatmaps (heatmap_kernels.cu).
struct DeviceBand {
  const int64_t* start;
  const float* weight;
  int64_t outSize, inSize, taps;
};
void launchHeatmaps(const DeviceBand& rows, const DeviceBand& cols, const float* grids, int64_t batch, int64_t gh,
                    int64_t gw, float* tmp, float* out, cudaStream_t s);

}  // namespace oneclass::cuda
