// The kernel-row cache of the one-class SVM solver (row_cache.h).
#include "row_cache.h"

#include <cstring>

#include "../cpu/solver_kernels.h"
#include "oneclass/prefault.h"

namespace oneclass::ocsvm {
namespace {

// Rows extracted from a packed triangle that are kept. SMO rarely revisits a pair soon, so a
// larger cache measured no faster at l=20000 (the extraction is bound by the strided column).
constexpr int64_t kPackedRows = 64;

}  // namespace

RowCache::RowCache(KernelRowSource& source, int64_t l, double cacheMb, bool precompute, double bulkAt)
    : source_(source), l_(l), budget_(cacheMb * 1024.0 * 1024.0) {
  const double rowBytes = double(l) * sizeof(float);
  const double packedBytes = double(packedFloats(l)) * sizeof(float);
  const bool fits = budget_ >= rowBytes * double(l);
  const bool adaptive = bulkAt > 0 && bulkAt < 1;
  if ((external_ = source.wholeMatrix()) != nullptr) {
    full_ = true;
    capacity_ = l;
    return;
  }
  full_ = fits && precompute;
  packed_ = !fits && precompute && budget_ >= packedBytes + 2 * rowBytes;
  if (packed_ && adaptive) {
    // Small nu, and the matrix fits only packed: rows on demand first, in an LRU of full rows as
    // large as the budget, and the packed triangle in bulk only once bulkAt * l rows were
    // computed (settle(), between two iterations). At most a few rows short of the LRU's
    // capacity, so no row is evicted before the switch.
    packed_ = false;
    packLater_ = startedOnDemand_ = true;
    capacity_ = std::min<int64_t>(l, int64_t(budget_ / rowBytes));
    packAtRows_ = std::clamp<int64_t>(int64_t(bulkAt * double(l)), 1, std::max<int64_t>(1, capacity_ - 4 * kRowBatch));
  } else if (full_) {
    capacity_ = l;
  } else if (packed_) {
    buildPacked();
    return;
  } else {
    // libsvm, too, raises a cache smaller than two rows to two rows.
    capacity_ = fits ? l : std::max<int64_t>(2, int64_t(budget_ / rowBytes));
  }
  // Not value-initialized: pages of an on-demand cache become resident only when used. The
  // storage may be the block a previous fit left (retained_block.h): its pages, as far as that fit
  // wrote them, are backed already (at l = 20,000 an LRU's rows are 80 KB each, and faulting in
  // the 2,000 rows of a small-nu fit cost about a fifth of it on this VM).
  const size_t floats = size_t(capacity_) * size_t(l);
  storage_ = acquireBlock(floats);
  std::vector<int64_t> rows(kRowBatch);
  if (full_ && adaptive) {
    full_ = false;
    adaptive_ = startedOnDemand_ = true;
    place_.assign(size_t(l), -1);
    bulkAtRows_ = std::max<int64_t>(1, int64_t(bulkAt * double(l)));
    return;
  }
  if (full_ && precomputeLowerBlocks(storage_.get(), l)) return;
  if (full_) {
    for (int64_t start = 0; start < l; start += kRowBatch) {
      int count = int(std::min<int64_t>(kRowBatch, l - start));
      for (int r = 0; r < count; ++r) rows[r] = start + r;
      compute(rows.data(), count, storage_.get() + size_t(start) * size_t(l));
    }
    return;
  }
  resetSlots();
}

RowCache::~RowCache() {
  // An LRU fills its slots in order, so it wrote the first used_ rows, and an adaptive layout its
  // first known_; the full layout counts as having written its l x l values (the block may be a
  // larger kept one).
  if (storage_) storage_.get_deleter().touchedFloats = size_t(full_ ? l_ : adaptive_ ? known_ : used_) * size_t(l_);
}

bool RowCache::settle() {
  if (!packLater_ || rowsComputed_ < packAtRows_) return false;
  packLater_ = false;
  buildPacked();
  return true;
}

void RowCache::resetSlots() {
  slotOf_.assign(size_t(l_), -1);
  rowOf_.assign(size_t(capacity_), -1);
  prev_.assign(size_t(capacity_), -1);
  next_.assign(size_t(capacity_), -1);
  head_ = tail_ = -1;
  used_ = 0;
}

void RowCache::buildPacked() {
  const int64_t l = l_;
  const double rowBytes = double(l) * sizeof(float);
  const double packedBytes = double(packedFloats(l)) * sizeof(float);
  // Rows cached on demand before go first: they and the triangle would not fit together (and
  // the LRU is not kept for the next fit: the triangle needs the memory now).
  if (storage_) storage_.get_deleter().retain = false;
  storage_.reset();
  packed_ = true;
  capacity_ = std::min<int64_t>(kPackedRows, int64_t((budget_ - packedBytes) / rowBytes));
  storage_ = RetainedBlock(new float[size_t(capacity_) * size_t(l)], RetainedBlockDeleter{0, false});
  resetSlots();
  constexpr size_t kPageFloats = 4096 / sizeof(float);
  packedStorage_.reset(new float[packedFloats(l) + kPageFloats]);
  adviseHugePages(packedStorage_.get(), (packedFloats(l) + kPageFloats) * sizeof(float));
  packed_data_ =
      packedStorage_.get() +
      (kPageFloats - (reinterpret_cast<uintptr_t>(packedStorage_.get()) % 4096) / sizeof(float)) % kPageFloats;
  // Rows are computed in blocks of at most 32 MB of values (at least kRowBatch rows, less if the
  // budget left beside the triangle and the extracted rows is smaller), through the source's
  // bulk lower-triangle path when it has one, in multiples of kBlock rows (whole block rows of
  // the triangle). Larger blocks measured no faster at l = 20,000 and cost 170 MB more memory.
  const double spare = budget_ - packedBytes - double(capacity_) * rowBytes;
  const int64_t capRows = (int64_t{32} << 20) / (l * int64_t(sizeof(float)));
  const int64_t blockRows =
      std::clamp<int64_t>(int64_t(spare / rowBytes), kRowBatch, std::max<int64_t>(kRowBatch, capRows)) / kBlock *
      kBlock;
  std::unique_ptr<float[]> block(new float[size_t(blockRows) * size_t(l)]);
  adviseHugePages(block.get(), size_t(blockRows) * size_t(l) * sizeof(float));
  std::vector<int64_t> rows(static_cast<size_t>(blockRows));
  for (int64_t start = 0; start < l; start += blockRows) {
    int count = int(std::min<int64_t>(blockRows, l - start));
    auto t0 = Clock::now();
    if (source_.computeLowerBlock(start, start + count, block.get())) {
      kernelSeconds_ += secondsSince(t0);
      rowsComputed_ += count;
    } else {
      for (int r = 0; r < count; ++r) rows[r] = start + r;
      for (int r0 = 0; r0 < count; r0 += kRowBatch)
        compute(rows.data() + r0, std::min(kRowBatch, count - r0), block.get() + size_t(r0) * size_t(l));
    }
    // Row i of the computed rows gives row i % kBlock of the blocks (i / kBlock, T) for T below
    // i / kBlock, and the lower part of that row in the diagonal block (the source may leave
    // values beyond i unwritten), whose upper part is mirrored.
    for (int64_t S = start / kBlock; S * kBlock < start + count; ++S) {
      float* diag = packed_data_ + blockOffset(S, S);
      for (int64_t a = 0; a < kBlock; ++a) {
        const int64_t i = S * kBlock + a;
        if (i >= l) {
          for (int64_t T = 0; T < S; ++T)
            for (int64_t b = 0; b < kBlock; b += kTile)
              std::fill_n(packed_data_ + blockOffset(S, T) + inBlock(a, b), kTile, 0.0f);
          for (int64_t b = 0; b <= a; ++b) diag[inBlock(a, b)] = 0.0f;
          continue;
        }
        const float* src = block.get() + size_t(i - start) * size_t(l);
        for (int64_t T = 0; T < S; ++T)
          for (int64_t b = 0; b < kBlock; b += kTile)
            std::memcpy(packed_data_ + blockOffset(S, T) + inBlock(a, b), src + T * kBlock + b, kTile * sizeof(float));
        for (int64_t b = 0; b <= a; ++b) diag[inBlock(a, b)] = S * kBlock + b < l ? src[S * kBlock + b] : 0.0f;
      }
      for (int64_t a = 0; a < kBlock; ++a)
        for (int64_t b = a + 1; b < kBlock; ++b) diag[inBlock(a, b)] = diag[inBlock(b, a)];
    }
  }
}

const float* RowCache::row(int64_t i) {
  if (adaptive_ && place_[size_t(i)] < 0) fetchAdaptive(&i, 1);
  if (full_ || adaptive_) return fullRow(i);
  int64_t slot = slotOf_[size_t(i)];
  if (slot >= 0) {
    touch(slot);
  } else {
    slot = claimSlot(i);
    if (packed_)
      extract(i, slotData(slot));
    else
      compute(&i, 1, slotData(slot));
  }
  return slotData(slot);
}

void RowCache::rows(const int64_t* rows, int count, const float** out) {
  if (adaptive_) {
    missing_.clear();
    for (int r = 0; r < count; ++r)
      if (place_[size_t(rows[r])] < 0) missing_.push_back(rows[r]);
    if (!missing_.empty()) fetchAdaptive(missing_.data(), int(missing_.size()));
  }
  if (full_ || adaptive_) {
    for (int r = 0; r < count; ++r) out[r] = fullRow(rows[r]);
    return;
  }
  missing_.clear();
  for (int r = 0; r < count; ++r) {
    int64_t slot = slotOf_[size_t(rows[r])];
    if (slot >= 0)
      touch(slot);  // protect hits from the evictions below
    else
      missing_.push_back(rows[r]);
  }
  if (!missing_.empty() && packed_) {
    for (int64_t i : missing_) extract(i, slotData(claimSlot(i)));
  } else if (!missing_.empty()) {
    // Slots first: while the LRU fills, they are consecutive and the rows are computed in place
    // (a copy of each row through scratch_ was 6 % of a small-nu fit at l = 20,000).
    missingSlots_.resize(missing_.size());
    bool consecutive = true;
    for (size_t m = 0; m < missing_.size(); ++m) {
      missingSlots_[m] = claimSlot(missing_[m]);
      consecutive = consecutive && missingSlots_[m] == missingSlots_[0] + int64_t(m);
    }
    if (consecutive) {
      compute(missing_.data(), int(missing_.size()), slotData(missingSlots_[0]));
    } else {
      scratch_.resize(missing_.size() * size_t(l_));
      compute(missing_.data(), int(missing_.size()), scratch_.data());
      for (size_t m = 0; m < missing_.size(); ++m)
        std::memcpy(slotData(missingSlots_[m]), scratch_.data() + m * size_t(l_), size_t(l_) * sizeof(float));
    }
  }
  for (int r = 0; r < count; ++r) out[r] = slotData(slotOf_[size_t(rows[r])]);
}

void RowCache::multiplyPacked(const double* w, double* out) const {
  // One sequential pass over the blocks: a block (S, T) below the diagonal adds B w[T-part] to
  // out[S-part] and B^T w[S-part] to out[T-part]; a diagonal block holds both halves.
  const int64_t blocks = (l_ + kBlock - 1) / kBlock;
  std::vector<double> wp(size_t(blocks * kBlock), 0.0), op(size_t(blocks * kBlock), 0.0);
  std::copy(w, w + l_, wp.begin());
  for (int64_t S = 0; S < blocks; ++S) {
    const double* ws = wp.data() + S * kBlock;
    double* os = op.data() + S * kBlock;
    for (int64_t T = 0; T <= S; ++T) {
      const float* blk = packed_data_ + blockOffset(S, T);
      const double* wt = wp.data() + T * kBlock;
      double* ot = op.data() + T * kBlock;
      // Tile by tile in memory order: rows a0..a0+3, columns b0..b0+3.
      for (int64_t a0 = 0; a0 < kBlock; a0 += kTile) {
        double rowSum[kTile] = {};
        for (int64_t b0 = 0; b0 < kBlock; b0 += kTile, blk += kTile * kTile) {
          double colSum[kTile] = {};
          for (int64_t r = 0; r < kTile; ++r)
            for (int64_t c = 0; c < kTile; ++c) {
              const double v = blk[r * kTile + c];
              rowSum[r] += v * wt[b0 + c];
              colSum[c] += v * ws[a0 + r];
            }
          if (T < S)
            for (int64_t c = 0; c < kTile; ++c) ot[b0 + c] += colSum[c];
        }
        for (int64_t r = 0; r < kTile; ++r) os[a0 + r] += rowSum[r];
      }
    }
  }
  for (int64_t k = 0; k < l_; ++k) out[k] += op[size_t(k)];
}

void RowCache::extract(int64_t i, float* out) const {
  const int64_t S = i / kBlock, a = i % kBlock;
  const int64_t blocks = (l_ + kBlock - 1) / kBlock;
  constexpr int64_t kTiles = kBlock / kTile;  // tiles per block side
  // The last block may reach past l: its values go through a bounded copy.
  float tail[kBlock];
  auto put = [&](int64_t T, const float* v) {
    const int64_t n = std::min<int64_t>(kBlock, l_ - T * kBlock);
    std::memcpy(out + T * kBlock, v, size_t(n) * sizeof(float));
  };
  // Row a of the blocks (S, 0..S): 8 lines at a stride of 8 lines, in consecutive pages.
  for (int64_t T = 0; T <= S; ++T) {
    const float* blk = packed_data_ + blockOffset(S, T) + inBlock(a, 0);
    float* dst = (T + 1) * kBlock <= l_ ? out + T * kBlock : tail;
    for (int64_t J = 0; J < kTiles; ++J) std::memcpy(dst + J * kTile, blk + J * kTile * kTile, kTile * sizeof(float));
    if (dst == tail) put(T, tail);
  }
  // Column a of the blocks (T, S) for T > S: 8 lines of one page per block, the pages a block row
  // apart (further than the prefetcher looks): fetch the lines of a block ahead.
  constexpr int64_t kAhead = 4;
  for (int64_t T = S + 1; T < blocks; ++T) {
    if (T + kAhead < blocks) {
      const float* next = packed_data_ + blockOffset(T + kAhead, S) + inBlock(0, a);
      for (int64_t J = 0; J < kTiles; ++J) __builtin_prefetch(next + J * kTiles * kTile * kTile);
    }
    const float* blk = packed_data_ + blockOffset(T, S) + inBlock(0, a);
    float* dst = (T + 1) * kBlock <= l_ ? out + T * kBlock : tail;
    for (int64_t J = 0; J < kTiles; ++J)
      for (int64_t c = 0; c < kTile; ++c) dst[J * kTile + c] = blk[J * kTiles * kTile * kTile + c * kTile];
    if (dst == tail) put(T, tail);
  }
}

bool RowCache::precomputeLowerBlocks(float* out, int64_t l) {
  // About eight blocks, so the skipped upper triangle is most of the half the mirror fills;
  // at most 64 MB of values per call.
  const int64_t block =
      std::max<int64_t>(kRowBatch, std::min<int64_t>((l + 7) / 8, (int64_t{64} << 20) / (l * int64_t(sizeof(float)))));
  for (int64_t start = 0; start < l; start += block) {
    const int64_t end = std::min(l, start + block);
    auto t0 = Clock::now();
    const bool supported = source_.computeLowerBlock(start, end, out + size_t(start) * size_t(l));
    kernelSeconds_ += secondsSince(t0);
    if (!supported) return false;
    rowsComputed_ += end - start;
  }
  cpu::solverKernels().mirrorLower(out, l);
  return true;
}

void RowCache::fetchAdaptive(const int64_t* rows, int count) {
  if (known_ + count >= bulkAtRows_) {
    completeAdaptive();
    return;
  }
  // The next free slots, in place (a copy through scratch_ was 5-6 % of a small fit).
  compute(rows, count, slotData(known_));
  for (int r = 0; r < count; ++r) place_[size_t(rows[r])] = known_ + r;
  known_ += count;
}

void RowCache::completeAdaptive() {
  std::vector<int64_t> missing, known;
  for (int64_t i = 0; i < l_; ++i) (place_[size_t(i)] >= 0 ? known : missing).push_back(i);
  const int count = int(missing.size());
  for (int r = 0; r < count; ++r) place_[size_t(missing[size_t(r)])] = known_ + r;  // the free slots, in order
  // Row i of the missing ones: K[i][j] for the known j is K[j][i], already in row j; the values
  // among the missing rows come from the source in blocks of rows (at most 16 MB each, or 64
  // rows: the only memory beyond the matrix itself).
  const int block = int(std::clamp<int64_t>((int64_t{16} << 20) / (std::max(1, count) * int64_t(sizeof(float))),
                                            kRowBatch, std::max(kRowBatch, count)));
  std::vector<float> among;
  bool symmetric = count > 0;
  for (int r0 = 0; r0 < count && symmetric; r0 += block) {
    const int r1 = std::min(count, r0 + block);
    among.resize(size_t(r1 - r0) * size_t(count));
    auto t0 = Clock::now();
    symmetric = source_.computeAmong(missing.data(), count, r0, r1, among.data());
    kernelSeconds_ += secondsSince(t0);
    if (!symmetric) break;
    rowsComputed_ += r1 - r0;
    for (int r = r0; r < r1; ++r) {
      float* dst = fullRow(missing[size_t(r)]);
      const float* src = among.data() + size_t(r - r0) * size_t(count);
      for (int c = 0; c < count; ++c) dst[missing[size_t(c)]] = src[c];
    }
  }
  if (symmetric) {
    // Columns of the known rows, transposed in tiles so reads and writes stay in cache.
    constexpr size_t T = 64;
    for (size_t a = 0; a < missing.size(); a += T)
      for (size_t b = 0; b < known.size(); b += T)
        for (size_t u = a; u < std::min(missing.size(), a + T); ++u) {
          float* dst = fullRow(missing[u]);
          for (size_t v = b; v < std::min(known.size(), b + T); ++v) dst[known[v]] = fullRow(known[v])[missing[u]];
        }
  } else {
    for (int r0 = 0; r0 < count; r0 += kRowBatch) {
      const int n = std::min(kRowBatch, count - r0);
      compute(missing.data() + r0, n, fullRow(missing[size_t(r0)]));  // consecutive slots
    }
  }
  adaptive_ = false;
  full_ = true;
  known_ = l_;
}

void RowCache::computeStreamed(const int64_t* rows, int count, float* out) {
  auto t0 = Clock::now();
  source_.computeRows(rows, count, out);
  kernelSeconds_ += secondsSince(t0);
  streamedRows_ += count;
}

void RowCache::compute(const int64_t* rows, int count, float* out) {
  auto t0 = Clock::now();
  source_.computeRows(rows, count, out);
  kernelSeconds_ += secondsSince(t0);
  rowsComputed_ += count;
}

void RowCache::unlink(int64_t slot) {
  int64_t p = prev_[size_t(slot)], n = next_[size_t(slot)];
  if (p >= 0)
    next_[size_t(p)] = n;
  else
    head_ = n;
  if (n >= 0)
    prev_[size_t(n)] = p;
  else
    tail_ = p;
}

void RowCache::pushFront(int64_t slot) {
  prev_[size_t(slot)] = -1;
  next_[size_t(slot)] = head_;
  if (head_ >= 0) prev_[size_t(head_)] = slot;
  head_ = slot;
  if (tail_ < 0) tail_ = slot;
}

void RowCache::touch(int64_t slot) {
  if (head_ == slot) return;
  unlink(slot);
  pushFront(slot);
}

int64_t RowCache::claimSlot(int64_t i) {
  int64_t slot;
  if (used_ < capacity_) {
    slot = used_++;
  } else {
    slot = tail_;
    unlink(slot);
    int64_t old = rowOf_[size_t(slot)];
    if (slotOf_[size_t(old)] == slot) slotOf_[size_t(old)] = -1;
  }
  rowOf_[size_t(slot)] = i;
  slotOf_[size_t(i)] = slot;
  pushFront(slot);
  return slot;
}

}  // namespace oneclass::ocsvm
