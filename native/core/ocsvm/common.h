// Helpers shared by the files of the one-class SVM solver (internal to native/core/ocsvm/).
#pragma once
#include <chrono>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>

namespace oneclass::ocsvm {

using Clock = std::chrono::steady_clock;

inline double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kTau = 1e-12;  // libsvm's TAU: curvature used when quad_coef <= 0
constexpr int kRowBatch = 64;   // rows per computeRows call in bulk phases

// A double as the shortest text that names it in error messages.
inline std::string str(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

}  // namespace oneclass::ocsvm
