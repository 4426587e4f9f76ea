// The CPU level a kernel file is compiled for. CMake compiles each CPU kernel file (the list
// ONECLASS_CPU_KERNELS in CMakeLists.txt) once per level, with this header forced in first
// (-include) and:
//   ONECLASS_CPU_NAMESPACE  oneclass::cpu::baseline / avx2 / avx512 (or ::native, see below)
//   ONECLASS_CPU_LEVEL      0 baseline (x86-64-v2), 1 avx2 (x86-64-v3), 2 avx512 (x86-64-v4);
//                           absent in builds with one level (ONECLASS_NATIVE_ARCH=ON, non-x86),
//                           where the compiler's own flags decide
// cpu_dispatch.cpp picks one level at run time from cpuid (docs/native.md, "CPU levels").
//
// Why a pragma rather than -march per object file: an inline function or template instance that
// several object files emit (std::vector<float>::assign, the worker pool, errors.h's fail) is
// kept once by the linker, from whichever object it meets first. Compiled with AVX-512 in one
// object, that copy could be the one the baseline code calls, and the process would die with
// SIGILL on a CPU without AVX-512. So the standard headers and the core's shared headers are
// included below, at the baseline, before the pragma; only what follows (the kernel file, in its
// level's namespace) is compiled for the level. GCC inlines these baseline functions into the
// level's functions (a callee's instruction set may be a subset of its caller's).
// scripts/check-cpu-levels.mjs disassembles the objects and fails on shared code above the
// baseline, so an include added below the pragma cannot slip through.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "oneclass/backend.h"
#include "oneclass/coreset.h"
#include "oneclass/errors.h"
#include "oneclass/gaussian.h"
#include "oneclass/heatmap.h"
#include "oneclass/parallel.h"
#include "oneclass/positional_gaussian.h"
#include "oneclass/progress.h"

#if defined(ONECLASS_CPU_LEVEL) && ONECLASS_CPU_LEVEL == 1
#pragma GCC target("avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe")
#elif defined(ONECLASS_CPU_LEVEL) && ONECLASS_CPU_LEVEL == 2
#pragma GCC target("avx,avx2,fma,bmi,bmi2,f16c,lzcnt,movbe,avx512f,avx512bw,avx512cd,avx512dq,avx512vl")
#endif

// The vector width the level's kernels use. The pragma does not define __AVX2__ and friends in
// C++, so the level decides; builds with one level go by the compiler's flags.
#if defined(ONECLASS_CPU_LEVEL)
#define ONECLASS_SIMD_AVX512 (ONECLASS_CPU_LEVEL >= 2)
#define ONECLASS_SIMD_AVX (ONECLASS_CPU_LEVEL >= 1)
#elif defined(__AVX512F__)
#define ONECLASS_SIMD_AVX512 1
#define ONECLASS_SIMD_AVX 1
#elif defined(__AVX__)
#define ONECLASS_SIMD_AVX512 0
#define ONECLASS_SIMD_AVX 1
#else
#define ONECLASS_SIMD_AVX512 0
#define ONECLASS_SIMD_AVX 0
#endif

// Code outside the kernel files that includes simd.h (gaussian.cpp) gets its helpers at the
// instruction set it is compiled for, in oneclass::cpu.
#if !defined(ONECLASS_CPU_NAMESPACE)
#define ONECLASS_CPU_NAMESPACE oneclass::cpu
#endif
