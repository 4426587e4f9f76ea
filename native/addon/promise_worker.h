// The async-call machinery of the addon: every heavy call runs in Execute() on libuv's thread
// pool and settles a Promise, so the event loop keeps turning.
//
// Ownership while a call is pending (a caller may transfer or shrink any ArrayBuffer it passed):
//  - inputs are copied into native memory before the call is queued (convert.h);
//  - results are typed arrays allocated on the JS thread up front (ResultArray): nothing else
//    references them until the call settles, so they cannot be detached meanwhile;
//  - a caller-owned output array (CallerOutput) is filled from native memory on the JS thread
//    when the call settles, after checking that it still holds the values: a caller that
//    detached or shrank it gets a coded error, never a write through a dangling pointer. Over a
//    SharedArrayBuffer (which cannot be detached or shrunk) it is written in place instead.
#pragma once
#include <napi.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "convert.h"

namespace oneclass::addon {

// Base class: Run() does the work off the JS thread (no N-API calls there); Result() builds the
// value on the JS thread and may throw a coded Napi::Error, which rejects the Promise.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env);
  Napi::Promise Queue();

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;
  // Keeps a JS object alive until the call settles.
  void Keep(const Napi::Value& v) { kept_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 private:
  void Execute() final;
  void OnOK() final;
  void OnError(const Napi::Error& e) final;

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
  std::string code_ = "ERR_INTERNAL";
};

// A result typed array allocated on the JS thread and filled in place by Run() through `data`.
// allocate() gives zeroed memory; allocateUnfilled() memory that is neither cleared nor touched
// on the JS thread (a Node Buffer's, as Buffer.allocUnsafe, still an ordinary transferable
// ArrayBuffer), for results whose Run() writes every element: a large zeroed result costs the
// JS thread a memset or its page faults, tens of ms per batch of full-size heatmaps.
template <typename TypedArray>
struct ResultArray {
  decltype(TypedArray().Data()) data = nullptr;
  Napi::ObjectReference ref;
  void allocate(Napi::Env env, size_t count) {
    TypedArray array = TypedArray::New(env, count);
    data = array.Data();
    ref = Napi::Persistent(static_cast<Napi::Object>(array));
  }
  void allocateUnfilled(Napi::Env env, size_t count) {
    using Element = std::remove_pointer_t<decltype(data)>;
    auto bytes = Napi::Buffer<uint8_t>::New(env, count * sizeof(Element));
    TypedArray array = TypedArray::New(env, count, bytes.ArrayBuffer(), bytes.ByteOffset());
    data = array.Data();
    ref = Napi::Persistent(static_cast<Napi::Object>(array));
  }
  Napi::Value value() const { return ref.Value(); }
};

// A float32 array the caller passed to be written: `count` values at `offset`. Run() writes into
// data(); publish() copies them into the caller's array when the call settles (or, for shared
// memory, finds them already there).
class CallerOutput {
 public:
  // Checks now that `out` can hold the values; allocates the native staging memory unless `out`
  // views a SharedArrayBuffer.
  void bind(Napi::Env env, const Napi::Value& out, const std::string& name, int64_t offset, int64_t count);
  float* data() { return target_; }
  // On the JS thread: copies into the caller's array, or throws ERR_INVALID_ARGUMENT when it no
  // longer holds offset + count values (detached, transferred or shrunk during the call).
  Napi::Value publish(Napi::Env env, const char* call);

 private:
  Napi::ObjectReference ref_;
  std::string name_;
  int64_t offset_ = 0, count_ = 0;
  // Native and not value-initialized: its pages are first touched by Run(), off the JS thread.
  std::unique_ptr<float[]> staging_;  // unless `out` is shared memory
  float* target_ = nullptr;           // staging_, or the shared memory itself
  bool inPlace_ = false;
};

// Starts a worker for a binding: the constructor reads and copies the arguments (throwing coded
// errors on the JS thread), then the worker is queued and its Promise returned.
Napi::Value rethrowCoded(Napi::Env env);  // inside a catch block: the current exception as a coded JS error
template <typename Worker>
Napi::Value startWorker(const Napi::CallbackInfo& info) {
  try {
    auto* worker = new Worker(info);  // deletes itself once settled
    return worker->Queue();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    return rethrowCoded(info.Env());
  }
}

}  // namespace oneclass::addon
