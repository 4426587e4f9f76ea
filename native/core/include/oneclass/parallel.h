// A minimal fork-join parallel loop. Each call starts its own workers and joins them, so
// concurrent calls from different threads (libuv's pool runs several at once) never share
// state. Work items are handed out dynamically through an atomic counter.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace oneclass {

// Threads to use when the caller passes 0: every hardware thread.
inline int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

inline int resolveThreads(int requested) { return requested > 0 ? requested : defaultThreads(); }

// Calls body(item, worker) for item in [0, items) on up to `threads` threads; worker is in
// [0, threads) and lets the body index per-thread scratch space. The first exception thrown by
// a body is rethrown on the calling thread after all workers have stopped.
template <typename Body>
void parallelFor(int64_t items, int threads, Body&& body) {
  if (items <= 0) return;
  int workers = static_cast<int>(std::min<int64_t>(items, std::max(1, threads)));
  if (workers == 1) {
    for (int64_t i = 0; i < items; ++i) body(i, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex errorMutex;
  auto run = [&](int worker) {
    try {
      for (;;) {
        if (failed.load(std::memory_order_relaxed)) return;
        int64_t i = next.fetch_add(1, std::memory_order_relaxed);
        if (i >= items) return;
        body(i, worker);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(errorMutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace oneclass
