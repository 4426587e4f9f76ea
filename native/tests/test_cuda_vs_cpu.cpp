// Every CUDA op against the CPU op on the same inputs; skips cleanly without a usable GPU.
#include <cmath>

#include "ocsvm_pair.h"
#include "oneclass/backend.h"
#include "oneclass/coreset.h"
#include "oneclass/ocsvm.h"
#include "oneclass/positional_gaussian.h"
#include "test_util.h"
#include "tolerances.h"

using namespace oneclass;
using namespace oneclass::testing;

int main() {
  Tally t;
  const CudaStatus& status = cudaStatus();
  Backend* gpu = cudaBackend();
  if (!gpu) {
    t.skip("cuda vs cpu", status.compiled ? "no usable CUDA device: " + status.reason : "built without CUDA");
    return t.finish();
  }
  std::printf("device: %s (compute %d.%d)\n", status.devices[0].name.c_str(), status.devices[0].computeMajor,
              status.devices[0].computeMinor);
  Backend& cpu = cpuBackend();
  struct Size {
    int64_t m, n, d;
  };
  for (Size s : {Size{1, 1, 1}, Size{257, 45, 7}, Size{5000, 1000, 512}, Size{3000, 7, 131}}) {
    auto y = gaussianMatrix(s.m, s.d, 1, 1.0f, 0.2f), x = gaussianMatrix(s.n, s.d, 2, 1.1f, 0.2f);
    const std::string tag = " m=" + std::to_string(s.m) + " n=" + std::to_string(s.n) + " d=" + std::to_string(s.d);
    RowTransform tr;
    tr.l2normalize = true;
    tr.center.assign(s.d, 0.01f);
    auto rc = cpu.prepare(y.data(), s.m, s.d, tr), rg = gpu->prepare(y.data(), s.m, s.d, tr);
    for (double h : {0.2, 1.0}) {
      std::vector<double> a(s.n), b(s.n);
      cpu.kernelLogSum(*rc, x.data(), s.n, 1 / (2 * h * h), nullptr, a.data(), {});
      gpu->kernelLogSum(*rg, x.data(), s.n, 1 / (2 * h * h), nullptr, b.data(), {});
      double r = toleranceRatio(b, a, kCudaLogSum.atol, kCudaLogSum.rtol);
      t.check(r <= 1, "kernelLogSum h=" + fmt(h) + tag, "ratio " + fmt(r));
    }
    for (int k : {1, 4}) {
      if (k > s.m) continue;
      std::vector<double> da(s.n * k), db(s.n * k);
      std::vector<int64_t> ia(s.n * k), ib(s.n * k);
      cpu.nearest(*rc, x.data(), s.n, k, da.data(), ia.data(), {});
      gpu->nearest(*rg, x.data(), s.n, k, db.data(), ib.data(), {});
      int64_t wrong = 0;
      for (size_t i = 0; i < ia.size(); ++i) wrong += ia[i] != ib[i];
      t.check(wrong == 0 && toleranceRatio(db, da, 1e-9, 1e-9) <= 1, "nearest k=" + std::to_string(k) + tag,
              std::to_string(wrong) + " different indices");
    }
    {
      std::vector<double> w(s.m, 0.5), a(s.n), b(s.n);
      cpu.kernelWeightedSum(*rc, x.data(), s.n, 1.0 / s.d, w.data(), a.data(), {});
      gpu->kernelWeightedSum(*rg, x.data(), s.n, 1.0 / s.d, w.data(), b.data(), {});
      double r = toleranceRatio(b, a, kCudaWeightedSum.atol, kCudaWeightedSum.rtol);
      t.check(r <= 1, "kernelWeightedSum" + tag, "ratio " + fmt(r));
    }
    {
      std::vector<double> a(s.n), b(s.n);
      cpu.projectedSquaredNorm(*rc, x.data(), s.n, a.data(), {});
      gpu->projectedSquaredNorm(*rg, x.data(), s.n, b.data(), {});
      double r = toleranceRatio(b, a, kCudaSquaredNorm.atol, kCudaSquaredNorm.rtol);
      t.check(r <= 1, "projectedSquaredNorm" + tag, "ratio " + fmt(r));
    }
    {
      std::vector<float> a(s.n * s.m), b(s.n * s.m);
      cpu.kernelRows(*rc, x.data(), s.n, 0.5, a.data(), {});
      gpu->kernelRows(*rg, x.data(), s.n, 0.5, b.data(), {});
      double r = toleranceRatio(b, a, kCudaKernelRows.atol, kCudaKernelRows.rtol);
      t.check(r <= 1, "kernelRows" + tag, "ratio " + fmt(r));
    }
  }
  // The OC-SVM solver on GPU kernel rows reaches the CPU's optimum.
  for (int64_t m : {500, 4000}) {
    const auto [a, b] = fitOcsvmOnBoth(cpu, *gpu, m);
    const double rel = std::fabs(a.objective - b.objective) / std::fabs(a.objective);
    t.check(rel < 1e-5 && std::fabs(a.rho - b.rho) < 1e-4 * std::fabs(a.rho) + 1e-6,
            "ocsvm fit on GPU kernel rows m=" + std::to_string(m),
            "objective rel. diff " + fmt(rel) + ", rho " + fmt(a.rho) + " vs " + fmt(b.rho));
  }
  for (HeatmapMode mode : {HeatmapMode::Bilinear, HeatmapMode::ReceptiveField}) {
    HeatmapOptions o;
    o.mode = mode;
    o.outHeight = 256;
    o.outWidth = 256;
    o.patchSize = 32;
    o.stride = 4;
    const int64_t g = mode == HeatmapMode::Bilinear ? 57 : 57;
    auto grids = gaussianMatrix(50 * g, g, 3);
    HeatmapPlan plan = makeHeatmapPlan(g, g, o);
    std::vector<float> a(50 * 256 * 256), b(a.size());
    cpu.upsample(plan, grids.data(), 50, a.data(), {});
    gpu->upsample(plan, grids.data(), 50, b.data(), {});
    double r = toleranceRatio(b, a, kCudaHeatmap.atol, kCudaHeatmap.rtol);
    t.check(r <= 1, std::string("heatmaps ") + (mode == HeatmapMode::Bilinear ? "bilinear" : "receptive-field"),
            "ratio " + fmt(r));
  }
  // k-center selection: the same rows, in the same order (float64 distances on both; only their
  // summation order differs).
  {
    struct Case {
      int64_t n, d, count, projection;
      bool clustered;
    };
    for (Case c : {Case{1, 3, 1, 0, false}, Case{3000, 33, 300, 0, false}, Case{20000, 96, 500, 0, true},
                   Case{20000, 96, 500, 24, true}, Case{5000, 200, 1000, 128, false}}) {
      auto x = gaussianMatrix(c.n, c.d, 17);
      if (c.clustered) {
        // Rows near 50 centres: the shape of patch features.
        auto centres = gaussianMatrix(50, c.d, 18, 4.0f);
        for (int64_t i = 0; i < c.n; ++i)
          for (int64_t k = 0; k < c.d; ++k) x[i * c.d + k] = 0.2f * x[i * c.d + k] + centres[(i % 50) * c.d + k];
      }
      KCenterOptions o;
      o.count = c.count;
      o.projection = c.projection;
      o.seed = 5;
      const KCenterResult a = kCenterGreedy(cpu, x.data(), c.n, c.d, o), b = kCenterGreedy(*gpu, x.data(), c.n, c.d, o);
      size_t same = 0;
      while (same < a.indices.size() && same < b.indices.size() && a.indices[same] == b.indices[same]) ++same;
      const double rel = std::fabs(a.coveringRadius - b.coveringRadius) / std::max(1e-300, a.coveringRadius);
      t.check(a.indices == b.indices && rel < 1e-9,
              "kCenterGreedy n=" + std::to_string(c.n) + " d=" + std::to_string(c.d) +
                  " count=" + std::to_string(c.count) + " projection=" + std::to_string(c.projection),
              std::to_string(same) + " of " + std::to_string(a.indices.size()) + " steps equal, radius rel. diff " +
                  fmt(rel));
    }
  }
  // Per-position Gaussian: moments, log-determinants and scores; and each backend's factors used
  // by the other's fit.
  {
    struct Case {
      int64_t images, positions, dim;
      double reg;
    };
    for (Case c : {Case{2, 1, 1, 0.01}, Case{30, 49, 20, 0.01}, Case{64, 1024, 96, 0.01}, Case{5, 3, 130, 0.5}}) {
      auto x = gaussianMatrix(c.images * c.positions, c.dim, 19, 1.0f, 0.3f);
      auto y = gaussianMatrix(7 * c.positions, c.dim, 20, 1.2f, 0.3f);
      const int64_t pd = c.positions * c.dim, pdd = pd * c.dim;
      std::vector<double> ma(pd), mb(pd), ca(pdd), cb(pdd), la(c.positions), lb(c.positions), sa(7 * c.positions),
          sb(7 * c.positions);
      PositionalGaussianOptions o;
      o.regularization = c.reg;
      auto fa = fitPositionalGaussian(cpu, x.data(), c.images, c.positions, c.dim, o, ma.data(), ca.data(), la.data());
      auto fb = fitPositionalGaussian(*gpu, x.data(), c.images, c.positions, c.dim, o, mb.data(), cb.data(), lb.data());
      scorePositionalGaussian(cpu, *fa, y.data(), 7, sa.data(), {});
      scorePositionalGaussian(*gpu, *fb, y.data(), 7, sb.data(), {});
      const double rm = std::max(toleranceRatio(mb, ma, kCudaPositionalMoments.atol, kCudaPositionalMoments.rtol),
                                 toleranceRatio(cb, ca, kCudaPositionalMoments.atol, kCudaPositionalMoments.rtol));
      const double rl = toleranceRatio(lb, la, kCudaPositionalMoments.atol, 1e-9);
      const double rs = toleranceRatio(sb, sa, kCudaPositionalScore.atol, kCudaPositionalScore.rtol);
      t.check(rm <= 1 && rl <= 1 && rs <= 1,
              "positional Gaussian images=" + std::to_string(c.images) + " positions=" + std::to_string(c.positions) +
                  " dim=" + std::to_string(c.dim),
              "tolerance ratios: moments " + fmt(rm) + ", logdet " + fmt(rl) + ", scores " + fmt(rs));
    }
  }
  return t.finish();
}
