// The OC-SVM solver's element-wise loops at one CPU level (solver_kernels.h). Plain loops: the
// level's instruction set is what makes them faster (float-to-double conversion and multiply-add
// four doubles at a time with AVX2 instead of two).
#include "simd.h"
#include "solver_kernels.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

void addScaled(double* y, const float* x, double a, int64_t n) {
  for (int64_t k = 0; k < n; ++k) y[k] += a * double(x[k]);
}

void updatePair(double* G, const float* Qi, const float* Qj, double dai, double daj, int64_t k0, int64_t k1) {
  for (int64_t k = k0; k < k1; ++k) G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
}

void updatePairAt(double* G, const int32_t* act, const float* Qi, const float* Qj, double dai, double daj, int64_t t0,
                  int64_t t1) {
  for (int64_t t = t0; t < t1; ++t) {
    const int32_t k = act[t];
    G[k] += double(Qi[k]) * dai + double(Qj[k]) * daj;
  }
}

// In 64 x 64 tiles, so both the rows read and the rows written stay in cache.
void mirrorLower(float* out, int64_t l) {
  constexpr int64_t T = 64;
  for (int64_t i0 = 0; i0 < l; i0 += T)
    for (int64_t j0 = i0; j0 < l; j0 += T)
      for (int64_t i = i0; i < std::min(l, i0 + T); ++i)
        for (int64_t j = std::max(j0, i + 1); j < std::min(l, j0 + T); ++j)
          out[size_t(i) * size_t(l) + size_t(j)] = out[size_t(j) * size_t(l) + size_t(i)];
}

// The working-set selection over all variables, kDoubleLanes at a time. Each lane keeps its best
// value and the last index that reached it (the scalar loop's ">=" / "<=" keeps the last); the
// lanes merge by value, then by the larger index, which reproduces the scalar loop's choice.
using VL = Simd<double>::I;  // int64 lanes (masks and indices)
constexpr int kLanes = kDoubleLanes;
typedef uint8_t StatusBytes __attribute__((vector_size(kLanes)));

// The lanes whose status byte is not `skip`: the kLanes bytes are read as one integer, copied to
// every lane and shifted by 8 x lane (a per-lane shift: one instruction from AVX2 on), which is
// much cheaper than widening each byte on its own (GCC did that lane by lane).
inline VL allowedLanes(const uint8_t* status, int64_t k, uint8_t skip) {
  uint64_t bytes = 0;
  std::memcpy(&bytes, status + k, sizeof(StatusBytes));
  VL shift;
  for (int u = 0; u < kLanes; ++u) shift[u] = 8 * u;
  const VL lanes = (splat<VL>(static_cast<int64_t>(bytes)) >> shift) & 0xff;
  return lanes != static_cast<int64_t>(skip);
}

inline VL firstIndices() {
  VL v;
  for (int u = 0; u < kLanes; ++u) v[u] = u;
  return v;
}

// Merges the lanes' (value, index) pairs into best / bestIndex: the better value (larger when
// wantMax), ties to the larger index; lanes with index -1 hold nothing.
inline void mergeLanes(VD value, VL index, bool wantMax, double& best, int64_t& bestIndex) {
  for (int u = 0; u < kLanes; ++u) {
    if (index[u] < 0) continue;
    const bool better = wantMax ? value[u] > best : value[u] < best;
    if (bestIndex < 0 || better || (value[u] == best && index[u] > bestIndex)) {
      best = value[u];
      bestIndex = index[u];
    }
  }
}

int64_t selectMaxNegG(const double* G, const uint8_t* status, uint8_t skip, int64_t l, double& gmax) {
  const int64_t lv = l / kLanes * kLanes;
  VD best = splat<VD>(-std::numeric_limits<double>::infinity());
  VL bestIndex = splat<VL>(-1), index = firstIndices();
  for (int64_t k = 0; k < lv; k += kLanes, index += kLanes) {
    const VD negG = -loadVec<VD>(G + k);
    const VL take = allowedLanes(status, k, skip) & (negG >= best);
    best = take ? negG : best;
    bestIndex = take ? index : bestIndex;
  }
  double v = -std::numeric_limits<double>::infinity();
  int64_t i = -1;
  mergeLanes(best, bestIndex, true, v, i);
  for (int64_t k = lv; k < l; ++k)
    if (status[k] != skip && -G[k] >= v) {
      v = -G[k];
      i = k;
    }
  gmax = v;
  return i;
}

int64_t selectMinObjDiff(const double* G, const uint8_t* status, uint8_t skip, const double* QD, const float* Qi,
                         int64_t l, double gmax, double qdi, double tau, double& gmax2, double& objDiffMin) {
  typedef float HalfF __attribute__((vector_size(kLanes * sizeof(float))));
  const double inf = std::numeric_limits<double>::infinity();
  const int64_t lv = l / kLanes * kLanes;
  const VD vgmax = splat<VD>(gmax), vqdi = splat<VD>(qdi), vtau = splat<VD>(tau), zero = VD{};
  VD g2 = splat<VD>(-inf), best = splat<VD>(inf);
  VL bestIndex = splat<VL>(-1), index = firstIndices();
  for (int64_t k = 0; k < lv; k += kLanes, index += kLanes) {
    const VL ok = allowedLanes(status, k, skip);
    const VD g = loadVec<VD>(G + k);
    g2 = (ok & (g >= g2)) ? g : g2;
    const VD gradDiff = vgmax + g;
    const VL positive = ok & (gradDiff > zero);
    bool any = false;
    for (int u = 0; u < kLanes; ++u) any |= positive[u] != 0;
    if (!any) continue;
    const VD qik = __builtin_convertvector(loadVec<HalfF>(Qi + k), VD);
    VD quad = vqdi + loadVec<VD>(QD + k) - 2.0 * qik;
    quad = quad > zero ? quad : vtau;
    const VD objDiff = -(gradDiff * gradDiff) / quad;
    const VL take = positive & (objDiff <= best);
    best = take ? objDiff : best;
    bestIndex = take ? index : bestIndex;
  }
  double m2 = -inf;
  for (int u = 0; u < kLanes; ++u) m2 = g2[u] > m2 ? g2[u] : m2;
  double v = inf;
  int64_t j = -1;
  mergeLanes(best, bestIndex, false, v, j);
  if (j < 0) v = inf;
  for (int64_t k = lv; k < l; ++k) {  // the last l % kLanes variables, as the scalar loop
    if (status[k] == skip) continue;
    const double g = G[k];
    if (g >= m2) m2 = g;
    const double gradDiff = gmax + g;
    if (gradDiff > 0) {
      const double quad = qdi + QD[k] - 2.0 * double(Qi[k]);
      const double objDiff = -(gradDiff * gradDiff) / (quad > 0 ? quad : tau);
      if (objDiff <= v) {
        v = objDiff;
        j = k;
      }
    }
  }
  gmax2 = m2;
  objDiffMin = v;
  return j;
}

constexpr SolverKernels kKernels = {&addScaled,   &updatePair,    &updatePairAt,
                                    &mirrorLower, &selectMaxNegG, &selectMinObjDiff};

}  // namespace

const SolverKernels& solverKernels() { return kKernels; }

}  // namespace ONECLASS_CPU_NAMESPACE
