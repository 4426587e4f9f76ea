#include "oneclass/thread_priority.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace oneclass {

int computeNice() {
  static const int nice = [] {
    const char* s = std::getenv("ONECLASS_COMPUTE_NICE");
    if (s == nullptr || *s == '\0') return 10;
    char* end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0') return 10;  // not a number: the default
    return static_cast<int>(std::clamp<long>(v, 0, 19));
  }();
  return nice;
}

void backgroundPriority() {
#if defined(__linux__)
  thread_local bool done = false;
  if (done) return;
  done = true;
  const int raise = computeNice();
  if (raise <= 0) return;
  // On Linux PRIO_PROCESS with a thread id reads and sets that thread's nice value alone; the
  // process id names the main (JS) thread. The target is relative to the JS thread, so a thread
  // that inherited the raise from the thread that started it (a loop helper) is not raised twice.
  const id_t tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int base = getpriority(PRIO_PROCESS, static_cast<id_t>(getpid()));
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return;
  const int target = std::min(19, base + raise);
  if (current < target) (void)setpriority(PRIO_PROCESS, tid, target);
#endif
}

}  // namespace oneclass
