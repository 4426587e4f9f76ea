// Greedy k-center selection on the CPU: the plain algorithm's result, with most of its distance
// computations proven unnecessary before they are made. Three tests, each exact:
//
//  1. Clusters (Gonzalez). Every unselected row belongs to the cluster of its nearest selected row
//     and carries that squared distance. When row c is selected, a row p of the cluster of a can
//     only come nearer to c if |a - c| < 2 |p - a| (triangle inequality): whole clusters with
//     |a - c| >= 2 radius(a) are skipped, and every cluster with 4 radius(a)^2 below c's own
//     distance to the selection without computing |a - c| (every centre is at least that far).
//  2. The same test per row, which reads only the row's stored distance.
//  3. Partial distances on principal axes. Rows are stored rotated onto the principal axes of a
//     sample (distances do not change under a rotation), so the first 8 coordinates, kept beside
//     each row's distance, carry most of every distance (about 75% of the variance of patch
//     features); a squared distance summed over some coordinates only is a lower bound of the
//     whole, so the sum stops as soon as it reaches the row's distance to the selection.
//
// What is skipped could not have changed any distance, so the selection is the plain
// algorithm's. The rotation, and summing in another order, change distances by float64 rounding
// only (about 1e-16 relative): the selection equals a float64 reference except for rows whose
// distances tie at that level; a relative margin (kMargin) on the triangle tests keeps rounding
// from turning a skipped near-tie into a difference.
//
// Rows of a cluster sit together in its member list (row index, distance, first coordinates), so a
// step streams through memory and only fetches the rows that survive the tests, ahead of use. A
// max-tree over the clusters' farthest rows gives the next row in O(log count).
//
// Rows without structure for the tests (isotropic noise) leave nearly every row to be read whole;
// when that happens over a window of steps the selection continues with the plain loop (a
// sequential pass per step, the partial-sum stop kept), which computes the very same distances.
#include "coreset_cpu.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

#include "dot_engine.h"
#include "max_tree.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"
#include "rotated_rows.h"
#include "simd.h"

namespace ONECLASS_CPU_NAMESPACE {
namespace {

constexpr double kMargin = 1e-7;
// Below this many multiply-adds a parallel loop costs more than it saves.
constexpr int64_t kParallelWork = 1 << 16;
constexpr int64_t kChunkRows = 2048;
constexpr int64_t kAhead = 16;          // rows fetched ahead of the one being compared
constexpr int kHeadBlocks = 2;          // blocks kept in the member lists
constexpr int64_t kWindow = 32;         // steps over which the tests' payoff is judged
constexpr double kPlainFraction = 0.3;  // rows read whole per step beyond which the plain loop is cheaper

typedef double D4 __attribute__((vector_size(32)));

// Sum of squared differences over one block of kBlock coordinates.
inline double blockSquares(const double* a, const double* b) {
  const D4 u = loadVec<D4>(a) - loadVec<D4>(b), v = loadVec<D4>(a + 4) - loadVec<D4>(b + 4);
  const D4 t = u * u + v * v;
  return (t[0] + t[2]) + (t[1] + t[3]);
}

// Continues a squared distance over blocks [from, blocks), stopping once it reaches `bound`.
// Block sums are >= 0 and added in order, so every partial sum is <= the whole.
inline double distanceFrom(const double* a, const double* b, int64_t from, int64_t blocks, double partial,
                           double bound) {
  for (int64_t k = from; k < blocks && partial < bound; ++k) partial += blockSquares(a + k * kBlock, b + k * kBlock);
  return partial;
}

// A row of a cluster: its index, its squared distance to the cluster's centre (its distance to the
// selection) and its first coordinates.
struct Member {
  int32_t row;
  int32_t moved;  // set when the row came nearer to the newest centre during a step
  double dist;
  double head[kHeadBlocks * kBlock];
};

// Member lists are kept nearest first, the farthest (lowest row on ties) last: a cluster's radius
// and farthest row are its last member, the members that test 2 cannot rule out are a suffix, and
// the rows that leave a cluster are mostly near its end. Sorted by moving small keys, then each
// 144-byte member once.
void sortMembers(std::vector<Member>& m) {
  if (m.size() < 2) return;
  struct Key {
    double dist;
    int32_t row, at;
  };
  std::vector<Key> keys(m.size());
  for (size_t i = 0; i < m.size(); ++i) keys[i] = {m[i].dist, m[i].row, static_cast<int32_t>(i)};
  std::sort(keys.begin(), keys.end(),
            [](const Key& a, const Key& b) { return ranksBefore(b.dist, b.row, a.dist, a.row); });
  std::vector<Member> sorted(m.size());
  for (size_t i = 0; i < m.size(); ++i) sorted[i] = m[keys[i].at];
  m.swap(sorted);
}

class Greedy {
 public:
  Greedy(const RotatedRows& rows, int64_t n, int threads, int64_t count)
      : rows_(rows), n_(n), blocks_(rows.blocks), stride_(rows.stride), threads_(threads), tree_(count) {
    members_.reserve(static_cast<size_t>(count));
    radius_.reserve(static_cast<size_t>(count));
    centers_.reserve(static_cast<size_t>(count * stride_));
  }

  KCenterResult run(int64_t count, int64_t start, Progress* progress) {
    KCenterResult result;
    result.indices.reserve(static_cast<size_t>(count));
    int32_t c = static_cast<int32_t>(start);
    for (int64_t step = 0; step < count; ++step) {
      throwIfCancelled(progress, "k-center selection");
      result.indices.push_back(c);
      const int64_t before = evaluations_;
      if (step == 0) {
        first(c);
      } else if (plain_) {
        addPlain(c);
      } else {
        add(c, tree_.topLeaf(), tree_.topValue());
      }
      if (progress) progress->report(step + 1, count);
      if (!plain_ && pruningFails(step, evaluations_ - before)) toPlain();
      c = plain_ ? plainNext_ : tree_.topRow();
    }
    result.coveringRadius = std::sqrt(std::max(0.0, plain_ ? plainTop_ : tree_.topValue()));
    result.distanceEvaluations = evaluations_;
    return result;
  }

 private:
  const double* row(int64_t i) const { return rows_.row(i); }
  const double* center(int64_t a) const { return centers_.data() + a * stride_; }

  int32_t newCluster(int32_t c) {
    centers_.insert(centers_.end(), row(c), row(c) + stride_);
    members_.emplace_back();
    radius_.push_back(-1);
    return static_cast<int32_t>(members_.size() - 1);
  }

  // The first block after the member list's: most partial sums reach the row's distance within
  // one or two more blocks. (Unconditional: a prefetch past the end never faults, and GCC 12 drops
  // a prefetch guarded by a condition.)
  void prefetchRow(int32_t p) const { __builtin_prefetch(row(p) + kHeadBlocks * kBlock); }

  template <typename Body>
  void runItems(int64_t items, int64_t work, Body&& body) {
    if (work < kParallelWork || threads_ <= 1) {
      for (int64_t i = 0; i < items; ++i) body(i, 0);
    } else {
      parallelFor(items, threads_, body);
    }
  }

  // Tells the tree a cluster's radius and farthest row: its last member.
  void refresh(int32_t a) {
    const std::vector<Member>& m = members_[a];
    radius_[a] = m.empty() ? -1 : m.back().dist;
    tree_.set(a, m.empty() ? -std::numeric_limits<double>::infinity() : m.back().dist,
              m.empty() ? std::numeric_limits<int32_t>::max() : m.back().row);
  }

  // The first row: every other row joins its cluster.
  void first(int32_t c) {
    const int32_t id = newCluster(c);
    std::vector<Member>& all = members_[id];
    all.resize(static_cast<size_t>(n_ - 1));
    const int64_t chunks = (n_ + kChunkRows - 1) / kChunkRows;
    const double* cr = center(id);
    runItems(chunks, n_ * stride_, [&](int64_t b, int) {
      for (int64_t p = b * kChunkRows, end = std::min(n_, (b + 1) * kChunkRows); p < end; ++p) {
        if (p == c) continue;
        Member& e = all[p < c ? p : p - 1];
        e.row = static_cast<int32_t>(p);
        e.moved = 0;
        std::copy(row(p), row(p) + kHeadBlocks * kBlock, e.head);
        e.dist = distanceFrom(row(p), cr, 0, blocks_, 0.0, std::numeric_limits<double>::infinity());
      }
    });
    evaluations_ += n_ - 1;
    sortMembers(all);
    refresh(id);
  }

  struct Item {
    int32_t cluster;
    int64_t begin, end;  // members before `begin` cannot move (test 2)
    int64_t moved;       // members that came nearer to the new centre
  };

  // Selects row c, the farthest row (the last member) of cluster `home`, at squared distance
  // `reach`.
  void add(int32_t c, int32_t home, double reach) {
    const int32_t id = newCluster(c);
    findScannedClusters(id, reach, home);
    items_.clear();
    int64_t work = 0;
    for (size_t s = 0; s < scanned_.size(); ++s) {
      const int32_t a = scanned_[s];
      const std::vector<Member>& m = members_[a];
      // Test 2: a member p with |a - c| >= 2 |p - a| is no nearer to c; the others are a suffix.
      const double limit = centerDistance_[s] / (4 * (1 + kMargin));
      const int64_t size = static_cast<int64_t>(m.size());
      const int64_t from =
          std::partition_point(m.begin(), m.end(), [&](const Member& e) { return e.dist <= limit; }) - m.begin();
      for (int64_t b = from; b < size; b += kChunkRows) items_.push_back({a, b, std::min(size, b + kChunkRows), 0});
      work += (size - from) * kBlock;
    }
    std::atomic<int64_t> computed{0};
    const double* cr = center(id);
    runItems(static_cast<int64_t>(items_.size()), work, [&](int64_t i, int) {
      Item& it = items_[i];
      Member* m = members_[it.cluster].data();
      // Test 3 on the first block, from the member list alone; then the surviving rows.
      thread_local std::vector<int32_t> survivors;
      thread_local std::vector<double> partial;
      survivors.clear();
      partial.clear();
      for (int64_t j = it.begin; j < it.end; ++j) {
        const Member& e = m[j];
        const double s = distanceFrom(e.head, cr, 0, kHeadBlocks, 0.0, e.dist);
        if (s >= e.dist) continue;
        survivors.push_back(static_cast<int32_t>(j));
        partial.push_back(s);
      }
      const int64_t count = static_cast<int64_t>(survivors.size());
      for (int64_t t = 0; t < std::min(count, kAhead); ++t) prefetchRow(m[survivors[t]].row);
      for (int64_t t = 0; t < count; ++t) {
        if (t + kAhead < count) prefetchRow(m[survivors[t + kAhead]].row);
        Member& e = m[survivors[t]];
        const double dist = distanceFrom(row(e.row), cr, kHeadBlocks, blocks_, partial[t], e.dist);
        if (dist < e.dist) e.dist = dist, e.moved = 1, ++it.moved;
      }
      computed += count;
    });
    evaluations_ += computed.load();
    regroup(c, id);
  }

  // The clusters whose rows may be nearer to c than to their centre (test 1): |a - c|^2 <=
  // 4 radius(a) (up to the margin). Every centre is at least `reach` from c, so clusters with
  // 4 radius below reach are skipped without computing their distance. The cluster c leaves is
  // always scanned (it passes the test anyway: |home - c|^2 = reach <= 4 radius(home)), so c
  // leaves its member list.
  void findScannedClusters(int32_t id, double reach, int32_t home) {
    scanned_.assign(1, home);
    centerDistance_.assign(1, reach);
    candidates_.clear();
    for (int32_t a = 0; a < id; ++a)
      if (a != home && 4 * radius_[a] * (1 + kMargin) >= reach) candidates_.push_back(a);
    candidateDistance_.resize(candidates_.size());
    const double* cr = center(id);
    runItems(static_cast<int64_t>(candidates_.size()), static_cast<int64_t>(candidates_.size()) * stride_,
             [&](int64_t i, int) {
               const int32_t a = candidates_[i];
               candidateDistance_[i] = distanceFrom(center(a), cr, 0, blocks_, 0.0, 4 * radius_[a] * (1 + kMargin));
             });
    evaluations_ += static_cast<int64_t>(candidates_.size());
    for (size_t i = 0; i < candidates_.size(); ++i) {
      const int32_t a = candidates_[i];
      if (candidateDistance_[i] <= 4 * radius_[a] * (1 + kMargin)) {
        scanned_.push_back(a);
        centerDistance_.push_back(candidateDistance_[i]);
      }
    }
  }

  // Moves the rows that came nearest to the new centre `id` into its cluster, drops the selected
  // row c (the last member of its cluster), and refreshes the clusters that changed. Kept members
  // keep their distances, so every list stays sorted; only the new one is sorted.
  void regroup(int32_t c, int32_t id) {
    std::vector<Member>& fresh = members_[id];
    moved_.assign(members_.size(), 0);
    firstMoved_.resize(members_.size());
    int64_t total = 0;
    for (const Item& it : items_) {
      if (it.moved == 0) continue;
      firstMoved_[it.cluster] = moved_[it.cluster] ? std::min(firstMoved_[it.cluster], it.begin) : it.begin;
      moved_[it.cluster] += it.moved;
      total += it.moved;
    }
    fresh.reserve(static_cast<size_t>(total));
    for (int32_t a : scanned_) {
      std::vector<Member>& m = members_[a];
      if (moved_[a] == 0 && (m.empty() || m.back().row != c)) continue;
      size_t kept = moved_[a] ? static_cast<size_t>(firstMoved_[a]) : m.size() - 1;
      for (size_t j = kept; j < m.size(); ++j) {
        const Member& e = m[j];
        if (e.row == c) continue;
        if (e.moved) {
          fresh.push_back(e);
          fresh.back().moved = 0;
        } else {
          m[kept++] = e;
        }
      }
      m.resize(kept);
      if (m.capacity() > 8 * kept + 1024) m.shrink_to_fit();  // rarely: it copies the list
      refresh(a);
    }
    sortMembers(fresh);
    refresh(id);
  }

  // Whether the tests stopped paying: rows with no structure for them (isotropic noise) leave
  // most rows to be read whole, through the member lists' indirection. Judged over windows of
  // kWindow steps once the selection is kWindow steps in.
  bool pruningFails(int64_t step, int64_t evaluated) {
    windowEvaluations_ += evaluated;
    if ((step + 1) % kWindow != 0) return false;
    const bool fails = windowEvaluations_ > kPlainFraction * static_cast<double>(n_) * kWindow;
    windowEvaluations_ = 0;
    return fails;
  }

  // Leaves the clusters for the plain loop: one distance per row, kept in row order, and a
  // sequential pass per step (still stopping each sum once it reaches the row's distance).
  void toPlain() {
    plainNext_ = tree_.topRow();
    plainTop_ = tree_.topValue();
    mind_.assign(static_cast<size_t>(n_), -1.0);  // selected rows stay at -1
    for (const std::vector<Member>& m : members_)
      for (const Member& e : m) mind_[e.row] = e.dist;
    std::vector<std::vector<Member>>().swap(members_);
    plain_ = true;
  }

  void addPlain(int32_t c) {
    mind_[c] = -1;
    const double* cr = row(c);
    const int64_t chunks = (n_ + kChunkRows - 1) / kChunkRows;
    chunkTop_.assign(static_cast<size_t>(chunks), -std::numeric_limits<double>::infinity());
    chunkRow_.assign(static_cast<size_t>(chunks), std::numeric_limits<int32_t>::max());
    runItems(chunks, n_ * stride_, [&](int64_t b, int) {
      double top = -std::numeric_limits<double>::infinity();
      int32_t far = std::numeric_limits<int32_t>::max();
      for (int64_t p = b * kChunkRows, end = std::min(n_, (b + 1) * kChunkRows); p < end; ++p) {
        double& m = mind_[p];
        if (m >= 0) {
          const double dist = distanceFrom(row(p), cr, 0, blocks_, 0.0, m);
          if (dist < m) m = dist;
        }
        if (ranksBefore(m, static_cast<int32_t>(p), top, far)) top = m, far = static_cast<int32_t>(p);
      }
      chunkTop_[b] = top;
      chunkRow_[b] = far;
    });
    evaluations_ += n_;
    plainTop_ = -std::numeric_limits<double>::infinity();
    plainNext_ = std::numeric_limits<int32_t>::max();
    for (int64_t b = 0; b < chunks; ++b)
      if (ranksBefore(chunkTop_[b], chunkRow_[b], plainTop_, plainNext_))
        plainTop_ = chunkTop_[b], plainNext_ = chunkRow_[b];
  }

  const RotatedRows& rows_;
  int64_t n_, blocks_, stride_;
  int threads_;
  MaxTree tree_;
  std::vector<double> centers_;  // the selected rows, contiguous (count x stride)
  std::vector<std::vector<Member>> members_;
  std::vector<double> radius_;  // largest distance among a cluster's members (-1: none)
  std::vector<int32_t> scanned_, candidates_;
  std::vector<double> centerDistance_, candidateDistance_;  // |a - c|^2 of scanned_ / candidates_
  std::vector<Item> items_;
  std::vector<int64_t> moved_, firstMoved_;  // per cluster, during regroup
  int64_t evaluations_ = 0, windowEvaluations_ = 0;
  // The plain loop, once the tests stop paying (toPlain).
  bool plain_ = false;
  std::vector<double> mind_, chunkTop_;  // distance to the selection per row (-1: selected)
  std::vector<int32_t> chunkRow_;
  int32_t plainNext_ = 0;
  double plainTop_ = 0;
};

}  // namespace

std::vector<double> projectRows(const float* x, int64_t n, int64_t d, const double* r, int64_t outDim, int threads) {
  std::vector<double> out(static_cast<size_t>(n * outDim));
  mapRows(x, n, d, r, outDim, out.data(), outDim, threads);
  return out;
}

KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                            const KCenterOptions& options, Progress* progress) {
  const int threads = resolveThreads(options.threads);
  const RotatedRows rows = rotateRows(x, n, d, projection, options.projection, kHeadBlocks, threads);
  throwIfCancelled(progress, "k-center selection");
  return Greedy(rows, n, threads, options.count).run(options.count, options.start, progress);
}

}  // namespace ONECLASS_CPU_NAMESPACE
