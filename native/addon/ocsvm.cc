// fitOneClassSvm(x, { device, l2normalize, center?, gamma?, statistics?, gammaScale?, nu, tol,
//                maxIter, cacheMb, shrinking, warmStartSample?, threads? }) -> { alpha, rho, objective, iterations,
//                converged, diagnostics, backend, gamma, stats? }: the RBF one-class SVM fit
// (ocsvm.h). With `statistics: true` the call first takes the column statistics of its own copy
// of x (columnStats' result, returned as `stats`; one copy of x instead of one per call),
// centres on their mean (`center` is then ignored) and, given `gammaScale` instead of `gamma`,
// uses gamma = gammaScale / (cols * variance) (gammaScale when the variance is 0: scikit-learn's
// 'scale' for 1); `gamma` in the result is the one used.
#include "oneclass/ocsvm.h"

#include <algorithm>

#include "convert.h"
#include "exports.h"
#include "oneclass/column_stats.h"
#include "oneclass/transform.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

class FitOneClassSvmWorker final : public PromiseWorker {
 public:
  explicit FitOneClassSvmWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    x_ = matrixArg(info, 0, "x", 2);
    ObjectArg options(info, 1, "options");
    device_ = options.string("device");
    transform_ = transformArg(options, x_.cols);
    statistics_ = options.boolean("statistics", false);
    if (statistics_ && options.has("gammaScale"))
      gammaScale_ = options.number("gammaScale");
    else
      gamma_ = options.number("gamma");
    solver_.nu = options.number("nu");
    solver_.tol = options.number("tol");
    solver_.maxIter = options.integer("maxIter", -1, kMaxIndex);
    solver_.cacheMb = options.number("cacheMb");
    solver_.shrinking = options.boolean("shrinking");
    solver_.warmStartSample = options.integer("warmStartSample", 0, kMaxIndex, solver_.warmStartSample);
    solver_.threads = options.exec().threads;
  }

 private:
  void Run() override {
    x_.requireFinite("training data");
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
    if (statistics_) {
      RowTransform normalizeOnly;
      normalizeOnly.l2normalize = transform_.l2normalize;
      stats_ = columnStats(x_.data.data(), x_.rows, x_.cols, normalizeOnly, solver_.threads);
      transform_.center.assign(stats_.mean.begin(), stats_.mean.end());
      if (gammaScale_ > 0)
        gamma_ = stats_.variance > 0 ? gammaScale_ / (static_cast<double>(x_.cols) * stats_.variance) : gammaScale_;
    }
    result_ = ocsvm::fitOneClassSvm(backend, x_.data.data(), x_.rows, x_.cols, transform_, gamma_, solver_);
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
    r.Set("warmStartSample", static_cast<double>(result_.warmStartSample));
    r.Set("backend", backendName_);
    r.Set("gamma", gamma_);
    if (statistics_) {
      Napi::Object stats = Napi::Object::New(env);
      auto mean = Napi::Float64Array::New(env, stats_.mean.size());
      std::copy(stats_.mean.begin(), stats_.mean.end(), mean.Data());
      stats.Set("mean", mean);
      stats.Set("variance", stats_.variance);
      stats.Set("largestAbs", stats_.largestAbs);
      stats.Set("medianColumnDeviation", stats_.medianColumnDeviation);
      stats.Set("medianRowDeviation", stats_.medianRowDeviation);
      r.Set("stats", stats);
    }
    return r;
  }
  MatrixArg x_;
  std::string device_, backendName_;
  RowTransform transform_;
  bool statistics_ = false;
  double gamma_ = 0, gammaScale_ = 0;
  ColumnStats stats_;
  ocsvm::SolverOptions solver_;
  ocsvm::SolverResult result_;
};

const ExportRegistration kFitOneClassSvm("fitOneClassSvm", functionExport<startWorker<FitOneClassSvmWorker>>);

}  // namespace
}  // namespace oneclass::addon
