// How a binding file adds its exports to the module: one ExportRegistration per export, defined
// next to the binding, so a new binding is one new file (plus its line in CMakeLists.txt);
// addon.cc adds every registered export to the module and does nothing else.
#pragma once
#include <napi.h>

#include <vector>

namespace oneclass::addon {

// Per-environment state (Node worker threads each load the addon in their own environment).
struct AddonData {
  Napi::FunctionReference pointSetConstructor;
  Napi::FunctionReference positionalSetConstructor;  // positional_gaussian.cc
};

using ExportFactory = Napi::Value (*)(Napi::Env env);

struct ExportEntry {
  const char* name;
  ExportFactory make;
};

// Every registered export, in registration order.
std::vector<ExportEntry>& registeredExports();

struct ExportRegistration {
  ExportRegistration(const char* name, ExportFactory make) { registeredExports().push_back({name, make}); }
};

// The factory of an export that is a plain function.
template <Napi::Value (*Function)(const Napi::CallbackInfo&)>
Napi::Value functionExport(Napi::Env env) {
  return Napi::Function::New(env, Function);
}

// The factory of an export that is a class (an ObjectWrap with a static Define): its constructor
// is kept in the environment's AddonData (`Slot`), where bindings find it to create instances
// and to recognize them (InstanceOf).
template <typename Wrap, Napi::FunctionReference AddonData::* Slot>
Napi::Value classExport(Napi::Env env) {
  Napi::Function constructor = Wrap::Define(env);
  env.GetInstanceData<AddonData>()->*Slot = Napi::Persistent(constructor);
  return constructor;
}

}  // namespace oneclass::addon
