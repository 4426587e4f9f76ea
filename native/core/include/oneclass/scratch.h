// Large call-private buffers kept between calls. A call that copies or transforms a 10,000 x 512
// query matrix writes 20 MB of memory, and on the development VM a page fault costs 2-10 us per
// 4 KB: the first five decisionFunction calls of a process took 10,000 faults each (20-40 ms of a
// 40 ms call) before the allocators settled on reusing their pages. Buffers of at least
// kScratchMinBytes come from a few kept blocks instead, so only a process's first call faults.
// At most kScratchKeptBlocks blocks of at most kScratchKeptMaxBytes each, kScratchKeptTotalBytes
// in all, are kept (resident: marking them MADV_FREE between calls cost 3-4 ms per 40 MB call in
// the kernel, as much as a tenth of the call); larger ones are freed at once. dropScratch() gives
// them back.
#pragma once
#include <cstddef>
#include <memory>

namespace oneclass {

constexpr size_t kScratchMinBytes = size_t(1) << 20;
constexpr size_t kScratchKeptMaxBytes = size_t(64) << 20;
constexpr size_t kScratchKeptTotalBytes = size_t(128) << 20;
constexpr int kScratchKeptBlocks = 4;

// Returns a block to the kept ones (or frees it).
struct ScratchDeleter {
  size_t bytes = 0;  // the block's capacity
  void operator()(unsigned char* p) const;
};
using Scratch = std::unique_ptr<unsigned char[], ScratchDeleter>;

// At least `bytes` bytes, not initialized, aligned for any scalar type: the smallest kept block
// that is large enough, else a new allocation.
Scratch acquireScratch(size_t bytes);

// The block as an array of T.
template <typename T>
T* scratchData(const Scratch& s) {
  return reinterpret_cast<T*>(s.get());
}

// Frees the kept blocks (tests; a process that wants the memory back). Returns the bytes freed.
size_t dropScratch();

// Bytes held in kept blocks.
size_t keptScratchBytes();

}  // namespace oneclass
