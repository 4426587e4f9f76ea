// The PointSet class of the addon: a reference set prepared once on a backend (packed for the
// CPU micro-kernels, or uploaded to the GPU) and queried many times (queries.cc).
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "oneclass/backend.h"

namespace oneclass::addon {

class PointSetWrap : public Napi::ObjectWrap<PointSetWrap> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PointSetWrap(const Napi::CallbackInfo& info);
  // Shared with the calls that query it, so a wrapper collected mid-call cannot free it.
  std::shared_ptr<PointSet> set;
  std::string backend;

 private:
  Napi::Value Rows(const Napi::CallbackInfo& info);
  Napi::Value Cols(const Napi::CallbackInfo& info);
  Napi::Value Backend(const Napi::CallbackInfo& info);
};

// The prepared point set at info[index].
PointSetWrap& pointSetArg(const Napi::CallbackInfo& info, size_t index);

}  // namespace oneclass::addon
