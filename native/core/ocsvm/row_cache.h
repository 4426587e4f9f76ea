// The kernel-row cache of the one-class SVM solver. Rows are kept in one of three layouts,
// chosen from the memory budget:
//  - full:   the whole l x l matrix, precomputed (l*l*4 bytes fit);
//  - packed: the lower triangle, precomputed (about l*(l+1)/2*4 bytes plus a few rows fit, the
//            full matrix does not), in page-sized blocks (blockOffset). Q is symmetric, so row
//            i is a row of the blocks left of the diagonal followed by a column of the blocks
//            below it; rows are extracted into a small LRU of full rows. Extracting a row reads
//            l / 4 cache lines in l / 32 pages, recomputing it reads the whole l x d data;
//  - LRU:    full rows computed on demand, least recently used dropped (libsvm's cache);
//  - adaptive: the full layout's storage, rows computed on demand into their own place until
//            a given share of them is in, then the rest in bulk (the known rows give their
//            columns by symmetry, only the block among the missing rows is computed); from then
//            on it is the full layout. Pages of rows never computed are never touched. When only
//            the packed triangle fits: an LRU of full rows on demand until that share of rows
//            is computed, then the packed layout, built in bulk (settle()).
// A pointer returned by row() stays valid until capacity() - 1 other rows have been requested.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "common.h"
#include "oneclass/ocsvm.h"
#include "retained_block.h"

namespace oneclass::ocsvm {

class RowCache {
 public:
  // Computes the full or packed matrix up front when `precompute` and the budget allow; with
  // `bulkAt` in (0, 1) and a full matrix that fits, starts adaptive instead and completes the
  // matrix once bulkAt * l rows are computed.
  RowCache(KernelRowSource& source, int64_t l, double cacheMb, bool precompute, double bulkAt = 0);
  // Tells the kept storage (retained_block.h) how much of it an LRU wrote.
  ~RowCache();
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;

  bool full() const { return full_; }
  bool packed() const { return packed_; }
  bool startedOnDemand() const { return startedOnDemand_; }
  int64_t freeSlots() const { return full_ ? 0 : adaptive_ ? l_ - known_ : capacity_ - used_; }
  bool resident(int64_t i) const { return full_ || (adaptive_ ? place_[size_t(i)] >= 0 : slotOf_[size_t(i)] >= 0); }
  int64_t capacity() const { return capacity_; }
  // How many rows a bulk pass may put through rows() before it is better computed without
  // keeping them (computeStreamed): what an adaptive layout takes before it completes the matrix,
  // a quarter of an LRU; no limit for a whole matrix.
  int64_t streamAbove() const {
    if (full_ || packed_) return std::numeric_limits<int64_t>::max();
    return adaptive_ ? bulkAtRows_ - known_ : capacity_ / 4;
  }
  int64_t rowsComputed() const { return rowsComputed_ + streamedRows_; }
  double kernelSeconds() const { return kernelSeconds_; }

  const float* row(int64_t i);

  // Between two solver iterations (no row pointer held): switches an on-demand start to the
  // packed triangle once its share of rows is computed. True when it switched (rows then come
  // one at a time from the triangle: speculative batches no longer pay).
  bool settle();

  // Makes rows[0..count) resident (count <= capacity, no duplicates) with one computeRows call
  // for the missing ones, and writes their addresses to out.
  void rows(const int64_t* rows, int count, const float** out);

  // Computes rows[0..count) into out (count x l) without keeping them: a bulk pass whose rows
  // the cache should not hold. They count as computed, but not towards settle()'s switch.
  void computeStreamed(const int64_t* rows, int count, float* out);

  // Largest batch rows() accepts.
  int batchLimit() const { return int(std::min<int64_t>(kRowBatch, capacity_)); }

  // out += Q w using the packed triangle: one sequential pass over it instead of extracting one
  // strided row per nonzero weight. Packed mode only.
  void multiplyPacked(const double* w, double* out) const;

 private:
  float* slotData(int64_t slot) { return (external_ ? external_ : storage_.get()) + size_t(slot) * size_t(l_); }
  // Row i of the full (or adaptive) layout.
  float* fullRow(int64_t i) { return slotData(place_.empty() ? i : place_[size_t(i)]); }
  // The packed triangle holds blocks (S, T), T <= S, of kBlock x kBlock values, one 4 KB page
  // each, blocks of a block row one after another; inside a block, 8 x 8 tiles of 4 x 4 values
  // (one cache line), row-major. A row of the matrix is a row of the blocks left of the diagonal
  // and a column of the blocks below it: in this layout both read 8 cache lines of one page per
  // block, where a row-major triangle reads a line and a page per value of the column. Diagonal
  // blocks hold both halves; the padding past l is zeros.
  static constexpr int64_t kTile = 4, kBlock = 32;
  static size_t blockOffset(int64_t S, int64_t T) {
    return (size_t(S) * size_t(S + 1) / 2 + size_t(T)) * size_t(kBlock * kBlock);
  }
  // Offset of the value at row a, column b of a block.
  static size_t inBlock(int64_t a, int64_t b) {
    return size_t(((a / kTile) * (kBlock / kTile) + b / kTile) * kTile * kTile + (a % kTile) * kTile + b % kTile);
  }
  static size_t packedFloats(int64_t l) { return blockOffset((l + kBlock - 1) / kBlock, 0); }

  // Row i of the symmetric matrix from its packed lower triangle.
  void extract(int64_t i, float* out) const;
  // The packed triangle in bulk, and a small LRU of rows extracted from it (frees the rows held).
  void buildPacked();
  // An empty LRU of capacity_ slots.
  void resetSlots();
  // Whole matrix from the source's bulk lower-triangle path (blocks of rows, each against the
  // columns up to its end), mirrored into the upper triangle. False when the source has none.
  bool precomputeLowerBlocks(float* out, int64_t l);
  void compute(const int64_t* rows, int count, float* out);
  // Adaptive layout: computes the listed missing rows in place, or completes the matrix when they
  // would bring the known rows past the bulk threshold.
  void fetchAdaptive(const int64_t* rows, int count);
  void completeAdaptive();

  // The LRU list of slots (most recent first).
  void unlink(int64_t slot);
  void pushFront(int64_t slot);
  void touch(int64_t slot);
  // A slot for row i: a never-used one, else the least recently used (its row is dropped).
  int64_t claimSlot(int64_t i);

  KernelRowSource& source_;
  int64_t l_;
  bool full_ = false;
  double budget_;  // bytes
  bool adaptive_ = false, startedOnDemand_ = false;
  bool packLater_ = false;  // on demand (LRU) until packAtRows_ rows are computed, then packed
  int64_t packAtRows_ = 0;
  // Adaptive layout (and the full matrix it completes): the slot of row i's values, -1 while not
  // computed. Rows take slots in the order they are computed, so each batch is computed in place.
  // Empty: row i in slot i.
  std::vector<int64_t> place_;
  int64_t known_ = 0, bulkAtRows_ = 0;
  int64_t capacity_ = 0;
  float* external_ = nullptr;  // the source's whole matrix, read in place (full layout)
  RetainedBlock storage_;      // kept for the next fit (retained_block.h), except an LRU that went packed
  bool packed_ = false;
  std::unique_ptr<float[]> packedStorage_;  // lower triangle in blocks (blockOffset), plus alignment slack
  float* packed_data_ = nullptr;            // its first block, page-aligned
  std::vector<int64_t> slotOf_, rowOf_, prev_, next_;
  int64_t head_ = -1, tail_ = -1, used_ = 0;
  std::vector<int64_t> missing_, missingSlots_;
  std::vector<float> scratch_;
  int64_t rowsComputed_ = 0, streamedRows_ = 0;
  double kernelSeconds_ = 0;
};

}  // namespace oneclass::ocsvm
