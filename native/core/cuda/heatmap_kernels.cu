// Banded separable heatmap operators: one thread per output value, first along x, then y.
#include "cuda_common.cuh"

namespace oneclass::cuda {
namespace {

__global__ void alongColumns(DeviceBand cols, const float* grids, int64_t lines, int64_t gw, float* tmp) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= lines * cols.outSize) return;
  const int64_t line = idx / cols.outSize, x = idx % cols.outSize;
  const float* src = grids + line * gw + cols.start[x];
  const float* w = cols.weight + x * cols.taps;
  float acc = 0.f;
  for (int64_t t = 0; t < cols.taps; ++t) acc = fmaf(w[t], src[t], acc);
  tmp[idx] = acc;
}

__global__ void alongRows(DeviceBand rows, const float* tmp, int64_t batch, int64_t gh, int64_t ow, float* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= batch * rows.outSize * ow) return;
  const int64_t x = idx % ow, y = (idx / ow) % rows.outSize, b = idx / (ow * rows.outSize);
  const float* src = tmp + (b * gh + rows.start[y]) * ow + x;
  const float* w = rows.weight + y * rows.taps;
  float acc = 0.f;
  for (int64_t t = 0; t < rows.taps; ++t) acc = fmaf(w[t], src[t * ow], acc);
  out[idx] = acc;
}

}  // namespace

void launchHeatmaps(const DeviceBand& rows, const DeviceBand& cols, const float* grids, int64_t batch, int64_t gh,
                    int64_t gw, float* tmp, float* out, cudaStream_t s) {
  const int block = 256;
  const int64_t n1 = batch * gh * cols.outSize, n2 = batch * rows.outSize * cols.outSize;
  alongColumns<<<static_cast<unsigned>((n1 + block - 1) / block), block, 0, s>>>(cols, grids, batch * gh, gw, tmp);
  ONECLASS_CUDA_CHECK(cudaGetLastError());
  alongRows<<<static_cast<unsigned>((n2 + block - 1) / block), block, 0, s>>>(rows, tmp, batch, gh, cols.outSize, out);
  ONECLASS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace oneclass::cuda
