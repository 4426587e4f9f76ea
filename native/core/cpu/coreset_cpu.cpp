// Greedy k-center selection on the CPU, exact and pruned by the triangle inequality (the
// "clusters" form of Gonzalez's farthest-point algorithm). Every unselected row belongs to the
// cluster of its nearest selected row and carries that squared distance. When row c is selected,
// a row p of the cluster of a can only come closer to c than to a if |a - c| < 2 |p - a| <= 2
// radius(a), so whole clusters are skipped: in particular every cluster whose radius is below half
// the distance of c to the selection (all distances to c are at least that). What is skipped
// could not have changed any distance, so the result is the plain algorithm's; a relative margin
// (kMargin) keeps float64 rounding from turning a skipped near-tie into a difference.
//
// Per step the work is the rows of the clusters near c, not all n rows: on patch features, whose
// clusters are tight, a few percent of the rows per step. A max-tree over the clusters' farthest
// rows gives the next row in O(log count).
#include "coreset_cpu.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "dot_engine.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"
#include "simd.h"

namespace oneclass::cpu {
namespace {

constexpr double kMargin = 1e-7;
// Below this many multiply-adds a parallel loop costs more than it saves.
constexpr int64_t kParallelWork = 1 << 16;
constexpr int64_t kChunkRows = 1024;

// |a - b|^2 accumulated in float64, for float32 or float64 rows. Symmetric in a and b bit for bit.
inline double squaredDistance(const double* a, const double* b, int64_t d) {
  VD acc0{}, acc1{};
  int64_t k = 0;
  for (; k + 2 * kDoubleLanes <= d; k += 2 * kDoubleLanes) {
    const VD u = loadVec<VD>(a + k) - loadVec<VD>(b + k);
    const VD v = loadVec<VD>(a + k + kDoubleLanes) - loadVec<VD>(b + k + kDoubleLanes);
    acc0 += u * u;
    acc1 += v * v;
  }
  const VD acc = acc0 + acc1;
  double s = 0;
  for (int i = 0; i < kDoubleLanes; ++i) s += acc[i];
  for (; k < d; ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return s;
}

inline double squaredDistance(const float* a, const float* b, int64_t d) {
  typedef float HalfVF __attribute__((vector_size(kVectorBytes / 2)));
  VD acc0{}, acc1{};
  int64_t k = 0;
  for (; k + 2 * kDoubleLanes <= d; k += 2 * kDoubleLanes) {
    const VD u =
        __builtin_convertvector(loadVec<HalfVF>(a + k), VD) - __builtin_convertvector(loadVec<HalfVF>(b + k), VD);
    const VD v = __builtin_convertvector(loadVec<HalfVF>(a + k + kDoubleLanes), VD) -
                 __builtin_convertvector(loadVec<HalfVF>(b + k + kDoubleLanes), VD);
    acc0 += u * u;
    acc1 += v * v;
  }
  const VD acc = acc0 + acc1;
  double s = 0;
  for (int i = 0; i < kDoubleLanes; ++i) s += acc[i];
  for (; k < d; ++k) {
    const double u = static_cast<double>(a[k]) - static_cast<double>(b[k]);
    s += u * u;
  }
  return s;
}

// Whether (va, ia) ranks before (vb, ib): farther first, then the lower row index.
inline bool ranksBefore(double va, int32_t ia, double vb, int32_t ib) { return va > vb || (va == vb && ia < ib); }

// Argmax over clusters of their farthest row, updated one cluster at a time in O(log clusters).
class MaxTree {
 public:
  explicit MaxTree(int64_t capacity) {
    size_ = 1;
    while (size_ < capacity) size_ *= 2;
    value_.assign(static_cast<size_t>(2 * size_), -std::numeric_limits<double>::infinity());
    index_.assign(static_cast<size_t>(2 * size_), std::numeric_limits<int32_t>::max());
  }
  void set(int64_t leaf, double value, int32_t index) {
    int64_t i = leaf + size_;
    value_[i] = value;
    index_[i] = index;
    for (i /= 2; i >= 1; i /= 2) {
      const int64_t l = 2 * i, r = 2 * i + 1;
      const int64_t best = ranksBefore(value_[r], index_[r], value_[l], index_[l]) ? r : l;
      value_[i] = value_[best];
      index_[i] = index_[best];
    }
  }
  double topValue() const { return value_[1]; }
  int32_t topIndex() const { return index_[1]; }

 private:
  int64_t size_;
  std::vector<double> value_;
  std::vector<int32_t> index_;
};

template <typename T>
class Greedy {
 public:
  Greedy(const T* rows, int64_t n, int64_t d, int threads, int64_t count)
      : rows_(rows), n_(n), d_(d), threads_(threads), tree_(count) {
    mind_.assign(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
    owner_.assign(static_cast<size_t>(n), -1);
    members_.reserve(static_cast<size_t>(count));
    radius_.reserve(static_cast<size_t>(count));
    far_.reserve(static_cast<size_t>(count));
  }

  KCenterResult run(int64_t count, int64_t start, Progress* progress) {
    KCenterResult result;
    result.indices.reserve(static_cast<size_t>(count));
    int32_t c = static_cast<int32_t>(start);
    for (int64_t step = 0; step < count; ++step) {
      throwIfCancelled(progress, "k-center selection");
      result.indices.push_back(c);
      add(c);
      if (progress) progress->report(step + 1, count);
      c = tree_.topIndex();
    }
    result.coveringRadius = std::sqrt(std::max(0.0, tree_.topValue()));
    return result;
  }

 private:
  const T* row(int64_t i) const { return rows_ + i * d_; }

  // Selects row c: scans the clusters that may hold rows nearer to c than to their centre.
  void add(int32_t c) {
    const int32_t id = static_cast<int32_t>(centers_.size());
    const double reach = mind_[c];   // +inf for the first row
    const int32_t home = owner_[c];  // the cluster c leaves (-1 for the first row)
    centers_.push_back(c);
    members_.emplace_back();
    radius_.push_back(-1);
    far_.push_back(std::numeric_limits<int32_t>::max());
    mind_[c] = -1;  // selected: never a candidate, never moves
    owner_[c] = id;

    scanned_.clear();
    if (id == 0) {
      scanAllRows(c, id);
    } else {
      findScannedClusters(c, id, reach, home);
      items_.clear();
      for (int32_t a : scanned_) {
        const int64_t size = static_cast<int64_t>(members_[a].size());
        for (int64_t b = 0; b < size; b += kChunkRows) items_.push_back({a, b, std::min(size, b + kChunkRows)});
      }
      int64_t work = 0;
      for (const Item& it : items_) work += (it.end - it.begin) * d_;
      auto body = [&](int64_t i, int) {
        const Item& it = items_[i];
        const int32_t* m = members_[it.cluster].data();
        for (int64_t j = it.begin; j < it.end; ++j) update(m[j], c, id);
      };
      runItems(static_cast<int64_t>(items_.size()), work, body);
    }
    regroup(id);
  }

  struct Item {
    int32_t cluster;
    int64_t begin, end;
  };

  void update(int32_t p, int32_t c, int32_t id) {
    if (mind_[p] < 0) return;
    const double dist = squaredDistance(row(p), row(c), d_);
    if (dist < mind_[p]) {
      mind_[p] = dist;
      owner_[p] = id;
    }
  }

  template <typename Body>
  void runItems(int64_t items, int64_t work, Body&& body) {
    if (work < kParallelWork || threads_ <= 1) {
      for (int64_t i = 0; i < items; ++i) body(i, 0);
    } else {
      parallelFor(items, threads_, body);
    }
  }

  // Every row is compared with the first selected row and joins its cluster.
  void scanAllRows(int32_t c, int32_t id) {
    const int64_t chunks = (n_ + kChunkRows - 1) / kChunkRows;
    runItems(chunks, n_ * d_, [&](int64_t b, int) {
      for (int64_t p = b * kChunkRows, end = std::min(n_, (b + 1) * kChunkRows); p < end; ++p)
        update(static_cast<int32_t>(p), c, id);
    });
    std::vector<int32_t>& all = members_[id];
    all.reserve(static_cast<size_t>(n_ - 1));
    for (int64_t p = 0; p < n_; ++p)
      if (mind_[p] >= 0) all.push_back(static_cast<int32_t>(p));
  }

  // The clusters whose rows may be nearer to c than to their centre: |a - c|^2 <= 4 radius(a)
  // (up to the margin). Every centre is at least `reach` from c, so clusters with 4 radius below
  // reach are skipped without computing their distance. The cluster c leaves is always scanned (it
  // passes the test anyway: |home - c|^2 = reach <= 4 radius(home)), so c leaves its member list.
  void findScannedClusters(int32_t c, int32_t id, double reach, int32_t home) {
    candidates_.clear();
    scanned_.push_back(home);
    for (int32_t a = 0; a < id; ++a)
      if (a != home && 4 * radius_[a] * (1 + kMargin) >= reach) candidates_.push_back(a);
    keep_.assign(candidates_.size(), 0);
    auto body = [&](int64_t i, int) {
      const int32_t a = candidates_[i];
      const double dc = squaredDistance(row(centers_[a]), row(c), d_);
      keep_[i] = dc <= 4 * radius_[a] * (1 + kMargin);
    };
    runItems(static_cast<int64_t>(candidates_.size()), static_cast<int64_t>(candidates_.size()) * d_, body);
    for (size_t i = 0; i < candidates_.size(); ++i)
      if (keep_[i]) scanned_.push_back(candidates_[i]);
  }

  // Moves the rows that came nearest to the new centre `id` into its cluster, drops selected rows,
  // and refreshes the radius and farthest row of every cluster that changed.
  void regroup(int32_t id) {
    std::vector<int32_t>& fresh = members_[id];
    double freshRadius = radius_[id];
    int32_t freshFar = far_[id];
    auto consider = [](double v, int32_t p, double& r, int32_t& f) {
      if (ranksBefore(v, p, r, f)) r = v, f = p;
    };
    for (int32_t p : fresh) consider(mind_[p], p, freshRadius, freshFar);  // every row after the first step
    for (int32_t a : scanned_) {
      std::vector<int32_t>& m = members_[a];
      double r = -1;
      int32_t f = std::numeric_limits<int32_t>::max();
      size_t kept = 0;
      for (int32_t p : m) {
        if (mind_[p] < 0) continue;  // selected
        if (owner_[p] == a) {
          m[kept++] = p;
          consider(mind_[p], p, r, f);
        } else {
          fresh.push_back(p);
          consider(mind_[p], p, freshRadius, freshFar);
        }
      }
      m.resize(kept);
      if (m.capacity() > 4 * kept + 64) m.shrink_to_fit();
      radius_[a] = r;
      far_[a] = f;
      tree_.set(a, kept ? r : -std::numeric_limits<double>::infinity(), f);
    }
    radius_[id] = freshRadius;
    far_[id] = freshFar;
    tree_.set(id, fresh.empty() ? -std::numeric_limits<double>::infinity() : freshRadius, freshFar);
  }

  const T* rows_;
  int64_t n_, d_;
  int threads_;
  MaxTree tree_;
  std::vector<double> mind_;    // squared distance to the nearest selected row; -1 once selected
  std::vector<int32_t> owner_;  // the cluster (index into centers_) of that row
  std::vector<int32_t> centers_;
  std::vector<std::vector<int32_t>> members_;
  std::vector<double> radius_;  // largest mind_ among a cluster's members (-1: none)
  std::vector<int32_t> far_;    // the member with that distance, lowest index on ties
  std::vector<int32_t> scanned_, candidates_;
  std::vector<char> keep_;
  std::vector<Item> items_;
};

// Writes each tile of dot products (row x projection row) into the projected matrix.
struct ProjectEpilogue {
  double* out;
  int64_t ld;
  void begin(int64_t, int) {}
  void tile(int, int64_t row0, int rows, int64_t col0, int cols, const double* dots) {
    constexpr int NR = PackedPanels<double>::kPanelRows;
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) out[(row0 + r) * ld + col0 + c] = dots[r * NR + c];
  }
  void finish() {}
};

}  // namespace

std::vector<double> projectRows(const float* x, int64_t n, int64_t d, const double* r, int64_t outDim, int threads) {
  PackedPanels<double> packed = packPanels<double>(r, outDim, d, threads);
  std::vector<double> out(static_cast<size_t>(n * outDim));
  const int64_t block = std::max<int64_t>(64, (int64_t{8} << 20) / (8 * d));  // 8 MB of float64 rows
  std::vector<double> a(static_cast<size_t>(std::min(n, block) * d));
  for (int64_t s = 0; s < n; s += block) {
    const int64_t count = std::min(block, n - s);
    parallelFor((count + 255) / 256, threads, [&](int64_t b, int) {
      for (int64_t i = b * 256 * d, end = std::min(count, (b + 1) * 256) * d; i < end; ++i)
        a[i] = static_cast<double>(x[s * d + i]);
    });
    ProjectEpilogue epi{out.data() + s * outDim, outDim};
    runDotEngine(packed, a.data(), count, epi, threads);
  }
  return out;
}

KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                            const KCenterOptions& options, Progress* progress) {
  const int threads = resolveThreads(options.threads);
  if (projection) {
    const std::vector<double> rows = projectRows(x, n, d, projection, options.projection, threads);
    throwIfCancelled(progress, "k-center selection");
    return Greedy<double>(rows.data(), n, options.projection, threads, options.count)
        .run(options.count, options.start, progress);
  }
  return Greedy<float>(x, n, d, threads, options.count).run(options.count, options.start, progress);
}

}  // namespace oneclass::cpu
