#include "convert.h"

#include <cmath>

namespace oneclass::addon {

Napi::Error codedError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void throwCoded(Napi::Env env, const char* code, const std::string& message) { throw codedError(env, code, message); }

int64_t intArg(const Napi::CallbackInfo& info, size_t index, const char* name, int64_t min, int64_t max) {
  if (index >= info.Length() || !info[index].IsNumber())
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", std::string(name) + " must be an integer");
  double v = info[index].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(v) || v != std::floor(v) || v < static_cast<double>(min) || v > static_cast<double>(max))
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT",
               std::string(name) + " must be an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return static_cast<int64_t>(v);
}

double numberArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsNumber())
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", std::string(name) + " must be a number");
  return info[index].As<Napi::Number>().DoubleValue();
}

std::string stringArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsString())
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", std::string(name) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

bool boolArg(const Napi::CallbackInfo& info, size_t index, const char* name) {
  if (index >= info.Length() || !info[index].IsBoolean())
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", std::string(name) + " must be a boolean");
  return info[index].As<Napi::Boolean>().Value();
}

}  // namespace oneclass::addon
