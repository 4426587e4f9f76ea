// Asynchronous work for the addon: every heavy call runs in Execute() on libuv's thread pool
// and settles a Promise. Inputs are typed arrays read in place and kept referenced until the
// worker settles; outputs are typed arrays allocated up front on the JS thread and filled in
// place, so nothing is copied on the way in or out.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "oneclass/backend.h"

namespace oneclass::addon {

class PointSetWrap : public Napi::ObjectWrap<PointSetWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PointSetWrap(const Napi::CallbackInfo& info);
  std::shared_ptr<PointSet> set;
  std::string backend;

 private:
  Napi::Value Rows(const Napi::CallbackInfo& info);
  Napi::Value Cols(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
};

struct AddonData {
  Napi::FunctionReference pointSetConstructor;
};

Napi::Value Prepare(const Napi::CallbackInfo& info);
Napi::Value KernelLogSum(const Napi::CallbackInfo& info);
Napi::Value Nearest(const Napi::CallbackInfo& info);
Napi::Value KernelWeightedSum(const Napi::CallbackInfo& info);
Napi::Value ProjectedSquaredNorm(const Napi::CallbackInfo& info);
Napi::Value KernelRows(const Napi::CallbackInfo& info);
Napi::Value Upsample(const Napi::CallbackInfo& info);
Napi::Value FitGaussian(const Napi::CallbackInfo& info);
Napi::Value FactorGaussian(const Napi::CallbackInfo& info);
Napi::Value ColumnStats(const Napi::CallbackInfo& info);
Napi::Value FitOneClassSvm(const Napi::CallbackInfo& info);
Napi::Value PreprocessImage(const Napi::CallbackInfo& info);

}  // namespace oneclass::addon
