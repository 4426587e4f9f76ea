// keptMemory() / releaseKeptMemory(): the memory the native core keeps between calls (the OC-SVM's
// kernel storage, ocsvm/retained_block.h; the large call-private scratch blocks,
// oneclass/scratch.h), and a way to give it back.
#include <napi.h>

#include "../core/ocsvm/retained_block.h"
#include "exports.h"
#include "oneclass/scratch.h"

namespace oneclass::addon {
namespace {

Napi::Object keptBytes(Napi::Env env, size_t kernelStorage, size_t scratch) {
  Napi::Object r = Napi::Object::New(env);
  r.Set("kernelStorage", static_cast<double>(kernelStorage));
  r.Set("scratch", static_cast<double>(scratch));
  return r;
}

Napi::Value KeptMemory(const Napi::CallbackInfo& info) {
  return keptBytes(info.Env(), ocsvm::retainedBytes(), keptScratchBytes());
}

// Frees what is kept now (calls in flight hold their blocks; they are kept again when they end).
// Returns the bytes freed.
Napi::Value ReleaseKeptMemory(const Napi::CallbackInfo& info) {
  const size_t kernelStorage = ocsvm::retainedBytes();
  ocsvm::dropRetainedBlock();
  const size_t scratch = dropScratch();
  return keptBytes(info.Env(), kernelStorage, scratch);
}

const ExportRegistration kKeptMemory("keptMemory", functionExport<KeptMemory>);
const ExportRegistration kReleaseKeptMemory("releaseKeptMemory", functionExport<ReleaseKeptMemory>);

}  // namespace
}  // namespace oneclass::addon
