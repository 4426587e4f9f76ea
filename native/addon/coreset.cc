// The k-center coreset selection (coreset.h):
//   kCenterGreedy(x, { count, projection, seed, start, device, threads?, maxBytes?, control? })
//     -> { indices: Int32Array, coveringRadius, distanceEvaluations, backend }
//   gaussianProjection({ outDim, inDim, seed }) -> Float64Array (outDim x inDim), synchronous
// control is an Int32Array of 2 over a SharedArrayBuffer: JavaScript sets [0] to cancel, the
// selection writes the steps done into [1] (JavaScript polls it for progress). No N-API call
// happens off the JS thread.
#include "oneclass/coreset.h"

#include <limits>
#include <memory>
#include <string>

#include "convert.h"
#include "exports.h"
#include "oneclass/errors.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

// Progress over the caller's shared Int32Array (kept referenced by the worker).
class SharedProgress final : public Progress {
 public:
  explicit SharedProgress(int32_t* control) : control_(control) {}
  void report(int64_t done, int64_t) override {
    __atomic_store_n(control_ + 1, static_cast<int32_t>(done), __ATOMIC_RELAXED);
  }
  bool cancelled() const override { return __atomic_load_n(control_, __ATOMIC_RELAXED) != 0; }

 private:
  int32_t* control_;
};

// A seed is a JS number: an integer in [0, 2^53].
uint64_t seedArg(const ObjectArg& options, const char* key) {
  return static_cast<uint64_t>(options.integer(key, 0, kMaxIndex));
}

class KCenterWorker final : public PromiseWorker {
 public:
  explicit KCenterWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    ObjectArg options(info, 1, "options");
    // The shape first: the memory check comes before the input is copied.
    ObjectArg shape(info, 0, "x");
    const int64_t rows = shape.integer("rows", 1, std::numeric_limits<int32_t>::max() - 1);
    const int64_t cols = shape.integer("cols", 1, 1 << 20);
    options_.count = options.integer("count", 1, rows);
    options_.projection = options.integer("projection", 0, 1 << 16);
    options_.seed = seedArg(options, "seed");
    options_.start = options.integer("start", 0, rows - 1);
    options_.threads = options.exec().threads;
    device_ = options.string("device");
    const int64_t maxBytes = options.integer("maxBytes", 0, kMaxIndex, 0);
    try {
      requireMemory(kCenterWorkingBytes(rows, cols, options_) + rows * cols * 4, maxBytes, "the k-center selection");
    } catch (const Error& e) {
      throwCoded(env, e.codeName(), e.what());
    }
    if (options.has("control")) {
      Napi::Value c = options.value("control");
      if (!c.IsTypedArray() || c.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
          c.As<Napi::Int32Array>().ElementLength() < 2 || !viewsSharedMemory(c.As<Napi::TypedArray>()))
        throwCoded(env, "ERR_INVALID_ARGUMENT", "options.control must be an Int32Array of 2 over a SharedArrayBuffer");
      progress_ = std::make_unique<SharedProgress>(c.As<Napi::Int32Array>().Data());
      Keep(c);
    }
    x_ = matrixArg(info, 0, "x", 1);
    out_.allocate(env, static_cast<size_t>(options_.count));
  }

 private:
  void Run() override {
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    result_ = kCenterGreedy(backend, x_.data.data(), x_.rows, x_.cols, options_, progress_.get());
    for (size_t i = 0; i < result_.indices.size(); ++i) out_.data[i] = static_cast<int32_t>(result_.indices[i]);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("indices", out_.value());
    r.Set("coveringRadius", result_.coveringRadius);
    r.Set("distanceEvaluations", static_cast<double>(result_.distanceEvaluations));
    r.Set("backend", backendName_);
    return r;
  }
  MatrixArg x_;
  KCenterOptions options_;
  std::string device_, backendName_;
  std::unique_ptr<SharedProgress> progress_;
  KCenterResult result_;
  ResultArray<Napi::Int32Array> out_;
};

Napi::Value GaussianProjection(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ObjectArg options(info, 0, "options");
  const int64_t outDim = options.integer("outDim", 1, 1 << 16), inDim = options.integer("inDim", 1, 1 << 20);
  checkedProduct(env, "the projection", {outDim, inDim, 2});
  const std::vector<double> r = gaussianProjection(outDim, inDim, seedArg(options, "seed"));
  auto out = Napi::Float64Array::New(env, r.size());
  std::copy(r.begin(), r.end(), out.Data());
  return out;
}

const ExportRegistration kKCenterGreedy("kCenterGreedy", functionExport<startWorker<KCenterWorker>>);
const ExportRegistration kGaussianProjection("gaussianProjection", functionExport<GaussianProjection>);

}  // namespace
}  // namespace oneclass::addon
