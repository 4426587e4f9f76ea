// Encoder input preprocessing off the JS thread (image_preprocess.h), bit-identical to
// src/encoder/resize.ts, patches.ts and normalize.ts:
//   preprocessImage(image, { height, width, table, out, offset })
//     the image resized to height x width, normalized, planar, at out[offset...] (filled when the
//     call settles: promise_worker.h); preprocessImageSync: the same, done before it returns;
//   preprocessPatches(images, { resize, patchSize, stride, height, width, table }) -> Float32Array
//     for each image, resized to resize x resize, its patch grid (each patch resized to height x
//     width): images x positions planar tensors, image-major, row-major over positions. The
//     tensor is allocated by the call and written by it off the JS thread (a caller-owned one
//     would have to be filled on the JS thread when the call settles: a copy of the whole tensor).
// image = { data: Uint8Array (height x width x channels), width, height, channels }; table is
// the channels x 256 normalization table (src/encoder/normalize.ts buildNormalizeTable).
#include "oneclass/image_preprocess.h"

#include <vector>

#include "convert.h"
#include "exports.h"
#include "oneclass/parallel.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

// One image's arguments and work, shared by the async call and the one on the calling thread.
struct ImageJob {
  ImageJob(const Napi::CallbackInfo& info) {
    image = imageArg(info.Env(), info[0], "image");
    ObjectArg options(info, 1, "options");
    outHeight = options.integer("height", 1, 1 << 16);
    outWidth = options.integer("width", 1, 1 << 16);
    table = options.array<float>("table", image.channels * 256);
    out.bind(info.Env(), options.value("out"), options.path("out"), options.integer("offset", 0, kMaxIndex),
             image.channels * outHeight * outWidth);
  }
  void run() {
    const uint8_t* src = image.data.data();
    std::vector<uint8_t> resized;
    if (image.height != outHeight || image.width != outWidth) {
      resized.resize(static_cast<size_t>(outHeight * outWidth * image.channels));
      resizeTriangleU8(src, image.height, image.width, image.channels, outHeight, outWidth, resized.data());
      src = resized.data();
    }
    normalizeToPlanar(src, outHeight, outWidth, image.channels, table.data(), out.data());
  }
  ImageArg image;
  int64_t outHeight = 0, outWidth = 0;
  InputArray<float> table;
  CallerOutput out;
};

class PreprocessImageWorker final : public PromiseWorker {
 public:
  explicit PreprocessImageWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()), job_(info) {}

 private:
  void Run() override { job_.run(); }
  Napi::Value Result(Napi::Env env) override {
    job_.out.publish(env, "preprocessImage");
    return env.Undefined();
  }
  ImageJob job_;
};

// The same on the calling thread, for small images (src/encoder/preprocess.ts decides): a 32 x 32
// image takes microseconds, a trip to libuv's pool and back about 0.2 ms of CPU.
Napi::Value preprocessImageSync(const Napi::CallbackInfo& info) {
  ImageJob job(info);
  job.run();
  job.out.publish(info.Env(), "preprocessImageSync");
  return info.Env().Undefined();
}

class PreprocessPatchesWorker final : public PromiseWorker {
 public:
  explicit PreprocessPatchesWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) throwCoded(env, "ERR_INVALID_ARGUMENT", "images must be an array");
    auto images = info[0].As<Napi::Array>();
    for (uint32_t i = 0; i < images.Length(); ++i)
      images_.push_back(imageArg(env, images.Get(i), "images[" + std::to_string(i) + "]"));
    ObjectArg options(info, 1, "options");
    grid_.resize = options.integer("resize", 1, 1 << 16);
    grid_.patchSize = options.integer("patchSize", 1, grid_.resize);
    grid_.stride = options.integer("stride", 1, 1 << 16);
    grid_.outHeight = options.integer("height", 1, 1 << 16);
    grid_.outWidth = options.integer("width", 1, 1 << 16);
    channels_ = images_.empty() ? 1 : images_[0].channels;
    for (size_t i = 0; i < images_.size(); ++i)
      if (images_[i].channels != channels_)
        throwCoded(env, "ERR_INVALID_ARGUMENT",
                   "images[" + std::to_string(i) + "] has " + std::to_string(images_[i].channels) +
                       " channels, images[0] " + std::to_string(channels_));
    table_ = options.array<float>("table", channels_ * 256);
    perImage_ =
        checkedProduct(env, "the patch tensor", {grid_.positions(), channels_, grid_.outHeight, grid_.outWidth});
    // Every value is written by Run(): nothing to clear on the JS thread.
    out_.allocateUnfilled(env, static_cast<size_t>(checkedProduct(env, "the patch tensor",
                                                                  {static_cast<int64_t>(images_.size()), perImage_})));
  }

 private:
  void Run() override {
    // One image per work item: every core busy for a batch, one image's scratch per thread.
    parallelFor(static_cast<int64_t>(images_.size()), defaultThreads(), [&](int64_t i, int) {
      const ImageArg& image = images_[static_cast<size_t>(i)];
      preprocessPatches(image.data.data(), image.height, image.width, image.channels, grid_, table_.data(),
                        out_.data + i * perImage_);
    });
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  std::vector<ImageArg> images_;
  PatchGrid grid_;
  int64_t channels_ = 1, perImage_ = 0;
  InputArray<float> table_;
  ResultArray<Napi::Float32Array> out_;
};

const ExportRegistration kPreprocessImage("preprocessImage", functionExport<startWorker<PreprocessImageWorker>>);
const ExportRegistration kPreprocessImageSync("preprocessImageSync", functionExport<preprocessImageSync>);
const ExportRegistration kPreprocessPatches("preprocessPatches", functionExport<startWorker<PreprocessPatchesWorker>>);

}  // namespace
}  // namespace oneclass::addon
