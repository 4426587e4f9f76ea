// What the CPU running this process can execute, read once from cpuid (x86-64) and from the
// operating system's register-saving flags (XCR0): AVX registers the OS does not save on a
// context switch are as unusable as absent ones.
#pragma once
#include <string>
#include <vector>

namespace oneclass::cpu {

// Feature names as /proc/cpuinfo spells them where it has them ("sse4_2", "avx2", "avx512f",
// "bmi1", "abm" for LZCNT...): the ones the CPU levels need and this CPU has.
const std::vector<std::string>& cpuFeatures();

bool hasCpuFeature(const std::string& name);

}  // namespace oneclass::cpu
