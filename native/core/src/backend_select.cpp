// Which backend runs a call: the device names of the public API mapped to a Backend (backend.h),
// and the CUDA status of a build without nvcc.
#include <string>

#include "oneclass/backend.h"
#include "oneclass/errors.h"

namespace oneclass {

Backend& selectBackend(const std::string& device) {
  if (device == "cpu") return cpuBackend();
  if (device == "cuda" || device == "auto") {
    if (Backend* cuda = cudaBackend()) return *cuda;
    if (device == "auto") return cpuBackend();
    const CudaStatus& s = cudaStatus();
    fail(ErrorCode::BackendUnavailable,
         std::string("device 'cuda' requested but CUDA is not usable: ") + (s.reason.empty() ? "unknown" : s.reason));
  }
  fail(ErrorCode::InvalidArgument, "device must be 'auto', 'cpu' or 'cuda', received '" + device + "'");
}

#ifndef ONECLASS_HAVE_CUDA
const CudaStatus& cudaStatus() {
  static const CudaStatus status = [] {
    CudaStatus s;
    s.compiled = false;
    s.reason = "this build of oneclass has no CUDA backend (nvcc was not found when it was compiled)";
    return s;
  }();
  return status;
}

Backend* cudaBackend() { return nullptr; }
#endif

}  // namespace oneclass
