// The per-position Gaussian (positional_gaussian.h), over features { data, images, positions, dim }
// (images x positions x dim float32):
//   fitPositionalGaussian(features, { regularization, device, threads?, maxBytes? })
//     -> { set, mean, covariance, logDet, backend }
//   preparePositionalGaussian(mean, covariance, { positions, dim, device, threads?, maxBytes? })
//     -> { set, logDet, backend }           (a restored model)
//   scorePositionalGaussian(set, features, { threads? }) -> Float64Array (images x positions)
// `set` is a PositionalGaussianSet: the factors prepared on the backend. Memory (positions x dim x
// dim) is checked against maxBytes before anything is allocated.
#include "oneclass/positional_gaussian.h"

#include <memory>
#include <string>

#include "convert.h"
#include "exports.h"
#include "oneclass/errors.h"
#include "oneclass/parallel.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

class PositionalSetWrap : public Napi::ObjectWrap<PositionalSetWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "PositionalGaussianSet",
        {InstanceAccessor<&PositionalSetWrap::Positions>("positions"), InstanceAccessor<&PositionalSetWrap::Dim>("dim"),
         InstanceAccessor<&PositionalSetWrap::Backend>("backend")});
  }
  explicit PositionalSetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PositionalSetWrap>(info) {}
  // Shared with the calls that score with it, so a wrapper collected mid-call cannot free it.
  std::shared_ptr<PositionalSet> set;
  std::string backend;

 private:
  Napi::Value Positions(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), set ? static_cast<double>(set->positions()) : 0);
  }
  Napi::Value Dim(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), set ? static_cast<double>(set->dim()) : 0);
  }
  Napi::Value Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend); }
};

Napi::Object wrapSet(Napi::Env env, std::shared_ptr<PositionalSet> set, const std::string& backend) {
  Napi::Object obj = env.GetInstanceData<AddonData>()->positionalSetConstructor.New({});
  PositionalSetWrap* wrap = PositionalSetWrap::Unwrap(obj);
  wrap->set = std::move(set);
  wrap->backend = backend;
  return obj;
}

// Features { data, images, positions, dim } as an input.
struct FeaturesArg {
  InputArray<float> data;
  int64_t images = 0, positions = 0, dim = 0;
};

FeaturesArg featuresArg(const Napi::CallbackInfo& info, size_t index, int64_t minImages) {
  ObjectArg f(info, index, "features");
  FeaturesArg r;
  r.images = f.integer("images", minImages, kMaxIndex);
  r.positions = f.integer("positions", 1, 1 << 24);
  r.dim = f.integer("dim", 1, 1 << 14);
  r.data = f.array<float>("data", checkedProduct(info.Env(), "features", {r.images, r.positions, r.dim}));
  return r;
}

// `input`: the bytes of the call's own copy of its input, on top of the statistics.
void checkMemory(Napi::Env env, const ObjectArg& options, int64_t positions, int64_t dim, int threads, int64_t input) {
  const int64_t maxBytes = options.integer("maxBytes", 0, kMaxIndex, 0);
  try {
    requireMemory(positionalGaussianBytes(positions, dim, resolveThreads(threads)) + input, maxBytes,
                  "per-position statistics of " + std::to_string(positions) + " positions x " + std::to_string(dim) +
                      " dimensions");
  } catch (const Error& e) {
    throwCoded(env, e.codeName(), e.what());
  }
}

class FitWorker final : public PromiseWorker {
 public:
  explicit FitWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    ObjectArg options(info, 1, "options");
    options_.regularization = options.number("regularization");
    options_.threads = options.exec().threads;
    device_ = options.string("device");
    // The shape, then the memory check, then the copies and the result arrays.
    ObjectArg shape(info, 0, "features");
    const int64_t images = shape.integer("images", 2, kMaxIndex);
    const int64_t positions = shape.integer("positions", 1, 1 << 24), dim = shape.integer("dim", 1, 1 << 14);
    checkMemory(env, options, positions, dim, options_.threads,
                checkedProduct(env, "features", {images, positions, dim, 4}));
    x_ = featuresArg(info, 0, 2);
    mean_.allocate(env, static_cast<size_t>(positions * dim));
    covariance_.allocate(env, static_cast<size_t>(checkedProduct(env, "the covariances", {positions, dim, dim})));
    logDet_.allocate(env, static_cast<size_t>(positions));
  }

 private:
  void Run() override {
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    set_ = fitPositionalGaussian(backend, x_.data.data(), x_.images, x_.positions, x_.dim, options_, mean_.data,
                                 covariance_.data, logDet_.data);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("set", wrapSet(env, std::move(set_), backendName_));
    r.Set("mean", mean_.value());
    r.Set("covariance", covariance_.value());
    r.Set("logDet", logDet_.value());
    r.Set("backend", backendName_);
    return r;
  }
  FeaturesArg x_;
  PositionalGaussianOptions options_;
  std::string device_, backendName_;
  std::shared_ptr<PositionalSet> set_;
  ResultArray<Napi::Float64Array> mean_, covariance_, logDet_;
};

class PrepareWorker final : public PromiseWorker {
 public:
  explicit PrepareWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    ObjectArg options(info, 2, "options");
    positions_ = options.integer("positions", 1, 1 << 24);
    dim_ = options.integer("dim", 1, 1 << 14);
    threads_ = options.exec().threads;
    device_ = options.string("device");
    checkMemory(env, options, positions_, dim_, threads_, positions_ * dim_ * (dim_ + 1) * 8);
    mean_ = inputArray<double>(env, info[0], "mean", positions_ * dim_);
    covariance_ = inputArray<double>(env, info[1], "covariance", positions_ * dim_ * dim_);
    logDet_.allocate(env, static_cast<size_t>(positions_));
  }

 private:
  void Run() override {
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    set_ =
        preparePositionalGaussian(backend, mean_.data(), covariance_.data(), positions_, dim_, threads_, logDet_.data);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("set", wrapSet(env, std::move(set_), backendName_));
    r.Set("logDet", logDet_.value());
    r.Set("backend", backendName_);
    return r;
  }
  int64_t positions_, dim_;
  int threads_;
  std::string device_, backendName_;
  InputArray<double> mean_, covariance_;
  std::shared_ptr<PositionalSet> set_;
  ResultArray<Napi::Float64Array> logDet_;
};

class ScoreWorker final : public PromiseWorker {
 public:
  explicit ScoreWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    auto* data = env.GetInstanceData<AddonData>();
    if (info.Length() < 1 || !info[0].IsObject() ||
        !info[0].As<Napi::Object>().InstanceOf(data->positionalSetConstructor.Value()))
      throwCoded(env, "ERR_INVALID_ARGUMENT", "expected a PositionalGaussianSet");
    PositionalSetWrap* wrap = PositionalSetWrap::Unwrap(info[0].As<Napi::Object>());
    if (!wrap->set) throwCoded(env, "ERR_INVALID_ARGUMENT", "the PositionalGaussianSet is empty");
    set_ = wrap->set;
    backend_ = &selectBackend(wrap->backend);
    x_ = featuresArg(info, 1, 0);
    if (x_.positions != set_->positions() || x_.dim != set_->dim())
      throwCoded(env, "ERR_INVALID_ARGUMENT",
                 "features have " + std::to_string(x_.positions) + " positions x " + std::to_string(x_.dim) +
                     " dimensions, the statistics " + std::to_string(set_->positions()) + " x " +
                     std::to_string(set_->dim()));
    exec_ = ObjectArg(info, 2, "options").exec();
    out_.allocate(env, static_cast<size_t>(x_.images * x_.positions));
  }

 private:
  void Run() override { scorePositionalGaussian(*backend_, *set_, x_.data.data(), x_.images, out_.data, exec_); }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  std::shared_ptr<PositionalSet> set_;
  Backend* backend_;
  FeaturesArg x_;
  ExecOptions exec_;
  ResultArray<Napi::Float64Array> out_;
};

const ExportRegistration kSet("PositionalGaussianSet",
                              classExport<PositionalSetWrap, &AddonData::positionalSetConstructor>);
const ExportRegistration kFit("fitPositionalGaussian", functionExport<startWorker<FitWorker>>);
const ExportRegistration kPrepare("preparePositionalGaussian", functionExport<startWorker<PrepareWorker>>);
const ExportRegistration kScore("scorePositionalGaussian", functionExport<startWorker<ScoreWorker>>);

}  // namespace
}  // namespace oneclass::addon
