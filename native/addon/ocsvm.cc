// fitOneClassSvm(x, { device, l2normalize, center?, gamma, nu, tol, maxIter, cacheMb, shrinking,
//                threads? }) -> { alpha, rho, objective, iterations, converged, diagnostics,
//                backend }: the RBF one-class SVM fit (ocsvm.h).
#include "oneclass/ocsvm.h"

#include <algorithm>

#include "convert.h"
#include "exports.h"
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
    gamma_ = options.number("gamma");
    solver_.nu = options.number("nu");
    solver_.tol = options.number("tol");
    solver_.maxIter = options.integer("maxIter", -1, kMaxIndex);
    solver_.cacheMb = options.number("cacheMb");
    solver_.shrinking = options.boolean("shrinking");
    solver_.threads = options.exec().threads;
  }

 private:
  void Run() override {
    x_.requireFinite("training data");
    Backend& backend = selectBackend(device_);
    backendName_ = backend.name();
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
    r.Set("backend", backendName_);
    return r;
  }
  MatrixArg x_;
  std::string device_, backendName_;
  RowTransform transform_;
  double gamma_;
  ocsvm::SolverOptions solver_;
  ocsvm::SolverResult result_;
};

const ExportRegistration kFitOneClassSvm("fitOneClassSvm", functionExport<startWorker<FitOneClassSvmWorker>>);

}  // namespace
}  // namespace oneclass::addon
