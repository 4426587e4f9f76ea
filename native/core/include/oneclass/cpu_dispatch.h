// Which compiled CPU level the CPU backend runs at. The CPU kernels are compiled once per level
// (baseline x86-64-v2, avx2 = x86-64-v3, avx512 = x86-64-v4; one "native" level in builds made
// with ONECLASS_NATIVE_ARCH=ON, one "baseline" level off x86-64); the best level this CPU runs is
// chosen once, from cpuid, unless the environment variable ONECLASS_CPU_LEVEL names one.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "oneclass/backend.h"

namespace oneclass {

struct CpuLevelStatus {
  std::string name;                  // "baseline", "avx2", "avx512" or "native"
  std::string isa;                   // "x86-64-v2", "x86-64-v3", "x86-64-v4", "-march=native"
  std::string simd;                  // the vector instructions its kernels use ("avx2", ...)
  bool supported = false;            // this CPU runs it
  std::vector<std::string> missing;  // features it needs that this CPU lacks (cpuid names)
};

struct CpuDispatch {
  std::string level;      // the level CPU ops run at; empty when `error` is set
  std::string simd;       // its vector instructions
  std::string reason;     // why this level
  std::string requested;  // ONECLASS_CPU_LEVEL as set ("" when unset)
  // Set when ONECLASS_CPU_LEVEL names a level this build lacks or this CPU cannot run (or the CPU
  // runs no level at all): every CPU op then fails with ErrorCode::BackendUnavailable and this.
  std::string error;
  std::vector<CpuLevelStatus> levels;  // the compiled levels, lowest first
};

// Resolved on first use, then fixed for the life of the process.
const CpuDispatch& cpuDispatch();

// The CPU backend of one compiled level, whatever was chosen (tests compare the levels); fails
// with BackendUnavailable when this build lacks the level or this CPU cannot run it.
Backend& cpuBackendAt(const std::string& level);

// out (rows x rows) += A A^T at one compiled level (cpu/gram.h's addGramOfRows runs at the
// chosen one); fails like cpuBackendAt.
void addGramOfRowsAt(const std::string& level, const double* a, int64_t rows, int64_t depth, double* out, int threads);

namespace cpu {
struct GaussianKernels;
struct SolverKernels;
}  // namespace cpu
// The Gaussian density's kernels (cpu/gaussian_kernels.h) at one compiled level; fails like
// cpuBackendAt.
const cpu::GaussianKernels& gaussianKernelsAt(const std::string& level);
// The OC-SVM solver's loops (cpu/solver_kernels.h) at one compiled level; fails like cpuBackendAt.
const cpu::SolverKernels& solverKernelsAt(const std::string& level);

}  // namespace oneclass
