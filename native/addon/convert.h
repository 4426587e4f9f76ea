// Argument conversion for the addon. Every binding takes its data arguments (a point set, a
// matrix, an image) and one options object with named fields; the readers below take what they
// need from them, re-checking only cheap invariants (types, ranges, lengths): full validation
// with friendly messages happens once, in TypeScript (src/validate.ts).
//
// Inputs are copied into native memory here, on the JS thread, before the call is queued: the call
// then owns everything it reads, so a caller that detaches (transfers to a worker) or shrinks an
// input's ArrayBuffer while the call is pending changes nothing. N-API cannot pin a V8 backing
// store; the copy costs about a memcpy (docs/benchmarks.md). Arrays over a SharedArrayBuffer,
// which cannot be detached or shrunk, are read in place instead (InputArray).
#pragma once
#include <napi.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>

#include "oneclass/backend.h"
#include "oneclass/scratch.h"
#include "oneclass/transform.h"

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

// Whether a typed array views a SharedArrayBuffer: memory that cannot be detached, transferred or
// shrunk (a growable one only grows, in place), so a call may read or write it in place for as
// long as it holds a reference. (A typed array's buffer is an ArrayBuffer or a SharedArrayBuffer.)
bool viewsSharedMemory(const Napi::TypedArray& array);

// An input array a call reads off the JS thread: its own copy, or, for a SharedArrayBuffer, the
// caller's memory read in place. The copy is native memory no JS object sees (so nothing can
// detach it), from the kept scratch blocks (oneclass/scratch.h) when large: a Node Buffer, or a
// fresh allocation, page-faulted again in each of a process's first calls (20 MB at 10,000 x 512,
// bench/input-copy.mjs). A shared array's reference is released on the JS thread, with the call.
template <typename T>
class InputArray {
 public:
  InputArray() = default;
  explicit InputArray(const Napi::TypedArrayOf<T>& array) : size_(array.ElementLength()) {
    if (viewsSharedMemory(array)) {
      data_ = array.Data();
      ref_ = Napi::Persistent(static_cast<Napi::Object>(array));
    } else if (size_ > 0) {
      copy_ = acquireScratch(size_ * sizeof(T));
      std::memcpy(copy_.get(), array.Data(), size_ * sizeof(T));
      data_ = scratchData<T>(copy_);
    }
  }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
  Napi::ObjectReference ref_;  // the caller's shared array
  Scratch copy_;               // or the copy
};

// `value`, which must be a T typed array of `expected` elements (kAnyLength: any), as an input.
template <typename T>
InputArray<T> inputArray(Napi::Env env, const Napi::Value& value, const std::string& name, int64_t expected) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != TypedArrayTraits<T>::kType)
    throwCoded(env, "ERR_INVALID_ARGUMENT", name + " must be a " + TypedArrayTraits<T>::kName);
  auto array = value.As<Napi::TypedArrayOf<T>>();
  const size_t length = array.ElementLength();
  if (expected != kAnyLength && static_cast<int64_t>(length) != expected)
    throwCoded(env, "ERR_INVALID_ARGUMENT",
               name + " has " + std::to_string(length) + " elements, expected " + std::to_string(expected));
  return InputArray<T>(array);
}

// Named fields of one object argument (the options, or a data argument such as a matrix),
// with error messages that name the field ("options.k must be an integer in [1, 100]").
class ObjectArg {
 public:
  ObjectArg(const Napi::CallbackInfo& info, size_t index, const std::string& name);
  ObjectArg(Napi::Env env, const Napi::Value& value, const std::string& name);

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

  // A typed array field as an input (see inputArray); optionalArray gives an empty one when absent.
  template <typename T>
  InputArray<T> array(const char* key, int64_t expected) const {
    return inputArray<T>(env(), value(key), path(key), expected);
  }
  template <typename T>
  InputArray<T> optionalArray(const char* key, int64_t expected) const {
    return has(key) ? array<T>(key, expected) : InputArray<T>();
  }

  // options.threads (0 or absent: every hardware thread).
  ExecOptions exec() const;

 private:
  Napi::Object object_;
  std::string name_;
};

// The row transform in options { l2normalize, center } (center: `cols` values, absent = none).
RowTransform transformArg(const ObjectArg& options, int64_t cols);

// A float32 matrix { data, rows, cols } as an input; rows in [minRows, 2^53], cols in [1, maxCols].
struct MatrixArg {
  InputArray<float> data;
  int64_t rows = 0, cols = 0;
  // Off the JS thread: InvalidArgument naming `what`, the row and column of a NaN or Infinity.
  void requireFinite(const char* what) const { oneclass::requireFinite(data.data(), rows, cols, what); }
};
MatrixArg matrixArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t minRows,
                    int64_t maxCols = kMaxIndex);

// A decoded 8-bit image { data: Uint8Array (height x width x channels), width, height, channels }
// as an input.
struct ImageArg {
  InputArray<uint8_t> data;
  int64_t width = 0, height = 0, channels = 0;
};
ImageArg imageArg(Napi::Env env, const Napi::Value& value, const std::string& name);

}  // namespace oneclass::addon
