// The Gaussian density (gaussian.h):
//   fitGaussian(x, { shrinkageKind, shrinkage, regCovar, l2normalize, threads? }) -> fit
//   factorGaussian(mean, covariance, { shrinkage }) -> fit (a restored model)
// where fit = { mean, covariance, choleskyInverse, shrinkage, logDet }.
#include "oneclass/gaussian.h"

#include <algorithm>

#include "convert.h"
#include "exports.h"
#include "oneclass/transform.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

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
    x_ = matrixArg(info, 0, "x", 1, 1 << 16);
    ObjectArg options(info, 1, "options");
    const std::string kind = options.string("shrinkageKind");
    if (kind == "ledoit-wolf") {
      options_.kind = ShrinkageKind::LedoitWolf;
    } else if (kind == "fixed") {
      options_.kind = ShrinkageKind::Fixed;
    } else if (kind == "none") {
      options_.kind = ShrinkageKind::None;
    } else {
      throwCoded(info.Env(), "ERR_INVALID_ARGUMENT", "options.shrinkageKind must be 'ledoit-wolf', 'fixed' or 'none'");
    }
    options_.shrinkage = options.number("shrinkage");
    options_.regCovar = options.number("regCovar");
    options_.l2normalize = options.boolean("l2normalize");
    options_.threads = options.exec().threads;
  }

 private:
  void Run() override {
    x_.requireFinite("training data");
    fit_ = fitGaussian(x_.data.data(), x_.rows, x_.cols, options_);
  }
  Napi::Value Result(Napi::Env env) override { return gaussianResult(env, fit_); }
  MatrixArg x_;
  GaussianOptions options_;
  GaussianFit fit_;
};

class FactorGaussianWorker final : public PromiseWorker {
 public:
  explicit FactorGaussianWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    Napi::Env env = info.Env();
    InputArray<double> mean = inputArray<double>(env, info[0], "mean", kAnyLength);
    const int64_t d = static_cast<int64_t>(mean.size());
    if (d < 1 || d > (1 << 16)) throwCoded(env, "ERR_INVALID_ARGUMENT", "mean must hold 1 to 65536 values");
    InputArray<double> cov = inputArray<double>(env, info[1], "covariance", d * d);
    fit_.dim = d;
    fit_.mean.assign(mean.data(), mean.data() + d);
    fit_.covariance.assign(cov.data(), cov.data() + d * d);
    fit_.shrinkage = ObjectArg(info, 2, "options").number("shrinkage");
  }

 private:
  void Run() override { factorGaussian(fit_); }
  Napi::Value Result(Napi::Env env) override { return gaussianResult(env, fit_); }
  GaussianFit fit_;
};

const ExportRegistration kFitGaussian("fitGaussian", functionExport<startWorker<FitGaussianWorker>>);
const ExportRegistration kFactorGaussian("factorGaussian", functionExport<startWorker<FactorGaussianWorker>>);

}  // namespace
}  // namespace oneclass::addon
