#include "oneclass/errors.h"

namespace oneclass {

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "ERR_INVALID_ARGUMENT";
    case ErrorCode::BackendUnavailable:
      return "ERR_BACKEND_UNAVAILABLE";
    case ErrorCode::OutOfMemory:
      return "ERR_OUT_OF_MEMORY";
    case ErrorCode::NumericalError:
      return "ERR_NUMERICAL";
    case ErrorCode::CudaError:
      return "ERR_CUDA";
    case ErrorCode::Aborted:
      return "ERR_ABORTED";
    case ErrorCode::Internal:
      return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace oneclass
