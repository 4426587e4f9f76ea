// Progress and cancellation of long native calls (the k-center coreset selection runs for
// minutes on large banks). The core calls report() from its computing thread every few steps
// and stops with ErrorCode::Aborted once cancelled() turns true; both must be cheap and
// thread-safe. The addon implements them over shared memory that JavaScript polls, so no N-API
// call happens off the JS thread.
#pragma once
#include <cstdint>
#include <string>

#include "oneclass/errors.h"

namespace oneclass {

class Progress {
 public:
  virtual ~Progress() = default;
  virtual void report(int64_t done, int64_t total) = 0;
  virtual bool cancelled() const = 0;
};

// Throws Error(Aborted) naming `what` when progress is set and cancelled.
inline void throwIfCancelled(const Progress* progress, const char* what) {
  if (progress && progress->cancelled()) fail(ErrorCode::Aborted, std::string(what) + " was cancelled");
}

}  // namespace oneclass
