// Large call-private buffers kept between calls (oneclass/scratch.h).
#include "oneclass/scratch.h"

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <utility>
#include <vector>

namespace oneclass {
namespace {

std::mutex gMutex;
std::vector<std::pair<unsigned char*, size_t>> gKept;  // (block, capacity)
size_t gKeptBytes = 0;

}  // namespace

void ScratchDeleter::operator()(unsigned char* p) const {
  if (p == nullptr) return;
  if (bytes < kScratchMinBytes || bytes > kScratchKeptMaxBytes) {
    delete[] p;
    return;
  }
  std::vector<unsigned char*> drop;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    // Room by dropping smaller kept blocks, smallest first; the block itself goes if none is.
    auto smallest = [] {
      return std::min_element(gKept.begin(), gKept.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
    };
    while (!gKept.empty() && (int(gKept.size()) >= kScratchKeptBlocks || gKeptBytes + bytes > kScratchKeptTotalBytes)) {
      auto s = smallest();
      if (s->second >= bytes) break;
      drop.push_back(s->first);
      gKeptBytes -= s->second;
      gKept.erase(s);
    }
    if (int(gKept.size()) < kScratchKeptBlocks && gKeptBytes + bytes <= kScratchKeptTotalBytes) {
      gKept.emplace_back(p, bytes);
      gKeptBytes += bytes;
    } else {
      drop.push_back(p);
    }
  }
  for (unsigned char* q : drop) delete[] q;
}

Scratch acquireScratch(size_t bytes) {
  if (bytes >= kScratchMinBytes) {
    std::lock_guard<std::mutex> lock(gMutex);
    auto best = gKept.end();
    for (auto it = gKept.begin(); it != gKept.end(); ++it)
      if (it->second >= bytes && (best == gKept.end() || it->second < best->second)) best = it;
    if (best != gKept.end()) {
      Scratch s(best->first, ScratchDeleter{best->second});
      gKeptBytes -= best->second;
      gKept.erase(best);
      return s;
    }
  }
  return Scratch(new unsigned char[std::max<size_t>(bytes, 1)], ScratchDeleter{bytes});
}

size_t dropScratch() {
  std::vector<std::pair<unsigned char*, size_t>> kept;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    kept.swap(gKept);
    gKeptBytes = 0;
  }
  size_t freed = 0;
  for (auto& [p, bytes] : kept) {
    freed += bytes;
    delete[] p;
  }
  return freed;
}

size_t keptScratchBytes() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gKeptBytes;
}

}  // namespace oneclass
