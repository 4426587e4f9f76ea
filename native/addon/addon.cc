// Entry point of the Node addon: registers the exports and nothing else. The typed interface of
// these exports is src/native.ts (Binding).
#include <napi.h>

#include <thread>

#include "convert.h"
#include "oneclass/backend.h"
#include "oneclass/parallel.h"
#include "workers.h"

namespace oneclass::addon {
namespace {

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("threads", defaultThreads());
  cpu.Set("simd", cpuSimd());
  const CudaStatus& s = cudaStatus();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", s.compiled);
  cuda.Set("usable", s.usable);
  if (!s.usable) cuda.Set("reason", s.reason);
  cuda.Set("runtimeVersion", s.runtimeVersion);
  cuda.Set("driverVersion", s.driverVersion);
  Napi::Array devices = Napi::Array::New(env, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    const CudaDeviceInfo& d = s.devices[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("index", d.index);
    o.Set("name", d.name);
    o.Set("computeCapability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor));
    o.Set("multiprocessors", d.multiprocessors);
    o.Set("totalMemory", static_cast<double>(d.totalMemory));
    devices.Set(static_cast<uint32_t>(i), o);
  }
  cuda.Set("devices", devices);
  Napi::Object r = Napi::Object::New(env);
  r.Set("cpu", cpu);
  r.Set("cuda", cuda);
  return r;
}

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function pointSet = PointSetWrap::Define(env);
  data->pointSetConstructor = Napi::Persistent(pointSet);
  env.SetInstanceData(data);
  exports.Set("PointSet", pointSet);
  exports.Set("backendInfo", Napi::Function::New(env, BackendInfo));
  exports.Set("prepare", Napi::Function::New(env, Prepare));
  exports.Set("kernelLogSum", Napi::Function::New(env, KernelLogSum));
  exports.Set("nearest", Napi::Function::New(env, Nearest));
  exports.Set("kernelWeightedSum", Napi::Function::New(env, KernelWeightedSum));
  exports.Set("projectedSquaredNorm", Napi::Function::New(env, ProjectedSquaredNorm));
  exports.Set("kernelRows", Napi::Function::New(env, KernelRows));
  exports.Set("upsample", Napi::Function::New(env, Upsample));
  exports.Set("fitGaussian", Napi::Function::New(env, FitGaussian));
  exports.Set("factorGaussian", Napi::Function::New(env, FactorGaussian));
  exports.Set("columnStats", Napi::Function::New(env, ColumnStats));
  exports.Set("fitOneClassSvm", Napi::Function::New(env, FitOneClassSvm));
  exports.Set("preprocessImage", Napi::Function::New(env, PreprocessImage));
  return exports;
}

}  // namespace oneclass::addon

static Napi::Object InitOneclass(Napi::Env env, Napi::Object exports) { return oneclass::addon::Init(env, exports); }

NODE_API_MODULE(oneclass, InitOneclass)
