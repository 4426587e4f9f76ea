// The patch grid of localization (preprocessPatches) against the composition of its steps done
// one patch at a time: crop, resize when the size differs, normalize. Bit-identical, as the
// TypeScript reference it mirrors (test/patch-preprocess.test.ts checks against that one).
#include <cstring>

#include "oneclass/errors.h"
#include "oneclass/image_preprocess.h"
#include "test_util.h"

using namespace oneclass;
using namespace oneclass::testing;

namespace {

std::vector<uint8_t> randomImage(int64_t h, int64_t w, int64_t c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> img(static_cast<size_t>(h * w * c));
  for (auto& v : img) v = static_cast<uint8_t>(rng() & 255);
  return img;
}

std::vector<float> table(int64_t c) {
  std::vector<float> t(static_cast<size_t>(c * 256));
  for (int64_t ch = 0; ch < c; ++ch)
    for (int u = 0; u < 256; ++u) t[ch * 256 + u] = (static_cast<float>(u) / 255.0f - 0.4f) / (0.2f + 0.05f * ch);
  return t;
}

void testGrid(Tally& t, int64_t h, int64_t w, int64_t c, PatchGrid g) {
  auto img = randomImage(h, w, c, static_cast<uint32_t>(h * 131 + w * 7 + c));
  auto lut = table(c);
  const int64_t per = c * g.outHeight * g.outWidth;
  std::vector<float> got(static_cast<size_t>(g.floats(c)), -1.0f), want(got.size(), -2.0f);
  preprocessPatches(img.data(), h, w, c, g, lut.data(), got.data());
  std::vector<uint8_t> resized(static_cast<size_t>(g.resize * g.resize * c));
  resizeTriangleU8(img.data(), h, w, c, g.resize, g.resize, resized.data());
  int64_t p = 0;
  for (int64_t y = 0; y + g.patchSize <= g.resize; y += g.stride) {
    for (int64_t x = 0; x + g.patchSize <= g.resize; x += g.stride, ++p) {
      std::vector<uint8_t> patch(static_cast<size_t>(g.patchSize * g.patchSize * c));
      for (int64_t r = 0; r < g.patchSize; ++r)
        for (int64_t k = 0; k < g.patchSize * c; ++k)
          patch[r * g.patchSize * c + k] = resized[((y + r) * g.resize + x) * c + k];
      std::vector<uint8_t> atSize(static_cast<size_t>(g.outHeight * g.outWidth * c));
      resizeTriangleU8(patch.data(), g.patchSize, g.patchSize, c, g.outHeight, g.outWidth, atSize.data());
      normalizeToPlanar(atSize.data(), g.outHeight, g.outWidth, c, lut.data(), want.data() + p * per);
    }
  }
  const bool positions = p == g.positions();
  const bool same = std::memcmp(got.data(), want.data(), got.size() * sizeof(float)) == 0;
  t.check(positions && same,
          "patches " + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c) + " resize " +
              std::to_string(g.resize) + " patch " + std::to_string(g.patchSize) + " stride " +
              std::to_string(g.stride) + " -> " + std::to_string(g.outHeight) + "x" + std::to_string(g.outWidth),
          std::to_string(p) + " positions, " + (same ? "bit-identical" : "different"));
}

}  // namespace

int main() {
  Tally t;
  testGrid(t, 37, 53, 3, PatchGrid{40, 16, 8, 16, 16});   // patches at the input size: read in place
  testGrid(t, 37, 53, 3, PatchGrid{40, 16, 8, 24, 20});   // patches resized to the input
  testGrid(t, 64, 64, 1, PatchGrid{64, 64, 7, 32, 32});   // one patch, the whole image, downsized
  testGrid(t, 20, 30, 4, PatchGrid{33, 10, 11, 10, 10});  // a stride that leaves a margin
  std::vector<uint8_t> img(16 * 16);
  std::vector<float> out(1), lut = table(1);
  t.expectError(ErrorCode::InvalidArgument, "a patch larger than the resized image is refused",
                [&] { preprocessPatches(img.data(), 16, 16, 1, PatchGrid{16, 17, 1, 8, 8}, lut.data(), out.data()); });
  return t.finish();
}
