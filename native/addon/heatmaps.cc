// upsample(grids { data, batch, height, width }, { mode, height, width, sigma, patchSize?,
//          stride?, device, threads?, out?, reduce?, topK?, maps? }) -> { data, scores?, backend }:
// coarse score grids to per-pixel heatmaps with a heatmap plan (heatmap.h). reduce 'max' or
// 'top-k' also returns each map's maximum or top-k mean as `scores` (Float64Array), computed in
// the same call off the JS thread; maps: false then keeps the maps native (data: null).
#include <algorithm>
#include <memory>

#include "convert.h"
#include "exports.h"
#include "oneclass/heatmap.h"
#include "oneclass/transform.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

class UpsampleWorker final : public PromiseWorker {
 public:
  explicit UpsampleWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    ObjectArg grids(info, 0, "grids");
    batch_ = grids.integer("batch", 0, kMaxIndex);
    gh_ = grids.integer("height", 1, kMaxHeatmapGridSide);
    gw_ = grids.integer("width", 1, kMaxHeatmapGridSide);
    grids_ = grids.array<float>("data", checkedProduct(info.Env(), "grids", {batch_, gh_, gw_}));
    ObjectArg options(info, 1, "options");
    const std::string mode = options.string("mode");
    if (mode == "bilinear") {
      options_.mode = HeatmapMode::Bilinear;
    } else if (mode == "receptive-field") {
      options_.mode = HeatmapMode::ReceptiveField;
    } else {
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "options.mode must be 'bilinear' or 'receptive-field'");
    }
    options_.outHeight = options.integer("height", 1, kMaxHeatmapSide);
    options_.outWidth = options.integer("width", 1, kMaxHeatmapSide);
    options_.sigma = options.number("sigma");
    options_.patchSize = options.integer("patchSize", 0, kMaxHeatmapSide, 0);
    options_.stride = options.integer("stride", 0, kMaxHeatmapSide, 0);
    device_ = options.string("device");
    exec_ = options.exec();
    const int64_t outSize = checkedProduct(info.Env(), "the heatmaps", {batch_, options_.outHeight, options_.outWidth});
    const std::string reduce = options.has("reduce") ? options.string("reduce") : "none";
    if (reduce == "max") {
      reduce_ = HeatmapReduce::Max;
    } else if (reduce == "top-k") {
      reduce_ = HeatmapReduce::TopKMean;
      topK_ = options.integer("topK", 1, options_.outHeight * options_.outWidth);
    } else if (reduce != "none") {
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "options.reduce must be 'none', 'max' or 'top-k'");
    }
    scoring_ = reduce != "none";
    if (scoring_) scores_.allocate(info.Env(), static_cast<size_t>(batch_));
    const bool maps = options.boolean("maps", true);
    if (!maps && !scoring_) throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "options.maps: false needs options.reduce");
    if (!maps) {
      // Scores only: the maps stay in native memory, allocated and first touched by Run().
      nativeMaps_ = true;
    } else if (options.has("out")) {
      // A caller-owned output saves allocating a fresh array per call in high-throughput loops.
      callerOut_.bind(info.Env(), options.value("out"), options.path("out"), 0, outSize);
      target_ = callerOut_.data();
    } else {
      // Every value is written by the plan: nothing to clear on the JS thread.
      out_.allocateUnfilled(info.Env(), static_cast<size_t>(outSize));
      target_ = out_.data;
    }
    outSize_ = outSize;
  }

 private:
  void Run() override {
    requireFinite(grids_.data(), batch_ * gh_, gw_, "grids (row = grid * gridHeight + y)");
    HeatmapPlan plan = makeHeatmapPlan(gh_, gw_, options_);
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    std::unique_ptr<float[]> own;
    if (nativeMaps_) {
      own.reset(new float[static_cast<size_t>(std::max<int64_t>(outSize_, 1))]);
      target_ = own.get();
    }
    backend.upsample(plan, grids_.data(), batch_, target_, exec_);
    if (scoring_)
      reduceHeatmaps(target_, batch_, options_.outHeight * options_.outWidth, reduce_, topK_, scores_.data,
                     exec_.threads);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    if (nativeMaps_)
      r.Set("data", env.Null());
    else
      r.Set("data", target_ == out_.data ? out_.value() : callerOut_.publish(env, "upsampleHeatmaps"));
    if (scoring_) r.Set("scores", scores_.value());
    r.Set("backend", Napi::String::New(env, backendName_));
    return r;
  }
  InputArray<float> grids_;
  int64_t batch_, gh_, gw_;
  HeatmapOptions options_;
  std::string device_, backendName_;
  ExecOptions exec_;
  ResultArray<Napi::Float32Array> out_;
  CallerOutput callerOut_;
  float* target_ = nullptr;
  int64_t outSize_ = 0;
  bool nativeMaps_ = false, scoring_ = false;
  HeatmapReduce reduce_ = HeatmapReduce::Max;
  int64_t topK_ = 1;
  ResultArray<Napi::Float64Array> scores_;
};

const ExportRegistration kUpsample("upsample", functionExport<startWorker<UpsampleWorker>>);

}  // namespace
}  // namespace oneclass::addon
