// The kernel matrix's storage kept between fits (retained_block.h).
#include "retained_block.h"

#include <algorithm>
#include <cstdint>
#include <mutex>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "oneclass/prefault.h"

namespace oneclass::ocsvm {
namespace {

std::mutex gMutex;
float* gKept = nullptr;
size_t gKeptFloats = 0;

// Lets the kernel reclaim the block's whole pages under memory pressure (MADV_FREE, Linux 4.5+;
// refused harmlessly elsewhere): until it does, they stay backed and are reused without a fault.
void markReclaimable(float* p, size_t floats) {
#if defined(__linux__) && defined(MADV_FREE)
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + floats * sizeof(float)) & ~(page - 1);
  if (end > begin) (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_FREE);
#else
  (void)p;
  (void)floats;
#endif
}

}  // namespace

void RetainedBlockDeleter::operator()(float* p) const {
  if (p == nullptr) return;
  const size_t touched = std::min(floats, touchedFloats);
  if (!retain || touched * sizeof(float) > kMaxRetainedBytes) {
    delete[] p;
    return;
  }
  float* drop = p;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    // Keep the larger of the two blocks.
    if (floats > gKeptFloats) {
      std::swap(drop, gKept);
      gKeptFloats = floats;
      markReclaimable(gKept, touched);
    }
  }
  delete[] drop;
}

RetainedBlock acquireBlock(size_t floats) {
  float* old = nullptr;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (gKept != nullptr && gKeptFloats >= floats) {
      RetainedBlock block(gKept, RetainedBlockDeleter{gKeptFloats, true});
      gKept = nullptr;
      gKeptFloats = 0;
      return block;
    }
    // Too small for this fit: freed before the new block is allocated, not beside it.
    std::swap(old, gKept);
    gKeptFloats = 0;
  }
  delete[] old;
  float* block = new float[floats];
  // Huge pages: an LRU fills its rows from the front, a full matrix all of it; either way a 2 MB
  // page backs about 25 rows of 20,000 with one fault instead of 512 (oneclass/prefault.h).
  adviseHugePages(block, floats * sizeof(float));
  return RetainedBlock(block, RetainedBlockDeleter{floats, true});
}

void dropRetainedBlock() {
  float* old = nullptr;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    std::swap(old, gKept);
    gKeptFloats = 0;
  }
  delete[] old;
}

size_t retainedBytes() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gKeptFloats * sizeof(float);
}

}  // namespace oneclass::ocsvm
