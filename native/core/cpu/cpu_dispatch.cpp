// The CPU level of the kernels, chosen once (oneclass/cpu_dispatch.h), and the entry points the
// rest of the core calls, forwarded to that level: cpuBackend(), cpuSimd(), addGramOfRows(),
// gaussianKernels().
// Compiled for the baseline like all code outside the kernel files.
#include "oneclass/cpu_dispatch.h"

#include <cstdlib>
#include <string>

#include "cpu_features.h"
#include "gaussian_kernels.h"
#include "gram.h"
#include "oneclass/errors.h"
#include "solver_kernels.h"

// Each compiled level's entry points (cpu_backend.cpp and dot_engine.cpp, in the level's
// namespace). CMake defines ONECLASS_CPU_LEVELS_X86 (baseline, avx2, avx512),
// ONECLASS_CPU_LEVEL_NATIVE (one level, -march=native) or neither (one baseline level).
#define ONECLASS_DECLARE_CPU_LEVEL(ns)                                                        \
  namespace oneclass::cpu::ns {                                                               \
  Backend& backend();                                                                         \
  const char* simd();                                                                         \
  void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads); \
  const GaussianKernels& gaussianKernels();                                                   \
  const SolverKernels& solverKernels();                                                       \
  }
#if defined(ONECLASS_CPU_LEVELS_X86)
ONECLASS_DECLARE_CPU_LEVEL(baseline)
ONECLASS_DECLARE_CPU_LEVEL(avx2)
ONECLASS_DECLARE_CPU_LEVEL(avx512)
#elif defined(ONECLASS_CPU_LEVEL_NATIVE)
ONECLASS_DECLARE_CPU_LEVEL(native)
#else
ONECLASS_DECLARE_CPU_LEVEL(baseline)
#endif

namespace oneclass {
namespace {

using GramFn = void (*)(const double*, int64_t, int64_t, double*, int);

struct Level {
  const char* name;
  const char* isa;
  std::vector<std::string> needs;  // cpuid feature names (cpu_features.h)
  Backend& (*backend)();
  const char* (*simd)();
  GramFn gram;
  const cpu::GaussianKernels& (*gaussian)();
  const cpu::SolverKernels& (*solver)();
};

#define ONECLASS_CPU_LEVEL_ENTRY(ns) \
  &cpu::ns::backend, &cpu::ns::simd, &cpu::ns::addGramOfRows, &cpu::ns::gaussianKernels, &cpu::ns::solverKernels

std::vector<Level> compiledLevels() {
#if defined(ONECLASS_CPU_LEVELS_X86)
  // x86-64 micro-architecture levels (the psABI's): v2 is every x86-64 CPU since about 2009,
  // v3 adds AVX2, FMA and BMI (Haswell, Zen), v4 adds AVX-512 F/BW/CD/DQ/VL (Skylake-X, Zen 4).
  const std::vector<std::string> v2 = {"pni", "ssse3", "sse4_1", "sse4_2", "popcnt", "cx16", "lahf_lm"};
  std::vector<std::string> v3 = v2;
  v3.insert(v3.end(), {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"});
  std::vector<std::string> v4 = v3;
  v4.insert(v4.end(), {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"});
  return {{"baseline", "x86-64-v2", v2, ONECLASS_CPU_LEVEL_ENTRY(baseline)},
          {"avx2", "x86-64-v3", v3, ONECLASS_CPU_LEVEL_ENTRY(avx2)},
          {"avx512", "x86-64-v4", v4, ONECLASS_CPU_LEVEL_ENTRY(avx512)}};
#elif defined(ONECLASS_CPU_LEVEL_NATIVE)
  // What -march=native enabled, as far as the kernels depend on it, checked against this CPU:
  // a build copied to another machine then says what is missing instead of dying with SIGILL
  // (as long as nothing else compiled with -march=native has run first).
  std::vector<std::string> needs;
#if defined(__x86_64__)
  needs = {"sse4_2"};
#if defined(__AVX__)
  needs.push_back("avx");
#endif
#if defined(__AVX2__)
  needs.push_back("avx2");
#endif
#if defined(__FMA__)
  needs.push_back("fma");
#endif
#if defined(__AVX512F__)
  needs.push_back("avx512f");
#endif
#endif
  return {{"native", "-march=native", needs, ONECLASS_CPU_LEVEL_ENTRY(native)}};
#else
  return {{"baseline", "default", {}, ONECLASS_CPU_LEVEL_ENTRY(baseline)}};
#endif
}

std::string join(const std::vector<std::string>& items) {
  std::string s;
  for (const std::string& item : items) s += (s.empty() ? "" : ", ") + item;
  return s;
}

struct Resolved {
  std::vector<Level> levels;
  CpuDispatch info;
  const Level* chosen = nullptr;
};

Resolved resolve() {
  Resolved r;
  r.levels = compiledLevels();
  CpuDispatch& info = r.info;
  std::vector<std::string> runnable, names;
  const Level* best = nullptr;
  for (const Level& level : r.levels) {
    CpuLevelStatus s;
    s.name = level.name;
    s.isa = level.isa;
    s.simd = level.simd();
    for (const std::string& f : level.needs)
      if (!cpu::hasCpuFeature(f)) s.missing.push_back(f);
    s.supported = s.missing.empty();
    if (s.supported) {
      best = &level;
      runnable.push_back(level.name);
    }
    names.push_back(level.name);
    info.levels.push_back(s);
  }
  const char* env = std::getenv("ONECLASS_CPU_LEVEL");
  info.requested = env ? env : "";
  const bool automatic = info.requested.empty() || info.requested == "auto";
  if (!best) {
    info.error = std::string("this CPU lacks ") + join(info.levels.front().missing) +
                 ", which the lowest CPU level of this build (" + r.levels.front().name + ", " + r.levels.front().isa +
                 ") needs (cpuid)";
    return r;
  }
  if (automatic) {
    r.chosen = best;
    info.reason = std::string("automatic: ") + best->name + " (" + best->isa +
                  ") is the highest CPU level of this build that this CPU runs (cpuid)";
    const CpuLevelStatus& top = info.levels.back();
    if (!top.supported) info.reason += "; " + top.name + " would need " + join(top.missing) + ", which this CPU lacks";
    if (r.levels.size() == 1 && std::string(best->name) == "native")
      info.reason =
          "this build has one CPU level, compiled with -march=native for the machine that built it "
          "(ONECLASS_NATIVE_ARCH=ON)";
  } else {
    for (size_t i = 0; i < r.levels.size(); ++i) {
      if (info.requested != r.levels[i].name) continue;
      if (!info.levels[i].supported) {
        info.error = "ONECLASS_CPU_LEVEL=" + info.requested + " asks for the " + info.requested + " kernels (" +
                     r.levels[i].isa + "), but this CPU lacks " + join(info.levels[i].missing) +
                     " (cpuid); levels it runs: " + join(runnable) +
                     ". Unset ONECLASS_CPU_LEVEL (or set it to auto) to choose automatically";
        return r;
      }
      r.chosen = &r.levels[i];
      info.reason = "forced by ONECLASS_CPU_LEVEL=" + info.requested + " (automatic choice: " + best->name + ")";
    }
    if (!r.chosen) {
      info.error = "ONECLASS_CPU_LEVEL='" + info.requested + "' is not a CPU level of this build (expected auto or " +
                   "one of: " + join(names) + ")";
      return r;
    }
  }
  info.level = r.chosen->name;
  info.simd = r.chosen->simd();
  return r;
}

const Resolved& resolved() {
  static const Resolved r = resolve();
  return r;
}

const Level& chosenLevel() {
  const Resolved& r = resolved();
  if (!r.chosen) fail(ErrorCode::BackendUnavailable, "CPU backend unavailable: " + r.info.error);
  return *r.chosen;
}

const Level& levelNamed(const std::string& name) {
  const Resolved& r = resolved();
  for (size_t i = 0; i < r.levels.size(); ++i) {
    if (name != r.levels[i].name) continue;
    if (!r.info.levels[i].supported)
      fail(ErrorCode::BackendUnavailable,
           "CPU level " + name + " needs " + join(r.info.levels[i].missing) + ", which this CPU lacks");
    return r.levels[i];
  }
  fail(ErrorCode::BackendUnavailable, "this build has no CPU level '" + name + "'");
}

}  // namespace

const CpuDispatch& cpuDispatch() { return resolved().info; }

Backend& cpuBackend() { return chosenLevel().backend(); }

const char* cpuSimd() {
  const Resolved& r = resolved();
  return r.chosen ? r.chosen->simd() : "none";
}

Backend& cpuBackendAt(const std::string& level) { return levelNamed(level).backend(); }

void addGramOfRowsAt(const std::string& level, const double* a, int64_t rows, int64_t depth, double* out, int threads) {
  levelNamed(level).gram(a, rows, depth, out, threads);
}

const cpu::GaussianKernels& gaussianKernelsAt(const std::string& level) { return levelNamed(level).gaussian(); }

const cpu::SolverKernels& solverKernelsAt(const std::string& level) { return levelNamed(level).solver(); }

namespace cpu {

void addGramOfRows(const double* a, int64_t rows, int64_t depth, double* out, int threads) {
  chosenLevel().gram(a, rows, depth, out, threads);
}

const GaussianKernels& gaussianKernels() { return chosenLevel().gaussian(); }

const SolverKernels& solverKernels() { return chosenLevel().solver(); }

}  // namespace cpu
}  // namespace oneclass
