// Per-position Gaussian on the GPU. Moments: a float64 mean kernel, then a batched Gram kernel
// (a block per 64 x 64 tile of one position's covariance, lower tiles only, mirrored on write)
// over the centred features staged through shared memory. Scoring: a block per (64 images, one
// position) multiplies the centred features by that position's L^-1 tile by tile, only up to the
// depth each tile of lower triangular rows needs, and reduces the squares in registers: the
// images x dim projections never reach global memory.
#include <algorithm>
#include <vector>

#include "coreset_cuda.cuh"
#include "cuda_common.cuh"

namespace oneclass::cuda {
namespace {

constexpr int kTile = 64, kDepth = 16, kBlock = 256;

// Grids cover positions p0 + blockIdx.y: launches go in batches of kMaxGridY positions.
constexpr int64_t kMaxGridY = 65535;

__global__ void meanKernel(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean, int64_t p0) {
  const int64_t p = p0 + blockIdx.y, k = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (k >= dim) return;
  double s = 0;
  for (int64_t i = 0; i < images; ++i) s += x[(i * positions + p) * dim + k];
  mean[p * dim + k] = s / static_cast<double>(images);
}

// covariance[p] (dim x dim) = sum_i (x_ip - mean_p)(x_ip - mean_p)^T / (images - 1).
__global__ void __launch_bounds__(kBlock)
    covarianceKernel(const float* x, int64_t images, int64_t positions, int64_t dim, const double* mean,
                     double* covariance, int64_t p0) {
  const int64_t tiles = (dim + kTile - 1) / kTile;
  const int64_t ti = blockIdx.x / tiles, tj = blockIdx.x % tiles;
  if (tj > ti) return;  // the upper tiles are mirrors
  const int64_t p = p0 + blockIdx.y;
  __shared__ double as[kDepth][kTile + 1];
  __shared__ double bs[kDepth][kTile + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t i0 = ti * kTile, j0 = tj * kTile;
  const double* mu = mean + p * dim;
  double acc[4][4] = {};
  for (int64_t s0 = 0; s0 < images; s0 += kDepth) {
    for (int q = 0; q < (kTile * kDepth) / kBlock; ++q) {
      const int idx = tid + q * kBlock;
      const int r = idx % kTile, kk = idx / kTile;  // consecutive threads read consecutive dims
      const int64_t image = s0 + kk;
      const float* row = x + (image * positions + p) * dim;
      as[kk][r] = (image < images && i0 + r < dim) ? static_cast<double>(row[i0 + r]) - mu[i0 + r] : 0.0;
      bs[kk][r] = (image < images && j0 + r < dim) ? static_cast<double>(row[j0 + r]) - mu[j0 + r] : 0.0;
    }
    __syncthreads();
    accumulateTile4x4(as, bs, tx, ty, acc);
    __syncthreads();
  }
  const double scale = 1.0 / static_cast<double>(images - 1);
  double* cov = covariance + p * dim * dim;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) {
      const int64_t r = i0 + ty * 4 + i, c = j0 + tx * 4 + j;
      if (r < dim && c < dim && c <= r) cov[r * dim + c] = cov[c * dim + r] = acc[i][j] * scale;
    }
}

// out[i * positions + p] = |L_p^-1 (x_ip - mean_p)|^2 for the images of this block.
__global__ void __launch_bounds__(kBlock)
    scoreKernel(const float* x, int64_t images, int64_t positions, int64_t dim, const double* mean,
                const float* inverse, double* out, int64_t p0) {
  __shared__ float as[kDepth][kTile + 1];
  __shared__ float bs[kDepth][kTile + 1];
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  const int64_t image0 = static_cast<int64_t>(blockIdx.x) * kTile, p = p0 + blockIdx.y;
  const double* mu = mean + p * dim;
  const float* l = inverse + p * dim * dim;
  double sums[4] = {};
  for (int64_t c0 = 0; c0 < dim; c0 += kTile) {
    float acc[4][4] = {};
    const int64_t depth = dim < c0 + kTile ? dim : c0 + kTile;  // rows c0.. of L^-1 are zero beyond this column
    for (int64_t k0 = 0; k0 < depth; k0 += kDepth) {
      for (int q = 0; q < (kTile * kDepth) / kBlock; ++q) {
        const int idx = tid + q * kBlock;
        const int r = idx / kDepth, kk = idx % kDepth;
        const int64_t k = k0 + kk, image = image0 + r, lr = c0 + r;
        as[kk][r] = (image < images && k < dim)
                        ? static_cast<float>(static_cast<double>(x[(image * positions + p) * dim + k]) - mu[k])
                        : 0.f;
        bs[kk][r] = (lr < dim && k < dim) ? l[lr * dim + k] : 0.f;
      }
      __syncthreads();
      accumulateTile4x4(as, bs, tx, ty, acc);
      __syncthreads();
    }
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) sums[i] += static_cast<double>(acc[i][j]) * acc[i][j];
  }
  for (int i = 0; i < 4; ++i) {
    double s = sums[i];
    for (int o = 8; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    const int64_t image = image0 + ty * 4 + i;
    if (tx == 0 && image < images) out[image * positions + p] = s;
  }
}

class CudaPositionalSet final : public PositionalSet {
 public:
  CudaPositionalSet(int64_t positions, int64_t dim)
      : PositionalSet(positions, dim),
        mean(static_cast<size_t>(positions * dim)),
        inverse(static_cast<size_t>(positions * dim * dim)) {}

  void load(int64_t p0, int64_t count, const double* m, const double* linv) override {
    require(p0 >= 0 && count >= 0 && p0 + count <= positions_, "positional set: positions out of range");
    const int64_t d = dim_;
    std::vector<float> f(static_cast<size_t>(count * d * d));
    for (size_t i = 0; i < f.size(); ++i) f[i] = static_cast<float>(linv[i]);
    ONECLASS_CUDA_CHECK(cudaMemcpy(mean.get() + p0 * d, m, count * d * 8, cudaMemcpyHostToDevice));
    ONECLASS_CUDA_CHECK(cudaMemcpy(inverse.get() + p0 * d * d, f.data(), f.size() * 4, cudaMemcpyHostToDevice));
  }

  DeviceBuffer<double> mean;
  DeviceBuffer<float> inverse;
};

// Images per upload: at most about 256 MB of features at a time.
int64_t imagesPerPass(int64_t positions, int64_t dim) {
  return std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, positions * dim));
}

}  // namespace

void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean,
                       double* covariance) {
  Stream stream;
  DeviceBuffer<float> dx(static_cast<size_t>(images * positions * dim));
  DeviceBuffer<double> dmean(static_cast<size_t>(positions * dim)), dcov(static_cast<size_t>(positions * dim * dim));
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(dx.get(), x, dx.size() * 4, cudaMemcpyHostToDevice, stream.get()));
  const int64_t tiles = (dim + kTile - 1) / kTile;
  for (int64_t p0 = 0; p0 < positions; p0 += kMaxGridY) {
    const unsigned batch = static_cast<unsigned>(std::min(kMaxGridY, positions - p0));
    meanKernel<<<dim3(static_cast<unsigned>((dim + 255) / 256), batch), 256, 0, stream.get()>>>(
        dx.get(), images, positions, dim, dmean.get(), p0);
    ONECLASS_CUDA_CHECK(cudaGetLastError());
    covarianceKernel<<<dim3(static_cast<unsigned>(tiles * tiles), batch), kBlock, 0, stream.get()>>>(
        dx.get(), images, positions, dim, dmean.get(), dcov.get(), p0);
    ONECLASS_CUDA_CHECK(cudaGetLastError());
  }
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(mean, dmean.get(), dmean.size() * 8, cudaMemcpyDeviceToHost, stream.get()));
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(covariance, dcov.get(), dcov.size() * 8, cudaMemcpyDeviceToHost, stream.get()));
  stream.sync();
}

std::unique_ptr<PositionalSet> makePositionalSet(int64_t positions, int64_t dim) {
  return std::make_unique<CudaPositionalSet>(positions, dim);
}

void positionalSquaredMahalanobis(const PositionalSet& base, const float* x, int64_t images, double* out) {
  auto* set = dynamic_cast<const CudaPositionalSet*>(&base);
  if (!set) fail(ErrorCode::InvalidArgument, "positional set was prepared by another backend");
  if (images == 0) return;
  const int64_t positions = set->positions(), dim = set->dim();
  const int64_t chunk = std::min(images, imagesPerPass(positions, dim));
  Stream stream;
  DeviceBuffer<float> dx(static_cast<size_t>(chunk * positions * dim));
  DeviceBuffer<double> dout(static_cast<size_t>(chunk * positions));
  for (int64_t i0 = 0; i0 < images; i0 += chunk) {
    const int64_t count = std::min(chunk, images - i0);
    ONECLASS_CUDA_CHECK(cudaMemcpyAsync(dx.get(), x + i0 * positions * dim, count * positions * dim * 4,
                                        cudaMemcpyHostToDevice, stream.get()));
    for (int64_t p0 = 0; p0 < positions; p0 += kMaxGridY) {
      const unsigned batch = static_cast<unsigned>(std::min(kMaxGridY, positions - p0));
      scoreKernel<<<dim3(static_cast<unsigned>((count + kTile - 1) / kTile), batch), kBlock, 0, stream.get()>>>(
          dx.get(), count, positions, dim, set->mean.get(), set->inverse.get(), dout.get(), p0);
      ONECLASS_CUDA_CHECK(cudaGetLastError());
    }
    ONECLASS_CUDA_CHECK(
        cudaMemcpyAsync(out + i0 * positions, dout.get(), count * positions * 8, cudaMemcpyDeviceToHost, stream.get()));
    stream.sync();
  }
}

}  // namespace oneclass::cuda
