// cpuid and XCR0 read once (cpu_features.h). Compiled for the baseline like the rest of the
// core; the instructions used here (cpuid, xgetbv after checking OSXSAVE) exist on every x86-64.
#include "cpu_features.h"

#include <algorithm>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace oneclass::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
std::vector<std::string> detect() {
  std::vector<std::string> f;
  unsigned a = 0, b = 0, c = 0, d = 0;
  const unsigned maxLeaf = __get_cpuid_max(0, nullptr);
  if (maxLeaf < 1) return f;
  __cpuid(1, a, b, c, d);
  const unsigned leaf1c = c;
  auto bit = [&f](unsigned reg, int n, const char* name) {
    if (reg & (1u << n)) f.push_back(name);
  };
  bit(leaf1c, 0, "pni");  // SSE3
  bit(leaf1c, 9, "ssse3");
  bit(leaf1c, 13, "cx16");
  bit(leaf1c, 19, "sse4_1");
  bit(leaf1c, 20, "sse4_2");
  bit(leaf1c, 22, "movbe");
  bit(leaf1c, 23, "popcnt");
  // AVX state (XMM and YMM halves) and AVX-512 state (opmask, ZMM0-15 upper halves, ZMM16-31)
  // must be enabled by the OS in XCR0, read with xgetbv only when OSXSAVE says it may be.
  bool osAvx = false, osAvx512 = false;
  if (leaf1c & (1u << 27)) {
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    osAvx = (lo & 0x6) == 0x6;
    osAvx512 = (lo & 0xe6) == 0xe6;
  }
  if (osAvx) {
    bit(leaf1c, 12, "fma");
    bit(leaf1c, 28, "avx");
    bit(leaf1c, 29, "f16c");
  }
  if (maxLeaf >= 7) {
    __cpuid_count(7, 0, a, b, c, d);
    bit(b, 3, "bmi1");
    bit(b, 8, "bmi2");
    if (osAvx) bit(b, 5, "avx2");
    if (osAvx512) {
      bit(b, 16, "avx512f");
      bit(b, 17, "avx512dq");
      bit(b, 28, "avx512cd");
      bit(b, 30, "avx512bw");
      bit(b, 31, "avx512vl");
    }
  }
  if (__get_cpuid_max(0x80000000u, nullptr) >= 0x80000001u) {
    __cpuid(0x80000001u, a, b, c, d);
    bit(c, 0, "lahf_lm");
    bit(c, 5, "abm");  // LZCNT
  }
  return f;
}
#else
std::vector<std::string> detect() { return {}; }
#endif

}  // namespace

const std::vector<std::string>& cpuFeatures() {
  static const std::vector<std::string> features = detect();
  return features;
}

bool hasCpuFeature(const std::string& name) {
  const auto& f = cpuFeatures();
  return std::find(f.begin(), f.end(), name) != f.end();
}

}  // namespace oneclass::cpu
