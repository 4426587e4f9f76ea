// CUDA backend: queries are transformed on the host (the same code as the CPU backend), sent
// superblock by superblock, reduced on the GPU into per-(row, chunk) partials, and merged in
// float64 on the host.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <vector>

#include "coreset_cuda.cuh"
#include "cuda_common.cuh"
#include "oneclass/backend.h"
#include "oneclass/parallel.h"
#include "oneclass/transform.h"

namespace oneclass {
namespace cuda {
namespace {

int64_t paddedCols(int64_t m) { return (m + kTileCols - 1) / kTileCols * kTileCols; }

class CudaPointSet final : public PointSet {
 public:
  CudaPointSet(const float* rows, int64_t m, int64_t d, RowTransform t, bool transformRows)
      : PointSet(m, d, std::move(t)) {
    host.resize(static_cast<size_t>(m * d));
    std::vector<float> norms(static_cast<size_t>(paddedCols(m)), 0.f);
    applyTransform(transformRows ? transform_ : RowTransform{}, rows, m, d, host.data(), norms.data(),
                   defaultThreads());
    deviceRows.allocate(host.size());
    deviceNorms.allocate(norms.size());
    ONECLASS_CUDA_CHECK(cudaMemcpy(deviceRows.get(), host.data(), host.size() * 4, cudaMemcpyHostToDevice));
    ONECLASS_CUDA_CHECK(cudaMemcpy(deviceNorms.get(), norms.data(), norms.size() * 4, cudaMemcpyHostToDevice));
  }
  void copyRow(int64_t j, float* out) const override {
    std::copy(host.begin() + j * cols_, host.begin() + (j + 1) * cols_, out);
  }
  std::vector<float> host;
  DeviceBuffer<float> deviceRows, deviceNorms;
};

const CudaPointSet& asCuda(const PointSet& p) {
  auto* c = dynamic_cast<const CudaPointSet*>(&p);
  if (!c) fail(ErrorCode::InvalidArgument, "point set was prepared by another backend");
  return *c;
}

// Transformed queries of one superblock, resident on the device.
struct DeviceQueries {
  DeviceBuffer<float> rows, norms;
  std::vector<float> hostRows, hostNorms;
};

template <typename Score>
void forEachSuperblock(const CudaPointSet& ref, const float* x, int64_t n, const Stream& stream, Score&& score) {
  const int64_t d = ref.cols(), block = superblockRows(d);
  DeviceQueries q;
  const int64_t cap = std::min(n, block);
  q.hostRows.resize(static_cast<size_t>(cap * d));
  q.hostNorms.resize(static_cast<size_t>(cap));
  q.rows.allocate(q.hostRows.size());
  q.norms.allocate(q.hostNorms.size());
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    applyTransform(ref.transform(), x + s * d, count, d, q.hostRows.data(), q.hostNorms.data(), defaultThreads());
    ONECLASS_CUDA_CHECK(
        cudaMemcpyAsync(q.rows.get(), q.hostRows.data(), count * d * 4, cudaMemcpyHostToDevice, stream.get()));
    ONECLASS_CUDA_CHECK(
        cudaMemcpyAsync(q.norms.get(), q.hostNorms.data(), count * 4, cudaMemcpyHostToDevice, stream.get()));
    DotProblem p{q.rows.get(), ref.deviceRows.get(), q.norms.get(), ref.deviceNorms.get(), count, ref.rows(), d, 1};
    score(p, q, count, s);
  }
}

// Enough blocks for every SM a few times over: split columns when rows are few.
int chooseChunks(int64_t n, int64_t m) {
  const int64_t rowBlocks = (n + kTileRows - 1) / kTileRows, colTiles = (m + kTileCols - 1) / kTileCols;
  int sms = 0;
  if (cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0) != cudaSuccess || sms <= 0) sms = 80;
  const int64_t want = 4 * static_cast<int64_t>(sms);
  return static_cast<int>(
      std::clamp<int64_t>((want + rowBlocks - 1) / rowBlocks, 1, std::min<int64_t>(colTiles, 1024)));
}

template <typename T>
void download(std::vector<T>& host, const DeviceBuffer<T>& dev, size_t count, const Stream& s) {
  host.resize(count);
  ONECLASS_CUDA_CHECK(cudaMemcpyAsync(host.data(), dev.get(), count * sizeof(T), cudaMemcpyDeviceToHost, s.get()));
  s.sync();
}

// out[i] = sum over column chunks c of the partials [c][i] (count rows, summed in float64).
template <typename T>
void sumChunks(const DeviceBuffer<T>& partials, int64_t count, int chunks, const Stream& s, double* out) {
  std::vector<T> h;
  download(h, partials, partials.size(), s);
  for (int64_t i = 0; i < count; ++i) {
    double sum = 0;
    for (int c = 0; c < chunks; ++c) sum += h[c * count + i];
    out[i] = sum;
  }
}

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

  std::unique_ptr<PointSet> prepare(const float* rows, int64_t m, int64_t d, const RowTransform& t,
                                    bool transformRows) override {
    return std::make_unique<CudaPointSet>(rows, m, d, t, transformRows);
  }

  void kernelLogSum(const PointSet& refBase, const float* x, int64_t n, double gamma, const double* weights,
                    double* out, const ExecOptions&) override {
    const CudaPointSet& ref = asCuda(refBase);
    Stream stream;
    std::vector<float> logw(static_cast<size_t>(ref.rows()));
    for (int64_t j = 0; j < ref.rows(); ++j) {
      const double w = weights ? weights[j] : 1.0;
      logw[j] = w > 0 ? static_cast<float>(std::log(w)) : -1e30f;
    }
    DeviceBuffer<float> dlogw(logw.size());
    ONECLASS_CUDA_CHECK(
        cudaMemcpyAsync(dlogw.get(), logw.data(), logw.size() * 4, cudaMemcpyHostToDevice, stream.get()));
    forEachSuperblock(ref, x, n, stream, [&](DotProblem p, DeviceQueries&, int64_t count, int64_t offset) {
      p.chunks = chooseChunks(count, p.m);
      DeviceBuffer<float> pm(static_cast<size_t>(count * p.chunks)), ps(pm.size());
      launchLogSum(p, dlogw.get(), static_cast<float>(gamma), pm.get(), ps.get(), stream.get());
      std::vector<float> hm, hs;
      download(hm, pm, pm.size(), stream);
      download(hs, ps, ps.size(), stream);
      for (int64_t i = 0; i < count; ++i) {
        double top = -std::numeric_limits<double>::infinity();
        for (int c = 0; c < p.chunks; ++c)
          if (hs[c * count + i] > 0) top = std::max<double>(top, hm[c * count + i]);
        double s = 0;
        for (int c = 0; c < p.chunks; ++c)
          if (hs[c * count + i] > 0) s += hs[c * count + i] * std::exp(hm[c * count + i] - top);
        out[offset + i] = s > 0 ? top + std::log(s) : -std::numeric_limits<double>::infinity();
      }
    });
  }

  void nearest(const PointSet& refBase, const float* x, int64_t n, int k, double* distance, int64_t* index,
               const ExecOptions&) override {
    const CudaPointSet& ref = asCuda(refBase);
    Stream stream;
    const int64_t d = ref.cols(), m = ref.rows();
    forEachSuperblock(ref, x, n, stream, [&](DotProblem p, DeviceQueries& q, int64_t count, int64_t offset) {
      std::vector<int64_t> cand;  // count x width candidate indices
      int width = 0;
      if (k == 1) {
        p.chunks = chooseChunks(count, m);
        DeviceBuffer<float> pd(static_cast<size_t>(count * p.chunks));
        DeviceBuffer<int64_t> pi(pd.size());
        launchNearest1(p, pd.get(), pi.get(), stream.get());
        download(cand, pi, pi.size(), stream);
        // cand is [chunk][row]; regroup to [row][chunk].
        std::vector<int64_t> byRow(cand.size());
        for (int c = 0; c < p.chunks; ++c)
          for (int64_t i = 0; i < count; ++i) byRow[i * p.chunks + c] = cand[c * count + i];
        cand.swap(byRow);
        width = p.chunks;
      } else {
        // Squared distances for a bounded block of rows (<= 64M values), then top-k selection.
        const int64_t rowsPerPass = std::max<int64_t>(1, (int64_t{64} << 20) / std::max<int64_t>(1, m));
        cand.resize(static_cast<size_t>(count * k));
        width = k;
        DeviceBuffer<float> dist(static_cast<size_t>(std::min(count, rowsPerPass) * m));
        for (int64_t r = 0; r < count; r += rowsPerPass) {
          const int64_t rows = std::min(rowsPerPass, count - r);
          DotProblem sub = p;
          sub.a = p.a + r * d;
          sub.xnorm = p.xnorm + r;
          sub.n = rows;
          sub.chunks = 1;
          launchPairwise(sub, 0.f, false, dist.get(), stream.get());
          if (k <= 64) {
            DeviceBuffer<float> od(static_cast<size_t>(rows * k));
            DeviceBuffer<int64_t> oi(od.size());
            launchSelectK(dist.get(), rows, m, k, od.get(), oi.get(), stream.get());
            std::vector<int64_t> hi;
            download(hi, oi, oi.size(), stream);
            std::copy(hi.begin(), hi.end(), cand.begin() + r * k);
          } else {
            std::vector<float> hd;
            download(hd, dist, static_cast<size_t>(rows * m), stream);
            std::vector<int64_t> order(static_cast<size_t>(m));
            for (int64_t i = 0; i < rows; ++i) {
              for (int64_t j = 0; j < m; ++j) order[j] = j;
              const float* row = hd.data() + i * m;
              std::partial_sort(order.begin(), order.begin() + k, order.end(),
                                [&](int64_t a, int64_t b) { return row[a] < row[b] || (row[a] == row[b] && a < b); });
              std::copy(order.begin(), order.begin() + k, cand.begin() + (r + i) * k);
            }
          }
        }
      }
      // Exact float64 ranking of the candidates on the host.
      for (int64_t i = 0; i < count; ++i) {
        std::vector<std::pair<double, int64_t>> ranked;
        for (int t = 0; t < width; ++t) {
          const int64_t j = cand[i * width + t];
          if (j < 0) continue;
          const double s = exactDistance(
              ref.transform(), q.hostRows.data() + i * d, [&](int64_t c) { return ref.host[j * d + c]; }, d);
          ranked.emplace_back(s, j);
        }
        std::sort(ranked.begin(), ranked.end());
        ranked.erase(std::unique(ranked.begin(), ranked.end()), ranked.end());
        for (int t = 0; t < k; ++t) {
          distance[(offset + i) * k + t] = ranked[t].first;
          index[(offset + i) * k + t] = ranked[t].second;
        }
      }
    });
  }

  void kernelWeightedSum(const PointSet& refBase, const float* x, int64_t n, double gamma, const double* weights,
                         double* out, const ExecOptions&) override {
    const CudaPointSet& ref = asCuda(refBase);
    Stream stream;
    DeviceBuffer<double> dw(static_cast<size_t>(ref.rows()));
    ONECLASS_CUDA_CHECK(cudaMemcpyAsync(dw.get(), weights, dw.size() * 8, cudaMemcpyHostToDevice, stream.get()));
    forEachSuperblock(ref, x, n, stream, [&](DotProblem p, DeviceQueries&, int64_t count, int64_t offset) {
      p.chunks = chooseChunks(count, p.m);
      DeviceBuffer<double> ps(static_cast<size_t>(count * p.chunks));
      launchWeightedSum(p, dw.get(), gamma, ps.get(), stream.get());
      sumChunks(ps, count, p.chunks, stream, out + offset);
    });
  }

  void projectedSquaredNorm(const PointSet& refBase, const float* x, int64_t n, double* out,
                            const ExecOptions&) override {
    const CudaPointSet& ref = asCuda(refBase);
    Stream stream;
    forEachSuperblock(ref, x, n, stream, [&](DotProblem p, DeviceQueries&, int64_t count, int64_t offset) {
      p.chunks = chooseChunks(count, p.m);
      DeviceBuffer<float> ps(static_cast<size_t>(count * p.chunks));
      launchSquaredNorm(p, ps.get(), stream.get());
      sumChunks(ps, count, p.chunks, stream, out + offset);
    });
  }

  void kernelRows(const PointSet& refBase, const float* x, int64_t n, double gamma, float* out, const ExecOptions&,
                  int64_t) override {
    const CudaPointSet& ref = asCuda(refBase);
    Stream stream;
    forEachSuperblock(ref, x, n, stream, [&](DotProblem p, DeviceQueries&, int64_t count, int64_t offset) {
      DeviceBuffer<float> block(static_cast<size_t>(count * p.m));
      launchPairwise(p, static_cast<float>(gamma), true, block.get(), stream.get());
      ONECLASS_CUDA_CHECK(
          cudaMemcpyAsync(out + offset * p.m, block.get(), block.size() * 4, cudaMemcpyDeviceToHost, stream.get()));
      stream.sync();
    });
  }

  KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                              const KCenterOptions& options, Progress* progress) override {
    return cuda::kCenterGreedy(x, n, d, projection, options, progress);
  }

  void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean,
                         double* covariance, const ExecOptions&) override {
    cuda::positionalMoments(x, images, positions, dim, mean, covariance);
  }

  std::unique_ptr<PositionalSet> createPositionalSet(int64_t positions, int64_t dim) override {
    return cuda::makePositionalSet(positions, dim);
  }

  void positionalSquaredMahalanobis(const PositionalSet& set, const float* x, int64_t images, double* out,
                                    const ExecOptions&) override {
    cuda::positionalSquaredMahalanobis(set, x, images, out);
  }

  void upsample(const HeatmapPlan& plan, const float* grids, int64_t batch, float* out, const ExecOptions&) override {
    Stream stream;
    DeviceBuffer<int64_t> rs(plan.rows.start.size()), cs(plan.cols.start.size());
    DeviceBuffer<float> rw(plan.rows.weight.size()), cw(plan.cols.weight.size());
    ONECLASS_CUDA_CHECK(cudaMemcpy(rs.get(), plan.rows.start.data(), rs.size() * 8, cudaMemcpyHostToDevice));
    ONECLASS_CUDA_CHECK(cudaMemcpy(cs.get(), plan.cols.start.data(), cs.size() * 8, cudaMemcpyHostToDevice));
    ONECLASS_CUDA_CHECK(cudaMemcpy(rw.get(), plan.rows.weight.data(), rw.size() * 4, cudaMemcpyHostToDevice));
    ONECLASS_CUDA_CHECK(cudaMemcpy(cw.get(), plan.cols.weight.data(), cw.size() * 4, cudaMemcpyHostToDevice));
    DeviceBand rows{rs.get(), rw.get(), plan.rows.outSize, plan.rows.inSize, plan.rows.taps};
    DeviceBand cols{cs.get(), cw.get(), plan.cols.outSize, plan.cols.inSize, plan.cols.taps};
    const int64_t gh = plan.inHeight, gw = plan.inWidth, oh = rows.outSize, ow = cols.outSize;
    const int64_t perMap = gh * gw + gh * ow + oh * ow;
    const int64_t chunk = std::max<int64_t>(1, (int64_t{128} << 20) / perMap);  // <= 512 MB per pass
    DeviceBuffer<float> dg(static_cast<size_t>(std::min(batch, chunk) * gh * gw));
    DeviceBuffer<float> dt(static_cast<size_t>(std::min(batch, chunk) * gh * ow));
    DeviceBuffer<float> dout(static_cast<size_t>(std::min(batch, chunk) * oh * ow));
    for (int64_t b = 0; b < batch; b += chunk) {
      const int64_t count = std::min(chunk, batch - b);
      ONECLASS_CUDA_CHECK(
          cudaMemcpyAsync(dg.get(), grids + b * gh * gw, count * gh * gw * 4, cudaMemcpyHostToDevice, stream.get()));
      launchHeatmaps(rows, cols, dg.get(), count, gh, gw, dt.get(), dout.get(), stream.get());
      ONECLASS_CUDA_CHECK(
          cudaMemcpyAsync(out + b * oh * ow, dout.get(), count * oh * ow * 4, cudaMemcpyDeviceToHost, stream.get()));
      stream.sync();
    }
  }
};

}  // namespace
}  // namespace cuda

const CudaStatus& cudaStatus() {
  static const CudaStatus status = [] {
    CudaStatus s;
    s.compiled = true;
    cudaRuntimeGetVersion(&s.runtimeVersion);
    cudaDriverGetVersion(&s.driverVersion);
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
      s.reason = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      cudaGetLastError();
      return s;
    }
    if (count == 0) {
      s.reason = "no CUDA device found";
      return s;
    }
    for (int i = 0; i < count; ++i) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
      s.devices.push_back({i, prop.name, prop.major, prop.minor, prop.multiProcessorCount, prop.totalGlobalMem});
    }
    // A device counts as usable once a context can be created on it.
    e = cudaFree(nullptr);
    if (e != cudaSuccess) {
      s.reason = std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e);
      return s;
    }
    s.usable = true;
    return s;
  }();
  return status;
}

Backend* cudaBackend() {
  if (!cudaStatus().usable) return nullptr;
  static cuda::CudaBackend backend;
  return &backend;
}

}  // namespace oneclass
