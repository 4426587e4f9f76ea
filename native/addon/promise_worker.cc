#include "promise_worker.h"

#include <cstring>
#include <new>

#include "oneclass/errors.h"
#include "oneclass/thread_priority.h"

namespace oneclass::addon {

PromiseWorker::PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}

Napi::Promise PromiseWorker::Queue() {
  Napi::Promise p = deferred_.Promise();
  Napi::AsyncWorker::Queue();
  return p;
}

void PromiseWorker::Execute() {
  // Background priority for this libuv worker (and the threads it starts): the JS thread wins
  // a contended core (thread_priority.h).
  backgroundPriority();
  try {
    Run();
  } catch (const Error& e) {
    code_ = e.codeName();
    SetError(e.what());
  } catch (const std::bad_alloc&) {
    code_ = "ERR_OUT_OF_MEMORY";
    SetError("out of memory while computing the result");
  } catch (const std::exception& e) {
    code_ = "ERR_INTERNAL";
    SetError(e.what());
  }
}

void PromiseWorker::OnOK() {
  Napi::HandleScope scope(Env());
  Napi::Value result;
  try {
    result = Result(Env());
  } catch (const Napi::Error& e) {
    deferred_.Reject(e.Value());
    return;
  }
  deferred_.Resolve(result);
}

void PromiseWorker::OnError(const Napi::Error& e) {
  Napi::HandleScope scope(Env());
  Napi::Object error = e.Value();
  error.Set("code", Napi::String::New(Env(), code_));
  deferred_.Reject(error);
}

void CallerOutput::bind(Napi::Env env, const Napi::Value& out, const std::string& name, int64_t offset, int64_t count) {
  if (!out.IsTypedArray() || out.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throwCoded(env, "ERR_INVALID_ARGUMENT", name + " must be a Float32Array");
  const int64_t length = static_cast<int64_t>(out.As<Napi::Float32Array>().ElementLength());
  if (offset < 0 || count < 0 || offset + count > length)
    throwCoded(env, "ERR_INVALID_ARGUMENT",
               name + " holds " + std::to_string(length) + " values; " + std::to_string(offset + count) +
                   " are needed (" + std::to_string(count) + " at offset " + std::to_string(offset) + ")");
  ref_ = Napi::Persistent(out.As<Napi::Object>());
  name_ = name;
  offset_ = offset;
  count_ = count;
  auto array = out.As<Napi::Float32Array>();
  if (viewsSharedMemory(array)) {
    inPlace_ = true;
    target_ = array.Data() + offset;
  } else {
    staging_.reset(new float[static_cast<size_t>(count)]);
    target_ = staging_.get();
  }
}

Napi::Value CallerOutput::publish(Napi::Env env, const char* call) {
  auto out = ref_.Value().As<Napi::Float32Array>();
  if (inPlace_) return out;  // shared memory, written in place
  const int64_t length = static_cast<int64_t>(out.ElementLength());
  if (offset_ + count_ > length || (count_ > 0 && out.Data() == nullptr))
    throwCoded(env, "ERR_INVALID_ARGUMENT",
               name_ + " was detached or shrunk while " + call + " ran (it holds " + std::to_string(length) +
                   " values, " + std::to_string(offset_ + count_) + " are needed); nothing was written to it");
  std::memcpy(out.Data() + offset_, staging_.get(), static_cast<size_t>(count_) * sizeof(float));
  return out;
}

Napi::Value rethrowCoded(Napi::Env env) {
  try {
    throw;
  } catch (const Error& e) {
    throwCoded(env, e.codeName(), e.what());
  } catch (const std::bad_alloc&) {
    throwCoded(env, "ERR_OUT_OF_MEMORY", "out of memory while copying the arguments");
  } catch (const std::exception& e) {
    throwCoded(env, "ERR_INTERNAL", e.what());
  }
}

}  // namespace oneclass::addon
