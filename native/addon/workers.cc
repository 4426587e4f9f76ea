#include "workers.h"

#include <new>

#include "convert.h"
#include "oneclass/errors.h"
#include "oneclass/heatmap.h"
#include "oneclass/image_preprocess.h"
#include "oneclass/linalg.h"
#include "oneclass/ocsvm_fit.h"
#include "oneclass/parallel.h"
#include "oneclass/transform.h"

namespace oneclass::addon {
namespace {

constexpr int64_t kMaxIndex = (int64_t{1} << 53);  // exact integers in a JS number

// Base class: Run() does the work off the JS thread; Result() builds the value on it.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env) : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Queue() {
    Napi::Promise p = deferred_.Promise();
    Napi::AsyncWorker::Queue();
    return p;
  }

 protected:
  virtual void Run() = 0;
  virtual Napi::Value Result(Napi::Env env) = 0;

  // Keeps a JS object (an input or output typed array, a point set) alive until settled.
  void Keep(const Napi::Value& v) { kept_.push_back(Napi::Persistent(v.As<Napi::Object>())); }

 private:
  void Execute() final {
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
  void OnOK() final {
    Napi::HandleScope scope(Env());
    deferred_.Resolve(Result(Env()));
  }
  void OnError(const Napi::Error& e) final {
    Napi::HandleScope scope(Env());
    Napi::Object error = e.Value();
    error.Set("code", Napi::String::New(Env(), code_));
    deferred_.Reject(error);
  }

  Napi::Promise::Deferred deferred_;
  std::vector<Napi::ObjectReference> kept_;
  std::string code_ = "ERR_INTERNAL";
};

PointSetWrap& pointSetArg(const Napi::CallbackInfo& info, size_t index) {
  auto* data = info.Env().GetInstanceData<AddonData>();
  if (index >= info.Length() || !info[index].IsObject() ||
      !info[index].As<Napi::Object>().InstanceOf(data->pointSetConstructor.Value()))
    throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "expected a prepared point set");
  return *PointSetWrap::Unwrap(info[index].As<Napi::Object>());
}

ExecOptions execArg(const Napi::CallbackInfo& info, size_t index) {
  ExecOptions e;
  e.threads = static_cast<int>(intArg(info, index, "threads", 0, 4096));
  return e;
}

// ---- prepare ----------------------------------------------------------------------------------
class PrepareWorker final : public PromiseWorker {
 public:
  explicit PrepareWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    rows_ = intArg(info, 1, "rows", 1, kMaxIndex);
    cols_ = intArg(info, 2, "cols", 1, kMaxIndex);
    data_ = typedArrayArg<float>(info, 0, "data", rows_ * cols_);
    device_ = stringArg(info, 3, "device");
    transform_.l2normalize = boolArg(info, 4, "l2normalize");
    if (info.Length() > 5 && !info[5].IsNull() && !info[5].IsUndefined()) {
      auto center = typedArrayArg<float>(info, 5, "center", cols_);
      transform_.center.assign(center.Data(), center.Data() + cols_);
    }
    transformRows_ = info.Length() > 6 ? boolArg(info, 6, "transformRows") : true;
    Keep(info[0]);
  }

 private:
  void Run() override {
    requireFinite(data_.Data(), rows_, cols_, "training data");
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    set_ = backend.prepare(data_.Data(), rows_, cols_, transform_, transformRows_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object obj = env.GetInstanceData<AddonData>()->pointSetConstructor.New({});
    PointSetWrap* wrap = PointSetWrap::Unwrap(obj);
    wrap->set = std::move(set_);
    wrap->backend = backendName_;
    return obj;
  }
  Napi::Float32Array data_;
  int64_t rows_, cols_;
  std::string device_, backendName_;
  RowTransform transform_;
  bool transformRows_ = true;
  std::shared_ptr<PointSet> set_;
};

// ---- queries against a point set ---------------------------------------------------------------
// info: (pointSet, queries Float32Array, n, ...). Holds the point set's shared state so a
// garbage-collected wrapper cannot free it mid-call.
class QueryWorker : public PromiseWorker {
 protected:
  QueryWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    PointSetWrap& wrap = pointSetArg(info, 0);
    set_ = wrap.set;
    if (!set_) throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "point set is empty");
    backend_ = &selectBackend(wrap.backend);
    n_ = intArg(info, 2, "n", 0, kMaxIndex);
    x_ = typedArrayArg<float>(info, 1, "queries", n_ * set_->cols());
    Keep(info[0]);
    Keep(info[1]);
  }
  void checkQueries() const { requireFinite(x_.Data(), n_, set_->cols(), "query data"); }
  std::shared_ptr<PointSet> set_;
  Backend* backend_;
  Napi::Float32Array x_;
  int64_t n_;
};

// A result typed array allocated on the JS thread and filled in place by the worker. The
// reference keeps it alive; the raw pointer is what Run() writes through.
template <typename TypedArray>
struct ResultArray {
  decltype(TypedArray().Data()) data = nullptr;
  Napi::ObjectReference ref;
  void allocate(Napi::Env env, size_t count) { adopt(TypedArray::New(env, count)); }
  void adopt(TypedArray array) {
    data = array.Data();
    ref = Napi::Persistent(static_cast<Napi::Object>(array));
  }
  Napi::Value value() const { return ref.Value(); }
};

// Kernel sums over the point set: log sum_j w_j K (weights optional) or, in float64 throughout,
// sum_j w_j K (weights required). info: (set, queries, n, gamma, weights | null, threads).
template <bool kLogSum>
class KernelSumWorker final : public QueryWorker {
 public:
  explicit KernelSumWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    gamma_ = numberArg(info, 3, "gamma");
    if (!kLogSum || (!info[4].IsNull() && !info[4].IsUndefined())) {
      weights_ = typedArrayArg<double>(info, 4, "weights", set_->rows());
      Keep(info[4]);
    }
    exec_ = execArg(info, 5);
    out_.allocate(info.Env(), static_cast<size_t>(n_));
  }

 private:
  void Run() override {
    checkQueries();
    const double* w = weights_.IsEmpty() ? nullptr : weights_.Data();
    if (kLogSum) {
      backend_->kernelLogSum(*set_, x_.Data(), n_, gamma_, w, out_.data, exec_);
    } else {
      backend_->kernelWeightedSum(*set_, x_.Data(), n_, gamma_, w, out_.data, exec_);
    }
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  double gamma_;
  Napi::Float64Array weights_;
  ResultArray<Napi::Float64Array> out_;
  ExecOptions exec_;
};

class NearestWorker final : public QueryWorker {
 public:
  explicit NearestWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    k_ = static_cast<int>(intArg(info, 3, "k", 1, std::min<int64_t>(set_->rows(), 1 << 20)));
    exec_ = execArg(info, 4);
    dist_.allocate(info.Env(), static_cast<size_t>(n_ * k_));
    index_.allocate(info.Env(), static_cast<size_t>(n_ * k_));
  }

 private:
  void Run() override {
    checkQueries();
    std::vector<int64_t> idx(static_cast<size_t>(n_ * k_));
    backend_->nearest(*set_, x_.Data(), n_, k_, dist_.data, idx.data(), exec_);
    for (size_t i = 0; i < idx.size(); ++i) index_.data[i] = static_cast<int32_t>(idx[i]);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("distances", dist_.value());
    r.Set("indices", index_.value());
    return r;
  }
  int k_;
  ExecOptions exec_;
  ResultArray<Napi::Float64Array> dist_;
  ResultArray<Napi::Int32Array> index_;
};

class ProjectedNormWorker final : public QueryWorker {
 public:
  explicit ProjectedNormWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    exec_ = execArg(info, 3);
    out_.allocate(info.Env(), static_cast<size_t>(n_));
  }

 private:
  void Run() override {
    checkQueries();
    backend_->projectedSquaredNorm(*set_, x_.Data(), n_, out_.data, exec_);
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  ExecOptions exec_;
  ResultArray<Napi::Float64Array> out_;
};

class KernelRowsWorker final : public QueryWorker {
 public:
  explicit KernelRowsWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    gamma_ = numberArg(info, 3, "gamma");
    exec_ = execArg(info, 4);
    out_.allocate(info.Env(), static_cast<size_t>(n_ * set_->rows()));
  }

 private:
  void Run() override {
    checkQueries();
    backend_->kernelRows(*set_, x_.Data(), n_, gamma_, out_.data, exec_);
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  double gamma_;
  ExecOptions exec_;
  ResultArray<Napi::Float32Array> out_;
};

// ---- heatmaps ---------------------------------------------------------------------------------
class UpsampleWorker final : public PromiseWorker {
 public:
  explicit UpsampleWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    batch_ = intArg(info, 1, "batch", 0, kMaxIndex);
    gh_ = intArg(info, 2, "gridHeight", 1, 1 << 20);
    gw_ = intArg(info, 3, "gridWidth", 1, 1 << 20);
    grids_ = typedArrayArg<float>(info, 0, "grids", batch_ * gh_ * gw_);
    const std::string mode = stringArg(info, 4, "mode");
    if (mode == "bilinear") {
      options_.mode = HeatmapMode::Bilinear;
    } else if (mode == "receptive-field") {
      options_.mode = HeatmapMode::ReceptiveField;
    } else {
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "mode must be 'bilinear' or 'receptive-field'");
    }
    options_.outHeight = intArg(info, 5, "height", 1, 16384);
    options_.outWidth = intArg(info, 6, "width", 1, 16384);
    options_.sigma = numberArg(info, 7, "sigma");
    options_.patchSize = intArg(info, 8, "patchSize", 0, 1 << 20);
    options_.stride = intArg(info, 9, "stride", 0, 1 << 20);
    device_ = stringArg(info, 10, "device");
    exec_ = execArg(info, 11);
    const int64_t outSize = batch_ * options_.outHeight * options_.outWidth;
    // An optional caller-owned output (info[12]) saves allocating and page-faulting a fresh
    // array per call in high-throughput loops.
    if (info.Length() > 12 && info[12].IsTypedArray()) {
      out_.adopt(typedArrayArg<float>(info, 12, "out", outSize));
    } else {
      out_.allocate(info.Env(), static_cast<size_t>(outSize));
    }
    Keep(info[0]);
  }

 private:
  void Run() override {
    requireFinite(grids_.Data(), batch_ * gh_, gw_, "grids (row = grid * gridHeight + y)");
    HeatmapPlan plan = makeHeatmapPlan(gh_, gw_, options_);
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    backend.upsample(plan, grids_.Data(), batch_, out_.data, exec_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("data", out_.value());
    r.Set("backend", Napi::String::New(env, backendName_));
    return r;
  }
  Napi::Float32Array grids_;
  ResultArray<Napi::Float32Array> out_;
  int64_t batch_, gh_, gw_;
  HeatmapOptions options_;
  std::string device_, backendName_;
  ExecOptions exec_;
};

// ---- Gaussian density -------------------------------------------------------------------------
Napi::Object gaussianResult(Napi::Env env, const GaussianFit& fit) {
  auto copy = [&](const std::vector<double>& v) {
    auto a = Napi::Float64Array::New(env, v.size());
    std::copy(v.begin(), v.end(), a.Data());
    return a;
  };
  Napi::Object r = Napi::Object::New(env);
  r.Set("mean", copy(fit.mean));
  r.Set("covariance", copy(fit.covariance));
  r.Set("choleskyInverse", copy(fit.choleskyInverse));
  r.Set("shrinkage", fit.shrinkage);
  r.Set("logDet", fit.logDet);
  return r;
}

class FitGaussianWorker final : public PromiseWorker {
 public:
  explicit FitGaussianWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    n_ = intArg(info, 1, "rows", 1, kMaxIndex);
    d_ = intArg(info, 2, "cols", 1, 1 << 16);
    x_ = typedArrayArg<float>(info, 0, "data", n_ * d_);
    const std::string kind = stringArg(info, 3, "shrinkage kind");
    kind_ = kind == "ledoit-wolf" ? ShrinkageKind::LedoitWolf : kind == "fixed" ? ShrinkageKind::Fixed : ShrinkageKind::None;
    shrinkage_ = numberArg(info, 4, "shrinkage");
    reg_ = numberArg(info, 5, "regCovar");
    exec_ = execArg(info, 6);
    l2normalize_ = boolArg(info, 7, "l2normalize");
    Keep(info[0]);
  }

 private:
  void Run() override {
    requireFinite(x_.Data(), n_, d_, "training data");
    const float* x = x_.Data();
    std::vector<float> normalized;
    if (l2normalize_) {
      normalized.resize(static_cast<size_t>(n_ * d_));
      RowTransform t;
      t.l2normalize = true;
      applyTransform(t, x, n_, d_, normalized.data(), nullptr, resolveThreads(exec_.threads));
      x = normalized.data();
    }
    fit_ = fitGaussian(x, n_, d_, kind_, shrinkage_, reg_, resolveThreads(exec_.threads));
  }
  Napi::Value Result(Napi::Env env) override { return gaussianResult(env, fit_); }
  Napi::Float32Array x_;
  int64_t n_, d_;
  ShrinkageKind kind_;
  double shrinkage_, reg_;
  ExecOptions exec_;
  bool l2normalize_ = false;
  GaussianFit fit_;
};

class FactorGaussianWorker final : public PromiseWorker {
 public:
  explicit FactorGaussianWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    d_ = intArg(info, 2, "dim", 1, 1 << 16);
    auto mean = typedArrayArg<double>(info, 0, "mean", d_);
    auto cov = typedArrayArg<double>(info, 1, "covariance", d_ * d_);
    fit_.dim = d_;
    fit_.mean.assign(mean.Data(), mean.Data() + d_);
    fit_.covariance.assign(cov.Data(), cov.Data() + d_ * d_);
    fit_.shrinkage = numberArg(info, 3, "shrinkage");
  }

 private:
  void Run() override { factorGaussian(fit_); }
  Napi::Value Result(Napi::Env env) override { return gaussianResult(env, fit_); }
  int64_t d_;
  GaussianFit fit_;
};

// ---- statistics of a (transformed) training matrix ------------------------------------------
class ColumnStatsWorker final : public PromiseWorker {
 public:
  explicit ColumnStatsWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    n_ = intArg(info, 1, "rows", 1, kMaxIndex);
    d_ = intArg(info, 2, "cols", 1, kMaxIndex);
    x_ = typedArrayArg<float>(info, 0, "data", n_ * d_);
    transform_.l2normalize = boolArg(info, 3, "l2normalize");
    Keep(info[0]);
  }

 private:
  void Run() override {
    requireFinite(x_.Data(), n_, d_, "training data");
    // Column means and the variance of all entries (numpy's var: divide by the count), in
    // float64, over superblocks of transformed rows.
    mean_.assign(static_cast<size_t>(d_), 0.0);
    double total = 0, totalSq = 0;
    const int64_t block = superblockRows(d_);
    const int threads = defaultThreads();
    std::vector<float> t(static_cast<size_t>(std::min(n_, block) * d_));
    // Partial sums per fixed block of rows, merged in block order: the result does not depend
    // on which thread ran which block, so fits are reproducible bit for bit.
    const int64_t rowsPerItem = 256;
    const int64_t items = (std::min(n_, block) + rowsPerItem - 1) / rowsPerItem;
    std::vector<double> colSums(static_cast<size_t>(items * d_)), sq(static_cast<size_t>(items));
    for (int64_t s = 0; s < n_; s += block) {
      const int64_t count = std::min(block, n_ - s);
      applyTransform(transform_, x_.Data() + s * d_, count, d_, t.data(), nullptr, threads);
      const int64_t used = (count + rowsPerItem - 1) / rowsPerItem;
      parallelFor(used, threads, [&](int64_t item, int) {
        double* cs = colSums.data() + item * d_;
        std::fill(cs, cs + d_, 0.0);
        double q = 0;
        for (int64_t i = item * rowsPerItem; i < std::min(count, (item + 1) * rowsPerItem); ++i)
          for (int64_t k = 0; k < d_; ++k) {
            const double v = t[i * d_ + k];
            cs[k] += v;
            q += v * v;
          }
        sq[item] = q;
      });
      for (int64_t item = 0; item < used; ++item) {
        totalSq += sq[item];
        for (int64_t k = 0; k < d_; ++k) mean_[k] += colSums[item * d_ + k];
      }
    }
    for (int64_t k = 0; k < d_; ++k) total += mean_[k];
    const double entries = static_cast<double>(n_) * static_cast<double>(d_);
    for (auto& m : mean_) m /= static_cast<double>(n_);
    const double mu = total / entries;
    variance_ = std::max(0.0, totalSq / entries - mu * mu);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    auto mean = Napi::Float64Array::New(env, mean_.size());
    std::copy(mean_.begin(), mean_.end(), mean.Data());
    r.Set("mean", mean);
    r.Set("variance", variance_);
    return r;
  }
  Napi::Float32Array x_;
  int64_t n_, d_;
  RowTransform transform_;
  std::vector<double> mean_;
  double variance_ = 0;
};

// ---- one-class SVM ----------------------------------------------------------------------------
// info: (data, rows, cols, device, l2normalize, center, gamma, nu, tol, maxIter, cacheMb,
//        shrinking, threads)
class FitOneClassSvmWorker final : public PromiseWorker {
 public:
  explicit FitOneClassSvmWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    rows_ = intArg(info, 1, "rows", 2, (int64_t{1} << 31) - 1);
    cols_ = intArg(info, 2, "cols", 1, kMaxIndex);
    data_ = typedArrayArg<float>(info, 0, "data", rows_ * cols_);
    device_ = stringArg(info, 3, "device");
    transform_.l2normalize = boolArg(info, 4, "l2normalize");
    auto center = typedArrayArg<float>(info, 5, "center", cols_);
    transform_.center.assign(center.Data(), center.Data() + cols_);
    gamma_ = numberArg(info, 6, "gamma");
    options_.nu = numberArg(info, 7, "nu");
    options_.tol = numberArg(info, 8, "tol");
    options_.maxIter = intArg(info, 9, "maxIter", -1, kMaxIndex);
    options_.cacheMb = numberArg(info, 10, "cacheMb");
    options_.shrinking = boolArg(info, 11, "shrinking");
    options_.threads = static_cast<int>(intArg(info, 12, "threads", 0, 4096));
    Keep(info[0]);
  }

 private:
  void Run() override {
    requireFinite(data_.Data(), rows_, cols_, "training data");
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    auto set = backend.prepare(data_.Data(), rows_, cols_, transform_);
    ExecOptions exec;
    exec.threads = options_.threads;
    ocsvm::BackendKernelSource source(backend, *set, data_.Data(), gamma_, exec);
    result_ = ocsvm::solveOneClass(source, options_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    auto alpha = Napi::Float64Array::New(env, result_.alpha.size());
    std::copy(result_.alpha.begin(), result_.alpha.end(), alpha.Data());
    r.Set("alpha", alpha);
    r.Set("rho", result_.rho);
    r.Set("objective", result_.objective);
    r.Set("iterations", static_cast<double>(result_.iterations));
    r.Set("converged", result_.converged);
    r.Set("kernelSeconds", result_.kernelSeconds);
    r.Set("solverSeconds", result_.solverSeconds);
    r.Set("kernelRowsComputed", static_cast<double>(result_.kernelRowsComputed));
    r.Set("fullMatrix", result_.fullMatrix);
    r.Set("backend", backendName_);
    return r;
  }
  Napi::Float32Array data_;
  int64_t rows_, cols_;
  std::string device_, backendName_;
  RowTransform transform_;
  double gamma_;
  ocsvm::SolverOptions options_;
  ocsvm::SolverResult result_;
};

// ---- encoder input preprocessing ----------------------------------------------------------------
// info: (pixels Uint8Array (H x W x C), width, height, channels, outHeight, outWidth,
//        table Float32Array (C x 256), out Float32Array, offset): resizes and writes the planar
//        normalized image into out[offset, offset + C * outHeight * outWidth).
class PreprocessImageWorker final : public PromiseWorker {
 public:
  explicit PreprocessImageWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    width_ = intArg(info, 1, "width", 1, 1 << 16);
    height_ = intArg(info, 2, "height", 1, 1 << 16);
    channels_ = intArg(info, 3, "channels", 1, 4);
    outHeight_ = intArg(info, 4, "outHeight", 1, 1 << 16);
    outWidth_ = intArg(info, 5, "outWidth", 1, 1 << 16);
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "pixels must be a Uint8Array");
    auto pixels = info[0].As<Napi::Uint8Array>();
    if (static_cast<int64_t>(pixels.ElementLength()) != width_ * height_ * channels_)
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "pixels must hold width * height * channels bytes");
    pixels_ = pixels.Data();
    table_ = typedArrayArg<float>(info, 6, "table", channels_ * 256).Data();
    auto out = typedArrayArg<float>(info, 7, "out", -1);
    const int64_t offset = intArg(info, 8, "offset", 0, kMaxIndex);
    if (offset + channels_ * outHeight_ * outWidth_ > static_cast<int64_t>(out.ElementLength()))
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "out is too short for the image at this offset");
    out_ = out.Data() + offset;
    for (size_t i : {0, 6, 7}) Keep(info[i]);
  }

 private:
  void Run() override {
    const uint8_t* src = pixels_;
    std::vector<uint8_t> resized;
    if (height_ != outHeight_ || width_ != outWidth_) {
      resized.resize(static_cast<size_t>(outHeight_ * outWidth_ * channels_));
      resizeTriangleU8(pixels_, height_, width_, channels_, outHeight_, outWidth_, resized.data());
      src = resized.data();
    }
    normalizeToPlanar(src, outHeight_, outWidth_, channels_, table_, out_);
  }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }
  const uint8_t* pixels_;
  const float* table_;
  float* out_;
  int64_t width_, height_, channels_, outHeight_, outWidth_;
};

template <typename Worker>
Napi::Value start(const Napi::CallbackInfo& info) {
  auto* worker = new Worker(info);  // deletes itself once settled
  return worker->Queue();
}

}  // namespace

// ---- PointSetWrap -----------------------------------------------------------------------------
Napi::Function PointSetWrap::Define(Napi::Env env) {
  return DefineClass(env, "PointSet",
                     {InstanceAccessor<&PointSetWrap::Rows>("rows"), InstanceAccessor<&PointSetWrap::Cols>("cols"),
                      InstanceAccessor<&PointSetWrap::Backend>("backend")});
}

PointSetWrap::PointSetWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PointSetWrap>(info) {}

Napi::Value PointSetWrap::Rows(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), set ? static_cast<double>(set->rows()) : 0);
}
Napi::Value PointSetWrap::Cols(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), set ? static_cast<double>(set->cols()) : 0);
}
Napi::Value PointSetWrap::Backend(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), backend); }

Napi::Value Prepare(const Napi::CallbackInfo& info) { return start<PrepareWorker>(info); }
Napi::Value KernelLogSum(const Napi::CallbackInfo& info) { return start<KernelSumWorker<true>>(info); }
Napi::Value Nearest(const Napi::CallbackInfo& info) { return start<NearestWorker>(info); }
Napi::Value KernelWeightedSum(const Napi::CallbackInfo& info) { return start<KernelSumWorker<false>>(info); }
Napi::Value ProjectedSquaredNorm(const Napi::CallbackInfo& info) { return start<ProjectedNormWorker>(info); }
Napi::Value KernelRows(const Napi::CallbackInfo& info) { return start<KernelRowsWorker>(info); }
Napi::Value Upsample(const Napi::CallbackInfo& info) { return start<UpsampleWorker>(info); }
Napi::Value FitGaussian(const Napi::CallbackInfo& info) { return start<FitGaussianWorker>(info); }
Napi::Value FactorGaussian(const Napi::CallbackInfo& info) { return start<FactorGaussianWorker>(info); }
Napi::Value ColumnStats(const Napi::CallbackInfo& info) { return start<ColumnStatsWorker>(info); }
Napi::Value FitOneClassSvm(const Napi::CallbackInfo& info) { return start<FitOneClassSvmWorker>(info); }
Napi::Value PreprocessImage(const Napi::CallbackInfo& info) { return start<PreprocessImageWorker>(info); }

}  // namespace oneclass::addon
