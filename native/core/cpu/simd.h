// Portable SIMD through GCC/Clang vector extensions: the compiler maps them to AVX-512, AVX2,
// SSE or NEON for the CPU level the including file is compiled for (cpu_level.h), so no
// intrinsics are needed.
#pragma once
#include "cpu_level.h"

namespace ONECLASS_CPU_NAMESPACE {

#if ONECLASS_SIMD_AVX512
constexpr int kVectorBytes = 64;
constexpr int kMicroRows = 12;  // 12 x 2 accumulators + 2 loads + 1 broadcast fit 32 registers
#elif ONECLASS_SIMD_AVX
constexpr int kVectorBytes = 32;
constexpr int kMicroRows = 6;  // 16 ymm registers
#else
constexpr int kVectorBytes = 16;
constexpr int kMicroRows = 6;
#endif

template <typename T>
struct Simd;

template <>
struct Simd<float> {
  typedef float V __attribute__((vector_size(kVectorBytes)));
  typedef int32_t I __attribute__((vector_size(kVectorBytes)));
  static constexpr int kLanes = kVectorBytes / 4;
};

template <>
struct Simd<double> {
  typedef double V __attribute__((vector_size(kVectorBytes)));
  typedef int64_t I __attribute__((vector_size(kVectorBytes)));
  static constexpr int kLanes = kVectorBytes / 8;
};

using VF = Simd<float>::V;
using VI = Simd<float>::I;
constexpr int kFloatLanes = Simd<float>::kLanes;

template <typename V, typename T>
inline V loadVec(const T* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V, typename T>
inline void storeVec(T* p, V v) {
  std::memcpy(p, &v, sizeof(V));
}

template <typename V>
inline V splat(decltype(V{}[0]) s) {
  V v = V{} + s;
  return v;
}

inline float hsum(VF v) {
  float s = 0;
  for (int i = 0; i < kFloatLanes; ++i) s += v[i];
  return s;
}

inline float hmax(VF v) {
  float m = v[0];
  for (int i = 1; i < kFloatLanes; ++i) m = v[i] > m ? v[i] : m;
  return m;
}

inline float hmin(VF v) {
  float m = v[0];
  for (int i = 1; i < kFloatLanes; ++i) m = v[i] < m ? v[i] : m;
  return m;
}

inline VF vmax(VF a, VF b) { return a > b ? a : b; }
inline VF vmin(VF a, VF b) { return a < b ? a : b; }

// exp(x) for float lanes: range reduction x = n ln2 + r, |r| <= ln2/2, degree-6 Taylor polynomial
// (relative error about 1e-7), scaled by 2^n through the exponent bits. Returns exactly 0 below
// -87 (the caller uses very negative values as "no contribution").
inline VF vexp(VF x) {
  const VF lo = splat<VF>(-87.0f), hi = splat<VF>(88.0f);
  VF xc = vmin(vmax(x, lo), hi);
  const VF magic = splat<VF>(12582912.0f);  // 1.5 * 2^23: adding it rounds to the nearest integer
  VF n = (xc * 1.44269504088896341f + magic) - magic;
  VF r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  VF p = splat<VF>(1.0f / 720);
  p = p * r + (1.0f / 120);
  p = p * r + (1.0f / 24);
  p = p * r + (1.0f / 6);
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  VI e = (__builtin_convertvector(n, VI) + 127) << 23;
  VF scale;
  std::memcpy(&scale, &e, sizeof(VF));
  VF result = p * scale;
  return x < lo ? VF{} : result;
}

using VD = Simd<double>::V;
using VL = Simd<double>::I;
constexpr int kDoubleLanes = Simd<double>::kLanes;

inline VD vmaxd(VD a, VD b) { return a > b ? a : b; }
inline VD vmind(VD a, VD b) { return a < b ? a : b; }

// exp(x) for double lanes: x = n ln2 + r, |r| <= ln2/2, Taylor polynomial to r^10 (truncation
// below 2.3e-13 relative: the OC-SVM decision function's kernel sums need 1e-8, tolerances.h),
// scaled by 2^n through the exponent bits. Exactly 0 below -708. n is read from the bits of the
// rounding sum (n + 1.5 * 2^52 holds n in its low mantissa bits) rather than converted: without
// AVX-512 a double -> int64 vector conversion is four scalar instructions, and that conversion cost
// as much as the polynomial.
inline VD vexpd(VD x) {
  const VD lo = VD{} - 708.0, hi = VD{} + 709.0;
  const VD xc = vmind(vmaxd(x, lo), hi);
  constexpr double kMagic = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer
  const VD nm = xc * 1.4426950408889634 + kMagic;
  const VD n = nm - kMagic;
  VD r = xc - n * 0.6931471803691238;
  r = r - n * 1.9082149292705877e-10;
  VD p = VD{} + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  VL bits;
  std::memcpy(&bits, &nm, sizeof(VD));
  // bits(nm) = bits(kMagic) + n; the biased exponent n + 1023 lands in bits 52..62.
  constexpr int64_t kMagicBits = 0x4338000000000000;
  const VL e = (bits - (kMagicBits - 1023)) << 52;
  VD scale;
  std::memcpy(&scale, &e, sizeof(VD));
  const VD result = p * scale;
  return x < lo ? VD{} : result;
}

// Copies n floats to dst with non-temporal (streaming) stores where possible: large outputs
// that are not read back soon then skip the read-for-ownership of every destination line.
inline void streamCopy(float* dst, const float* src, int64_t n) {
#if defined(__x86_64__)
  int64_t i = 0;
  while (i < n && (reinterpret_cast<uintptr_t>(dst + i) % kVectorBytes) != 0) {
    dst[i] = src[i];
    ++i;
  }
  for (; i + kFloatLanes <= n; i += kFloatLanes) {
#if ONECLASS_SIMD_AVX512
    _mm512_stream_ps(dst + i, _mm512_loadu_ps(src + i));
#elif ONECLASS_SIMD_AVX
    _mm256_stream_ps(dst + i, _mm256_loadu_ps(src + i));
#else
    _mm_stream_ps(dst + i, _mm_loadu_ps(src + i));
#endif
  }
  for (; i < n; ++i) dst[i] = src[i];
#else
  std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
#endif
}

// Orders streaming stores before the writer's later stores (and the joining thread's reads).
inline void streamFence() {
#if defined(__x86_64__)
  _mm_sfence();
#endif
}

}  // namespace ONECLASS_CPU_NAMESPACE
