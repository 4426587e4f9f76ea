// Argument conversion for the addon. Every binding takes its data arguments (a point set, a
// matrix, an image) and one options object with named fields; the readers below take what they
// need from them, re-checking only cheap invariants (types, ranges, lengths): full validation
// with friendly messages happens once, in TypeScript (src/validate.ts).
//
// Inputs are copied into native memory here, on the JS thread, before the call is queued: the call
// then owns everything it reads, so a caller that detaches (transfers to a worker) or shrinks an
// input's ArrayBuffer while the call is pending changes nothing. N-API cannot pin a V8 backing
// store, and a copy costs about a memcpy (docs/benchmarks.md).
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

#include "oneclass/backend.h"

namespace oneclass::addon {

constexpr int64_t kMaxIndex = int64_t{1} << 53;  // exact integers in a JS number
constexpr int64_t kAnyLength = -1;

// A JS Error carrying `code` (e.g. "ERR_INVALID_ARGUMENT").
Napi::Error codedError(Napi::Env env, const char* code, const std::string& message);
[[noreturn]] void throwCoded(Napi::Env env, const char* code, const std::string& message);

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
template <>
struct TypedArrayTraits<uint8_t> {
  static constexpr napi_typedarray_type kType = napi_uint8_array;
  static constexpr const char* kName = "Uint8Array";
};

// a * b * ..., or ERR_INVALID_ARGUMENT naming `what` when it exceeds 2^53 (all factors >= 0).
int64_t checkedProduct(Napi::Env env, const std::string& what, std::initializer_list<int64_t> factors);

// A copy of a typed array's elements in native memory (not value-initialized: one pass, the copy).
template <typename T>
class OwnedArray {
 public:
  OwnedArray() = default;
  OwnedArray(const T* data, size_t size) : data_(size ? new T[size] : nullptr), size_(size) {
    if (size) std::memcpy(data_.get(), data, size * sizeof(T));
  }
  const T* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  std::unique_ptr<T[]> data_;
  size_t size_ = 0;
};

// `value`, which must be a T typed array of `expected` elements (kAnyLength: any), copied.
template <typename T>
OwnedArray<T> copyTypedArray(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t expected) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::kType)
    throwCoded(env, "ERR_INVALID_ARGUMENT", name + " must be a " + TypedArrayTraits<T>::kName);
  auto array = value.As<Napi::TypedArrayOf<T>>();
  const size_t length = array.ElementLength();
  if (expected != kAnyLength && static_cast<int64_t>(length) != expected)
    throwCoded(env, "ERR_INVALID_ARGUMENT",
               name + " has " + std::to_string(length) + " elements, expected " + std::to_string(expected));
  return OwnedArray<T>(array.Data(), length);
}

// Named fields of one object argument (the options, or a data argument such as a matrix),
// with error messages that name the field ("options.k must be an integer in [1, 100]").
class ObjectArg {
 public:
  ObjectArg(const Napi::CallbackInfo& info, size_t index, const char* name);

  int64_t integer(const char* key, int64_t min, int64_t max) const;
  int64_t integer(const char* key, int64_t min, int64_t max, int64_t fallback) const;  // when absent
  double number(const char* key) const;
  bool boolean(const char* key) const;
  bool boolean(const char* key, bool fallback) const;  // when absent
  std::string string(const char* key) const;
  bool has(const char* key) const;  // present and neither undefined nor null
  Napi::Value value(const char* key) const { return object_.Get(key); }
  std::string path(const char* key) const { return name_ + "." + key; }
  Napi::Env env() const { return object_.Env(); }

  // A typed array field, copied (see copyTypedArray); optionalArray gives an empty one when absent.
  template <typename T>
  OwnedArray<T> array(const char* key, int64_t expected) const {
    return copyTypedArray<T>(env(), value(key), path(key), expected);
  }
  template <typename T>
  OwnedArray<T> optionalArray(const char* key, int64_t expected) const {
    return has(key) ? array<T>(key, expected) : OwnedArray<T>();
  }

  // options.threads (0 or absent: every hardware thread).
  ExecOptions exec() const;

 private:
  Napi::Object object_;
  std::string name_;
};

// A float32 matrix { data, rows, cols }, copied; rows in [minRows, 2^53], cols in [1, maxCols].
struct MatrixArg {
  OwnedArray<float> data;
  int64_t rows = 0, cols = 0;
};
MatrixArg matrixArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t minRows,
                    int64_t maxCols = kMaxIndex);

// A decoded 8-bit image { data: Uint8Array (height x width x channels), width, height, channels },
// copied.
struct ImageArg {
  OwnedArray<uint8_t> data;
  int64_t width = 0, height = 0, channels = 0;
};
ImageArg imageArg(const Napi::CallbackInfo& info, size_t index, const char* name);

}  // namespace oneclass::addon
