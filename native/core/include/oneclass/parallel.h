// A minimal fork-join parallel loop. Work items are handed out dynamically through an atomic
// counter. The helpers come from a persistent pool (one per hardware thread, less the caller's)
// so short calls do not pay for starting threads; when the pool is busy with another caller's
// loop (libuv runs several calls at once) or a call wants more threads than it has, the loop
// starts its own threads instead, so callers never wait for each other.
#pragma once
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "oneclass/thread_priority.h"

namespace oneclass {

// Threads to use when the caller passes 0: every hardware thread.
inline int defaultThreads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

inline int resolveThreads(int requested) { return requested > 0 ? requested : defaultThreads(); }

namespace detail {

class WorkerPool {
 public:
  // Never destroyed: its threads are detached and end with the process.
  static WorkerPool& instance() {
    static WorkerPool* pool = new WorkerPool(defaultThreads() - 1);
    return *pool;
  }

  // Runs task(0) on the calling thread and task(1..n-1) on pool threads, returning once all
  // have finished. Returns false, running nothing, when another loop holds the pool or n - 1
  // exceeds its threads. task must not throw.
  bool tryRun(int n, const std::function<void(int)>& task) {
    if (n - 1 > static_cast<int>(threads_.size())) return false;
    std::unique_lock<std::mutex> job(jobMutex_, std::try_to_lock);
    if (!job.owns_lock()) return false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      wanted_ = n - 1;
      remaining_ = n - 1;
      ++generation_;
    }
    wake_.notify_all();
    task(0);
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return remaining_ == 0; });
    task_ = nullptr;
    return true;
  }

 private:
  explicit WorkerPool(int helpers) {
    for (int i = 1; i <= helpers; ++i) std::thread([this, i] { loop(i); }).detach();
    threads_.resize(static_cast<size_t>(std::max(0, helpers)));
  }

  void loop(int index) {
    backgroundPriority();
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int)>* task;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (index > wanted_) continue;
        task = task_;
      }
      (*task)(index);
      std::lock_guard<std::mutex> lock(mutex_);
      if (--remaining_ == 0) finished_.notify_all();
    }
  }

  std::mutex jobMutex_;  // held by the submitting thread for a whole loop
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  const std::function<void(int)>* task_ = nullptr;
  int wanted_ = 0, remaining_ = 0;
  uint64_t generation_ = 0;
  std::vector<char> threads_;  // one entry per pool thread (they are detached)
};

}  // namespace detail

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
  const std::function<void(int)> task = run;
  if (!detail::WorkerPool::instance().tryRun(workers, task)) {
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
    run(0);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace oneclass
