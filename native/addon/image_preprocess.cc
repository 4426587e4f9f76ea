// Encoder input preprocessing off the JS thread (image_preprocess.h), bit-identical to
// src/encoder/resize.ts, patches.ts and normalize.ts:
//   preprocessImage(image, { height, width, table, out, offset })
//     the image resized to height x width, normalized, planar, at out[offset...];
//   preprocessPatches(image, { resize, patchSize, stride, height, width, table, out, offset })
//     the image resized to resize x resize, its patch grid (each patch resized to height x
//     width), one planar tensor per patch from out[offset...], row-major over positions.
// image = { data: Uint8Array (height x width x channels), width, height, channels }; table is
// the channels x 256 normalization table (src/encoder/normalize.ts buildNormalizeTable).
#include "oneclass/image_preprocess.h"

#include <vector>

#include "convert.h"
#include "exports.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

// The image, the output size, the table and the caller's output range, common to both ops.
class PreprocessWorker : public PromiseWorker {
 protected:
  PreprocessWorker(const Napi::CallbackInfo& info, const ObjectArg& options, const char* call)
      : PromiseWorker(info.Env()), call_(call) {
    image_ = imageArg(info, 0, "image");
    outHeight_ = options.integer("height", 1, 1 << 16);
    outWidth_ = options.integer("width", 1, 1 << 16);
    table_ = options.array<float>("table", image_.channels * 256);
  }
  // Binds the caller's output once the subclass knows how many floats it writes.
  void bindOutput(const ObjectArg& options, int64_t count) {
    out_.bind(options.env(), options.value("out"), options.path("out"), options.integer("offset", 0, kMaxIndex), count);
  }
  Napi::Value Result(Napi::Env env) override {
    out_.publish(env, call_);
    return env.Undefined();
  }

  const char* call_;
  ImageArg image_;
  int64_t outHeight_, outWidth_;
  InputArray<float> table_;
  CallerOutput out_;
};

class PreprocessImageWorker final : public PreprocessWorker {
 public:
  explicit PreprocessImageWorker(const Napi::CallbackInfo& info) : PreprocessImageWorker(info, {info, 1, "options"}) {}
  PreprocessImageWorker(const Napi::CallbackInfo& info, const ObjectArg& options)
      : PreprocessWorker(info, options, "preprocessImage") {
    bindOutput(options, image_.channels * outHeight_ * outWidth_);
  }

 private:
  void Run() override {
    const uint8_t* src = image_.data.data();
    std::vector<uint8_t> resized;
    if (image_.height != outHeight_ || image_.width != outWidth_) {
      resized.resize(static_cast<size_t>(outHeight_ * outWidth_ * image_.channels));
      resizeTriangleU8(src, image_.height, image_.width, image_.channels, outHeight_, outWidth_, resized.data());
      src = resized.data();
    }
    normalizeToPlanar(src, outHeight_, outWidth_, image_.channels, table_.data(), out_.data());
  }
};

class PreprocessPatchesWorker final : public PreprocessWorker {
 public:
  explicit PreprocessPatchesWorker(const Napi::CallbackInfo& info)
      : PreprocessPatchesWorker(info, {info, 1, "options"}) {}
  PreprocessPatchesWorker(const Napi::CallbackInfo& info, const ObjectArg& options)
      : PreprocessWorker(info, options, "preprocessPatches") {
    grid_.resize = options.integer("resize", 1, 1 << 16);
    grid_.patchSize = options.integer("patchSize", 1, grid_.resize);
    grid_.stride = options.integer("stride", 1, 1 << 16);
    grid_.outHeight = outHeight_;
    grid_.outWidth = outWidth_;
    const int64_t count =
        checkedProduct(info.Env(), "the patch tensor", {grid_.positions(), image_.channels, outHeight_, outWidth_});
    bindOutput(options, count);
  }

 private:
  void Run() override {
    preprocessPatches(image_.data.data(), image_.height, image_.width, image_.channels, grid_, table_.data(),
                      out_.data());
  }
  PatchGrid grid_;
};

const ExportRegistration kPreprocessImage("preprocessImage", functionExport<startWorker<PreprocessImageWorker>>);
const ExportRegistration kPreprocessPatches("preprocessPatches", functionExport<startWorker<PreprocessPatchesWorker>>);

}  // namespace
}  // namespace oneclass::addon
