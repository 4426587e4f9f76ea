// backendInfo(): the CPU level the kernels run at and why, and what the CUDA probe found.
#include <napi.h>

#include <string>
#include <vector>

#include "exports.h"
#include "oneclass/backend.h"
#include "oneclass/cpu_dispatch.h"
#include "oneclass/parallel.h"

namespace oneclass::addon {
namespace {

// A JS array of convert(item) for each item.
template <typename T, typename Convert>
Napi::Array arrayOf(Napi::Env env, const std::vector<T>& items, Convert convert) {
  Napi::Array out = Napi::Array::New(env, items.size());
  for (size_t i = 0; i < items.size(); ++i) out.Set(static_cast<uint32_t>(i), convert(items[i]));
  return out;
}

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
  cpu.Set("levels", arrayOf(env, dispatch.levels, [&](const CpuLevelStatus& l) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("name", l.name);
            o.Set("isa", l.isa);
            o.Set("simd", l.simd);
            o.Set("supported", l.supported);
            o.Set("missing", arrayOf(env, l.missing, [&](const std::string& m) { return Napi::String::New(env, m); }));
            return o;
          }));
  const CudaStatus& s = cudaStatus();
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("compiled", s.compiled);
  cuda.Set("usable", s.usable);
  if (!s.usable) cuda.Set("reason", s.reason);
  cuda.Set("runtimeVersion", s.runtimeVersion);
  cuda.Set("driverVersion", s.driverVersion);
  cuda.Set("devices", arrayOf(env, s.devices, [&](const CudaDeviceInfo& d) {
             Napi::Object o = Napi::Object::New(env);
             o.Set("index", d.index);
             o.Set("name", d.name);
             o.Set("computeCapability", std::to_string(d.computeMajor) + "." + std::to_string(d.computeMinor));
             o.Set("multiprocessors", d.multiprocessors);
             o.Set("totalMemory", static_cast<double>(d.totalMemory));
             return o;
           }));
  Napi::Object r = Napi::Object::New(env);
  r.Set("cpu", cpu);
  r.Set("cuda", cuda);
  return r;
}

const ExportRegistration kBackendInfo("backendInfo", functionExport<BackendInfo>);

}  // namespace
}  // namespace oneclass::addon
