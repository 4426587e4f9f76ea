// Argument conversion for the addon: typed arrays are read in place (never copied), and only the
// cheap invariants are re-checked here; full validation with friendly messages happens in
// TypeScript (src/validate.ts).
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>

namespace oneclass::addon {

// Throws a JS Error carrying `code` (e.g. "ERR_INVALID_ARGUMENT").
[[noreturn]] void throwCoded(Napi::Env env, const char* code, const std::string& message);
Napi::Error codedError(Napi::Env env, const char* code, const std::string& message);

template <typename T>
struct TypedArrayTraits;
template <>
struct TypedArrayTraits<float> {
  static constexpr napi_typedarray_type kType = napi_float32_array;
  static constexpr const char* kName = "Float32Array";
};
template <>
struct TypedArrayTraits<double> {
  static constexpr napi_typedarray_type kType = napi_float64_array;
  static constexpr const char* kName = "Float64Array";
};

// The typed array at info[index] with exactly `expected` elements (expected < 0: any length).
template <typename T>
Napi::TypedArrayOf<T> typedArrayArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t expected) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray() ||
      info[index].As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::kType) {
    throwCoded(env, "ERR_INVALID_ARGUMENT", std::string(name) + " must be a " + TypedArrayTraits<T>::kName);
  }
  auto array = info[index].As<Napi::TypedArrayOf<T>>();
  if (expected >= 0 && static_cast<int64_t>(array.ElementLength()) != expected) {
    throwCoded(env, "ERR_INVALID_ARGUMENT",
               std::string(name) + " has " + std::to_string(array.ElementLength()) + " elements, expected " +
                   std::to_string(expected));
  }
  return array;
}

int64_t intArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max);
double numberArg(const Napi::CallbackInfo& info, size_t index, const char* name);
std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* name);
bool boolArg(const Napi::CallbackInfo& info, size_t index, const char* name);

}  // namespace oneclass::addon
