// The kernel matrix's storage, kept between fits: one block, process-wide, reused by the next fit
// that needs no more. Writing a fresh l x l matrix pays a page fault per 4 KB on first touch,
// which in a VM is the largest part of an easy fit (docs/ocsvm-notes.md, "Kernel storage between
// fits"); fits that follow one another in a process (the CLI's holdout fit and refit, one model per
// class, a parameter search) reuse pages that are already backed.
//
// The kept block is marked MADV_FREE (Linux): the kernel may take its pages back under memory
// pressure (they then fault in again, zeroed, as a fresh block would), so keeping it never holds
// memory the system needs. At most kMaxRetainedBytes of touched memory are kept; blocks that
// touched more are freed at once. An LRU of kernel rows fills its slots from the front, so its
// touched part is a prefix (touchedFloats): a large LRU block of which a small fit used a few
// rows is kept whole (its untouched rest was never backed).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace oneclass::ocsvm {

constexpr size_t kMaxRetainedBytes = size_t(512) << 20;

// Frees a block, or keeps it for the next fit when `retain` and what it touched is small enough.
struct RetainedBlockDeleter {
  size_t floats = 0;
  bool retain = false;
  size_t touchedFloats = SIZE_MAX;  // the block's first touchedFloats were written (default: all)
  void operator()(float* p) const;
};
using RetainedBlock = std::unique_ptr<float[], RetainedBlockDeleter>;

// A block of at least `floats` floats, not initialized: the kept one when it is large enough,
// else a new allocation (the kept one, too small, is freed first).
RetainedBlock acquireBlock(size_t floats);

// Frees the kept block, if any (tests; a process that wants the memory back).
void dropRetainedBlock();

// Bytes of the kept block (0: none).
size_t retainedBytes();

}  // namespace oneclass::ocsvm
