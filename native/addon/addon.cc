// Entry point of the Node addon: adds every export the binding files registered (exports.h) and
// nothing else. The typed interface of these exports is src/native.ts (Binding).
#include <napi.h>

#include "exports.h"

namespace oneclass::addon {

std::vector<ExportEntry>& registeredExports() {
  static std::vector<ExportEntry> entries;
  return entries;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  for (const ExportEntry& e : registeredExports()) exports.Set(e.name, e.make(env));
  return exports;
}

}  // namespace oneclass::addon

static Napi::Object InitOneclass(Napi::Env env, Napi::Object exports) { return oneclass::addon::Init(env, exports); }

NODE_API_MODULE(oneclass, InitOneclass)
