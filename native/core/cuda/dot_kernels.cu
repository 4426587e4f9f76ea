// Fused tiled kernels in the KeOps style: each block computes 64 x 64 dot tiles in registers
// (16 x 16 threads, 4 x 4 each, depth staged through shared memory) and reduces them on the
// spot; only per-(row, column chunk) partials reach global memory, never the N x M matrix.
#include "cuda_common.cuh"

namespace oneclass::cuda {
namespace {

constexpr int kPerThread = 4;
constexpr int kLanesPerRow = 16;  // threads sharing a row: lanes ty*16 .. ty*16+15 of a warp
constexpr float kNone = -1e30f;

__device__ __forceinline__ float rowMax(float v) {
  for (int o = kLanesPerRow / 2; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

__device__ __forceinline__ float rowSum(float v) {
  for (int o = kLanesPerRow / 2; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float squaredDistance(const DotProblem& p, int64_t row, int64_t col, float dot) {
  return fmaxf(p.xnorm[row] + p.ynorm[col] - 2.0f * dot, 0.0f);
}

// Calls f(i, col, squared distance) for the entries of a thread's tile of dot products that lie in
// the problem (row r0 + i < n, column col < m).
template <typename F>
__device__ __forceinline__ void forEachDistance(const DotProblem& p, int64_t r0, int64_t c0, const float (&acc)[4][4],
                                                F&& f) {
  for (int i = 0; i < kPerThread; ++i) {
    if (r0 + i >= p.n) continue;
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t col = c0 + j;
      if (col < p.m) f(i, col, squaredDistance(p, r0 + i, col, acc[i][j]));
    }
  }
}

struct LogSumEpi {
  const float* logw;
  float gamma;
  float* partMax;
  float* partSum;
  struct State {
    float m[kPerThread], s[kPerThread];
  };
  __device__ void init(State& st) const {
    for (int i = 0; i < kPerThread; ++i) st.m[i] = kNone, st.s[i] = 0.f;
  }
  __device__ void tile(State& st, const DotProblem& p, int64_t r0, int64_t c0, const float (&acc)[4][4]) const {
    for (int i = 0; i < kPerThread; ++i) {
      const int64_t row = r0 + i;
      float v[kPerThread];
      float tmax = kNone;
      for (int j = 0; j < kPerThread; ++j) {
        const int64_t col = c0 + j;
        v[j] = (row < p.n && col < p.m) ? logw[col] - gamma * squaredDistance(p, row, col, acc[i][j]) : kNone;
        tmax = fmaxf(tmax, v[j]);
      }
      tmax = rowMax(tmax);
      const float m = fmaxf(st.m[i], tmax);
      float e = 0.f;
      for (int j = 0; j < kPerThread; ++j) e += v[j] > 0.5f * kNone ? expf(v[j] - m) : 0.f;
      e = rowSum(e);
      const float scale = st.m[i] > 0.5f * kNone ? expf(st.m[i] - m) : 0.f;
      st.s[i] = st.s[i] * scale + e;
      st.m[i] = m;
    }
  }
  __device__ void finish(State& st, const DotProblem& p, int64_t r0, int lane, int chunk) const {
    if (lane != 0) return;
    for (int i = 0; i < kPerThread; ++i)
      if (r0 + i < p.n) {
        partMax[chunk * p.n + r0 + i] = st.m[i];
        partSum[chunk * p.n + r0 + i] = st.s[i];
      }
  }
};

struct WeightedSumEpi {
  const double* w;
  double gamma;
  double* partSum;
  struct State {
    double s[kPerThread];
  };
  __device__ void init(State& st) const {
    for (int i = 0; i < kPerThread; ++i) st.s[i] = 0.0;
  }
  __device__ void tile(State& st, const DotProblem& p, int64_t r0, int64_t c0, const float (&acc)[4][4]) const {
    forEachDistance(p, r0, c0, acc,
                    [&](int i, int64_t col, float d) { st.s[i] += w[col] * exp(-gamma * static_cast<double>(d)); });
  }
  __device__ void finish(State& st, const DotProblem& p, int64_t r0, int lane, int chunk) const {
    for (int i = 0; i < kPerThread; ++i) {
      double s = st.s[i];
      for (int o = kLanesPerRow / 2; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
      if (lane == 0 && r0 + i < p.n) partSum[chunk * p.n + r0 + i] = s;
    }
  }
};

struct SquaredNormEpi {
  float* partSum;
  struct State {
    float s[kPerThread];
  };
  __device__ void init(State& st) const {
    for (int i = 0; i < kPerThread; ++i) st.s[i] = 0.f;
  }
  __device__ void tile(State& st, const DotProblem&, int64_t, int64_t, const float (&acc)[4][4]) const {
    for (int i = 0; i < kPerThread; ++i)
      for (int j = 0; j < kPerThread; ++j) st.s[i] = fmaf(acc[i][j], acc[i][j], st.s[i]);
  }
  __device__ void finish(State& st, const DotProblem& p, int64_t r0, int lane, int chunk) const {
    for (int i = 0; i < kPerThread; ++i) {
      float s = rowSum(st.s[i]);
      if (lane == 0 && r0 + i < p.n) partSum[chunk * p.n + r0 + i] = s;
    }
  }
};

struct Nearest1Epi {
  float* partDist;
  int64_t* partIndex;
  struct State {
    float d[kPerThread];
    int64_t j[kPerThread];
  };
  __device__ void init(State& st) const {
    for (int i = 0; i < kPerThread; ++i) st.d[i] = INFINITY, st.j[i] = -1;
  }
  __device__ void tile(State& st, const DotProblem& p, int64_t r0, int64_t c0, const float (&acc)[4][4]) const {
    forEachDistance(p, r0, c0, acc, [&](int i, int64_t col, float d) {
      if (d < st.d[i]) st.d[i] = d, st.j[i] = col;
    });
  }
  __device__ void finish(State& st, const DotProblem& p, int64_t r0, int lane, int chunk) const {
    for (int i = 0; i < kPerThread; ++i) {
      float d = st.d[i];
      int64_t j = st.j[i];
      for (int o = kLanesPerRow / 2; o > 0; o >>= 1) {
        const float od = __shfl_xor_sync(0xffffffffu, d, o);
        const int64_t oj = __shfl_xor_sync(0xffffffffu, j, o);
        if (od < d || (od == d && oj >= 0 && (j < 0 || oj < j))) d = od, j = oj;
      }
      if (lane == 0 && r0 + i < p.n) {
        partDist[chunk * p.n + r0 + i] = d;
        partIndex[chunk * p.n + r0 + i] = j;
      }
    }
  }
};

struct PairwiseEpi {
  float gamma;
  bool kernel;
  float* out;
  struct State {};
  __device__ void init(State&) const {}
  __device__ void tile(State&, const DotProblem& p, int64_t r0, int64_t c0, const float (&acc)[4][4]) const {
    forEachDistance(p, r0, c0, acc,
                    [&](int i, int64_t col, float d) { out[(r0 + i) * p.m + col] = kernel ? expf(-gamma * d) : d; });
  }
  __device__ void finish(State&, const DotProblem&, int64_t, int, int) const {}
};

template <class Epi>
__global__ void __launch_bounds__(kThreads) dotKernel(DotProblem p, Epi epi) {
  // +1 column of padding keeps the transposing shared-memory stores free of bank conflicts.
  __shared__ float as[kTileDepth][kTileRows + 1];
  __shared__ float bs[kTileDepth][kTileCols + 1];
  const int tid = threadIdx.x, tx = tid % kLanesPerRow, ty = tid / kLanesPerRow;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * kTileRows;
  const int64_t colTiles = (p.m + kTileCols - 1) / kTileCols;
  const int64_t t0 = colTiles * blockIdx.y / p.chunks, t1 = colTiles * (blockIdx.y + 1) / p.chunks;
  typename Epi::State st;
  epi.init(st);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t col0 = t * kTileCols;
    float acc[4][4] = {};
    for (int64_t k0 = 0; k0 < p.d; k0 += kTileDepth) {
      for (int q = 0; q < (kTileRows * kTileDepth) / kThreads; ++q) {
        const int idx = tid + q * kThreads;
        const int r = idx / kTileDepth, kk = idx % kTileDepth;
        const int64_t k = k0 + kk, ar = row0 + r, br = col0 + r;
        as[kk][r] = (ar < p.n && k < p.d) ? p.a[ar * p.d + k] : 0.f;
        bs[kk][r] = (br < p.m && k < p.d) ? p.b[br * p.d + k] : 0.f;
      }
      __syncthreads();
      accumulateTile4x4(as, bs, tx, ty, acc);
      __syncthreads();
    }
    epi.tile(st, p, row0 + ty * 4, col0 + tx * 4, acc);
  }
  epi.finish(st, p, row0 + ty * 4, tx, blockIdx.y);
}

template <class Epi>
void launch(const DotProblem& p, const Epi& epi, cudaStream_t s) {
  dim3 grid(static_cast<unsigned>((p.n + kTileRows - 1) / kTileRows), static_cast<unsigned>(p.chunks));
  dotKernel<Epi><<<grid, kThreads, 0, s>>>(p, epi);
  ONECLASS_CUDA_CHECK(cudaGetLastError());
}

// One thread per row keeps a sorted top-k list (k <= kMaxSelect) while scanning its row.
constexpr int kMaxSelect = 64;
__global__ void selectKKernel(const float* dist, int64_t n, int64_t m, int k, float* outDist, int64_t* outIndex) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (row >= n) return;
  float bd[kMaxSelect];
  int64_t bi[kMaxSelect];
  for (int t = 0; t < k; ++t) bd[t] = INFINITY, bi[t] = -1;
  const float* r = dist + row * m;
  for (int64_t j = 0; j < m; ++j) {
    const float d = r[j];
    if (!(d < bd[k - 1])) continue;
    int pos = k - 1;
    while (pos > 0 && bd[pos - 1] > d) {
      bd[pos] = bd[pos - 1];
      bi[pos] = bi[pos - 1];
      --pos;
    }
    bd[pos] = d;
    bi[pos] = j;
  }
  for (int t = 0; t < k; ++t) outDist[row * k + t] = bd[t], outIndex[row * k + t] = bi[t];
}

}  // namespace

void launchLogSum(const DotProblem& p, const float* logw, float gamma, float* partMax, float* partSum, cudaStream_t s) {
  launch(p, LogSumEpi{logw, gamma, partMax, partSum}, s);
}

void launchWeightedSum(const DotProblem& p, const double* weights, double gamma, double* partSum, cudaStream_t s) {
  launch(p, WeightedSumEpi{weights, gamma, partSum}, s);
}

void launchSquaredNorm(const DotProblem& p, float* partSum, cudaStream_t s) { launch(p, SquaredNormEpi{partSum}, s); }

void launchNearest1(const DotProblem& p, float* partDist, int64_t* partIndex, cudaStream_t s) {
  launch(p, Nearest1Epi{partDist, partIndex}, s);
}

void launchPairwise(const DotProblem& p, float gamma, bool kernel, float* out, cudaStream_t s) {
  launch(p, PairwiseEpi{gamma, kernel, out}, s);
}

void launchSelectK(const float* dist, int64_t n, int64_t m, int k, float* outDist, int64_t* outIndex, cudaStream_t s) {
  if (k > kMaxSelect) fail(ErrorCode::Internal, "selectK: k above the GPU selection limit");
  const int block = 128;
  selectKKernel<<<static_cast<unsigned>((n + block - 1) / block), block, 0, s>>>(dist, n, m, k, outDist, outIndex);
  ONECLASS_CUDA_CHECK(cudaGetLastError());
}

}  // namespace oneclass::cuda
