// The k-center selection's index of clusters (coreset_cpu.cpp): which cluster holds the row
// farthest from the selection, kept up to date one cluster at a time.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

namespace ONECLASS_CPU_NAMESPACE {

// Whether (va, ia) ranks before (vb, ib): farther first, then the lower row index.
inline bool ranksBefore(double va, int32_t ia, double vb, int32_t ib) { return va > vb || (va == vb && ia < ib); }

// Argmax over clusters of their farthest row, updated one cluster at a time in O(log clusters).
class MaxTree {
 public:
  explicit MaxTree(int64_t capacity) {
    size_ = 1;
    while (size_ < capacity) size_ *= 2;
    value_.assign(static_cast<size_t>(2 * size_), -std::numeric_limits<double>::infinity());
    row_.assign(static_cast<size_t>(2 * size_), std::numeric_limits<int32_t>::max());
    leaf_.assign(static_cast<size_t>(2 * size_), -1);
  }
  void set(int64_t leaf, double value, int32_t row) {
    int64_t i = leaf + size_;
    value_[i] = value;
    row_[i] = row;
    leaf_[i] = static_cast<int32_t>(leaf);
    for (i /= 2; i >= 1; i /= 2) {
      const int64_t l = 2 * i, r = 2 * i + 1;
      const int64_t best = ranksBefore(value_[r], row_[r], value_[l], row_[l]) ? r : l;
      value_[i] = value_[best];
      row_[i] = row_[best];
      leaf_[i] = leaf_[best];
    }
  }
  double topValue() const { return value_[1]; }
  int32_t topRow() const { return row_[1]; }
  int32_t topLeaf() const { return leaf_[1]; }

 private:
  int64_t size_;
  std::vector<double> value_;
  std::vector<int32_t> row_, leaf_;
};

}  // namespace ONECLASS_CPU_NAMESPACE
