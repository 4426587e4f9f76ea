// Encoder input preprocessing in C++ (the addon runs it off the JS thread): the
// 'triangle-fixed14' resize and the table-driven normalization to planar float32, bit for bit
// the same as python-export/preprocess.py and src/encoder/resize.ts / normalize.ts, for whole
// images and for the patch grids of localization (src/encoder/patches.ts gridPatches).
#pragma once
#include <cstdint>

namespace oneclass {

// Resizes an interleaved uint8 image (height x width x channels) to outHeight x outWidth:
// horizontal pass, then vertical, each rounded to uint8; passes whose size does not change are
// skipped. out holds outHeight * outWidth * channels bytes.
void resizeTriangleU8(const uint8_t* src, int64_t height, int64_t width, int64_t channels, int64_t outHeight,
                      int64_t outWidth, uint8_t* out);

// out[c * H * W + p] = table[c * 256 + src[p * channels + c]] (interleaved uint8 to planar).
void normalizeToPlanar(const uint8_t* src, int64_t height, int64_t width, int64_t channels, const float* table,
                       float* out);

// The patches of localization: the image resized to resize x resize, patchSize x patchSize
// patches cut every `stride` pixels in both directions (row-major over positions: y outer, x
// inner, as python-export/evaluate.py grid_patches), each resized to outHeight x outWidth when
// its size differs.
struct PatchGrid {
  int64_t resize = 0, patchSize = 0, stride = 0;
  int64_t outHeight = 0, outWidth = 0;
  // Patches per side: floor((resize - patchSize) / stride) + 1 (patchSize <= resize).
  int64_t side() const { return (resize - patchSize) / stride + 1; }
  int64_t positions() const { return side() * side(); }
  // Floats one image's patches take: positions x channels x outHeight x outWidth.
  int64_t floats(int64_t channels) const { return positions() * channels * outHeight * outWidth; }
};

// Writes each patch of the interleaved uint8 image (height x width x channels) as a planar
// normalized tensor, patch p at out + p * channels * outHeight * outWidth. Throws
// InvalidArgument for a grid that does not fit (patchSize > resize, sizes < 1).
void preprocessPatches(const uint8_t* src, int64_t height, int64_t width, int64_t channels, const PatchGrid& grid,
                       const float* table, float* out);

}  // namespace oneclass
