#include "convert.h"

#include <cmath>

namespace oneclass::addon {

Napi::Error codedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void throwCoded(Napi::Env env, const char* code, const std::string& message) { throw codedError(env, code, message); }

bool viewsSharedMemory(const Napi::TypedArray& array) { return !array.ArrayBuffer().IsArrayBuffer(); }

int64_t checkedProduct(Napi::Env env, const std::string& what, std::initializer_list<int64_t> factors) {
  int64_t product = 1;
  for (int64_t f : factors) {
    if (f != 0 && product > kMaxIndex / f)
      throwCoded(env, "ERR_INVALID_ARGUMENT", what + " would hold more than 2^53 values");
    product *= f;
  }
  return product;
}

ObjectArg::ObjectArg(const Napi::CallbackInfo& info, size_t index, const std::string& name)
    : ObjectArg(info.Env(), index < info.Length() ? info[index] : info.Env().Undefined(), name) {}

ObjectArg::ObjectArg(Napi::Env env, const Napi::Value& value, const std::string& name) : name_(name) {
  if (!value.IsObject() || value.IsArray() || value.IsTypedArray())
    throwCoded(env, "ERR_INVALID_ARGUMENT", name_ + " must be an object");
  object_ = value.As<Napi::Object>();
}

bool ObjectArg::has(const char* key) const {
  Napi::Value v = value(key);
  return !v.IsUndefined() && !v.IsNull();
}

int64_t ObjectArg::integer(const char* key, int64_t min, int64_t max) const {
  Napi::Value v = value(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
  if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(min) || d > static_cast<double>(max))
    throwCoded(env(), "ERR_INVALID_ARGUMENT",
               path(key) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int64_t>(d);
}

int64_t ObjectArg::integer(const char* key, int64_t min, int64_t max, int64_t fallback) const {
  return has(key) ? integer(key, min, max) : fallback;
}

double ObjectArg::number(const char* key) const {
  Napi::Value v = value(key);
  if (!v.IsNumber()) throwCoded(env(), "ERR_INVALID_ARGUMENT", path(key) + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool ObjectArg::boolean(const char* key) const {
  Napi::Value v = value(key);
  if (!v.IsBoolean()) throwCoded(env(), "ERR_INVALID_ARGUMENT", path(key) + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

bool ObjectArg::boolean(const char* key, bool fallback) const { return has(key) ? boolean(key) : fallback; }

std::string ObjectArg::string(const char* key) const {
  Napi::Value v = value(key);
  if (!v.IsString()) throwCoded(env(), "ERR_INVALID_ARGUMENT", path(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

ExecOptions ObjectArg::exec() const {
  ExecOptions e;
  e.threads = static_cast<int>(integer("threads", 0, 4096, 0));
  return e;
}

RowTransform transformArg(const ObjectArg& options, int64_t cols) {
  RowTransform t;
  t.l2normalize = options.boolean("l2normalize");
  InputArray<float> center = options.optionalArray<float>("center", cols);
  t.center.assign(center.data(), center.data() + center.size());
  return t;
}

MatrixArg matrixArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t minRows, int64_t maxCols) {
  ObjectArg m(info, index, name);
  MatrixArg r;
  // The shape first: reading `data` last means no JS (a getter) runs between its length check
  // and its copy.
  r.rows = m.integer("rows", minRows, kMaxIndex);
  r.cols = m.integer("cols", 1, maxCols);
  r.data = m.array<float>("data", checkedProduct(info.Env(), name, {r.rows, r.cols}));
  return r;
}

ImageArg imageArg(Napi::Env env, const Napi::Value& value, const std::string& name) {
  ObjectArg m(env, value, name);
  ImageArg r;
  r.width = m.integer("width", 1, 1 << 16);
  r.height = m.integer("height", 1, 1 << 16);
  r.channels = m.integer("channels", 1, 4);
  r.data = m.array<uint8_t>("data", r.width * r.height * r.channels);
  return r;
}

}  // namespace oneclass::addon
