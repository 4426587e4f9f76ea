// prepare(points, { device, l2normalize, center?, transformRows? }) -> PointSet.
#include "point_set.h"

#include "convert.h"
#include "exports.h"
#include "oneclass/transform.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

class PrepareWorker final : public PromiseWorker {
 public:
  explicit PrepareWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    points_ = matrixArg(info, 0, "points", 1);
    ObjectArg options(info, 1, "options");
    device_ = options.string("device");
    transform_ = transformArg(options, points_.cols);
    transformRows_ = options.boolean("transformRows", true);
  }

 private:
  void Run() override {
    points_.requireFinite("training data");
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    set_ = backend.prepare(points_.data.data(), points_.rows, points_.cols, transform_, transformRows_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object obj = env.GetInstanceData<AddonData>()->pointSetConstructor.New({});
    PointSetWrap* wrap = PointSetWrap::Unwrap(obj);
    wrap->set = std::move(set_);
    wrap->backend = backendName_;
    return obj;
  }
  MatrixArg points_;
  std::string device_, backendName_;
  RowTransform transform_;
  bool transformRows_ = true;
  std::shared_ptr<PointSet> set_;
};

const ExportRegistration kPointSet("PointSet", classExport<PointSetWrap, &AddonData::pointSetConstructor>);
const ExportRegistration kPrepare("prepare", functionExport<startWorker<PrepareWorker>>);

}  // namespace

Napi::Function PointSetWrap::Define(Napi::Env env) {
  return DefineClass(env, "PointSet",
                     {InstanceAccessor<&PointSetWrap::Rows>("rows"), InstanceAccessor<&PointSetWrap::Cols>("cols"),
                      InstanceAccessor<&PointSetWrap::Backend>("backend")});
}

PointSetWrap::PointSetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PointSetWrap>(info) {}

Napi::Value PointSetWrap::Rows(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), set ? static_cast<double>(set->rows()) : 0);
}
Napi::Value PointSetWrap::Cols(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), set ? static_cast<double>(set->cols()) : 0);
}
Napi::Value PointSetWrap::Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend); }

PointSetWrap& pointSetArg(const Napi::CallbackInfo& info, size_t index) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (index >= info.Length() || !info[index].IsObject() ||
      !info[index].As<Napi::Object>().InstanceOf(data->pointSetConstructor.Value()))
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "expected a prepared point set");
  PointSetWrap& wrap = *PointSetWrap::Unwrap(info[index].As<Napi::Object>());
  if (!wrap.set) throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "point set is empty");
  return wrap;
}

}  // namespace oneclass::addon
