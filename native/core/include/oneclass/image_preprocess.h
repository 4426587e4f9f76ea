// Encoder input preprocessing in C++ (the addon runs it off the JS thread): the
// 'triangle-fixed14' resize and the table-driven normalization to planar float32, bit for bit
// the same as python-export/preprocess.py and src/encoder/resize.ts / normalize.ts.
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

}  // namespace oneclass
