// Errors raised by the native core. Each carries a stable code that the addon turns into the
// `code` property of the JavaScript Error (see src/errors.ts for the full list).
#pragma once
#include <stdexcept>
#include <string>

namespace oneclass {

enum class ErrorCode {
  InvalidArgument,     // ERR_INVALID_ARGUMENT
  BackendUnavailable,  // ERR_BACKEND_UNAVAILABLE
  OutOfMemory,         // ERR_OUT_OF_MEMORY
  NumericalError,      // ERR_NUMERICAL (e.g. a covariance that is not positive definite)
  CudaError,           // ERR_CUDA
  Aborted,             // ERR_ABORTED (the caller cancelled a long call)
  Internal,            // ERR_INTERNAL
};

const char* errorCodeName(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }
  const char* codeName() const { return errorCodeName(code_); }

 private:
  ErrorCode code_;
};

[[noreturn]] inline void fail(ErrorCode code, const std::string& message) { throw Error(code, message); }

inline void require(bool condition, const std::string& message) {
  if (!condition) fail(ErrorCode::InvalidArgument, message);
}

}  // namespace oneclass
