// Errors raised by the native core. Each carries a stable code that the addon turns into the
// `code` property of the JavaScript Error (see src/errors.ts for the full list).
#pragma once
#include <cstdint>
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

// Refuses, before anything is allocated, work that would need more than `limit` bytes
// (OutOfMemory naming `what`; limit <= 0: no limit).
inline void requireMemory(int64_t bytes, int64_t limit, const std::string& what) {
  if (limit > 0 && bytes > limit) {
    fail(ErrorCode::OutOfMemory, what + " would need " + std::to_string(bytes) + " bytes (" +
                                     std::to_string(bytes >> 20) + " MiB), over the limit of " + std::to_string(limit) +
                                     " bytes; nothing was allocated");
  }
}

}  // namespace oneclass
