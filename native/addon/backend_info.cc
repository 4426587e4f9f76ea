// backendInfo(): the CPU level the kernels run at and why, and what the CUDA probe found.
#include <napi.h>

#include <string>

#include "exports.h"
#include "oneclass/backend.h"
#include "oneclass/cpu_dispatch.h"
#include "oneclass/parallel.h"

namespace oneclass::addon {
namespace {

Napi::Value BackendInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("threads", defaultThreads());
  const CpuDispatch& dispatch = cpuDispatch();
  cpu.Set("simd", cpuSimd());
  if (dispatch.error.empty()) {
    cpu.Set("level", dispatch.level);
  } else {
    cpu.Set("level", env.Null());
    cpu.Set("levelError", dispatch.error);
  }
  cpu.Set("levelReason", dispatch.reason);
  Napi::Array levels = Napi::Array::New(env, dispatch.levels.size());
  for (size_t i = 0; i < dispatch.levels.size(); ++i) {
    const CpuLevelStatus& l = dispatch.levels[i];
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", l.name);
    o.Set("isa", l.isa);
    o.Set("simd", l.simd);
    o.Set("supported", l.supported);
    Napi::Array missing = Napi::Array::New(env, l.missing.size());
    for (size_t k = 0; k < l.missing.size(); ++k) missing.Set(static_cast<uint32_t>(k), l.missing[k]);
    o.Set("missing", missing);
    levels.Set(static_cast<uint32_t>(i), o);
  }
  cpu.Set("levels", levels);
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

const ExportRegistration kBackendInfo("backendInfo", functionExport<BackendInfo>);

}  // namespace
}  // namespace oneclass::addon
