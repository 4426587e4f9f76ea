// Queries against a prepared point set (point_set.h), each (set, queries, options):
//   kernelLogSum      { gamma, weights?, threads }  log sum_j w_j K          -> Float64Array
//   kernelWeightedSum { gamma, weights, threads }   sum_j w_j K in float64   -> Float64Array
//   nearest           { k, threads }                k nearest, ascending     -> { distances, indices }
//   projectedSquaredNorm { threads }                sum_j (y_j . T(x))^2     -> Float64Array
//   kernelRows        { gamma, threads }            n x m kernel values      -> Float32Array
#include <algorithm>

#include "convert.h"
#include "exports.h"
#include "oneclass/transform.h"
#include "point_set.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

// Holds the point set's shared state, so a garbage-collected wrapper cannot free it mid-call,
// and a copy of the queries.
class QueryWorker : public PromiseWorker {
 protected:
  explicit QueryWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    PointSetWrap& wrap = pointSetArg(info, 0);
    set_ = wrap.set;
    backend_ = &selectBackend(wrap.backend);
    queries_ = matrixArg(info, 1, "queries", 0);
    if (queries_.cols != set_->cols())
      throwCoded(
          info.Env(), "ERR_INVALID_ARGUMENT",
          "queries have " + std::to_string(queries_.cols) + " columns, the point set " + std::to_string(set_->cols()));
  }
  const float* x() const { return queries_.data.data(); }
  int64_t n() const { return queries_.rows; }
  void checkQueries() const { queries_.requireFinite("query data"); }
  std::shared_ptr<PointSet> set_;
  Backend* backend_;
  MatrixArg queries_;
};

template <bool kLogSum>
class KernelSumWorker final : public QueryWorker {
 public:
  explicit KernelSumWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    ObjectArg options(info, 2, "options");
    gamma_ = options.number("gamma");
    // Weights are optional for the log-sum (w_j = 1), required for the weighted sum.
    weights_ = kLogSum ? options.optionalArray<double>("weights", set_->rows())
                       : options.array<double>("weights", set_->rows());
    exec_ = options.exec();
    out_.allocate(info.Env(), static_cast<size_t>(n()));
  }

 private:
  void Run() override {
    checkQueries();
    const double* w = weights_.empty() ? nullptr : weights_.data();
    if (kLogSum) {
      backend_->kernelLogSum(*set_, x(), n(), gamma_, w, out_.data, exec_);
    } else {
      backend_->kernelWeightedSum(*set_, x(), n(), gamma_, w, out_.data, exec_);
    }
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  double gamma_;
  InputArray<double> weights_;
  ExecOptions exec_;
  ResultArray<Napi::Float64Array> out_;
};

class NearestWorker final : public QueryWorker {
 public:
  explicit NearestWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    ObjectArg options(info, 2, "options");
    k_ = static_cast<int>(options.integer("k", 1, std::min<int64_t>(set_->rows(), 1 << 20)));
    exec_ = options.exec();
    dist_.allocate(info.Env(), static_cast<size_t>(n() * k_));
    index_.allocate(info.Env(), static_cast<size_t>(n() * k_));
  }

 private:
  void Run() override {
    checkQueries();
    std::vector<int64_t> idx(static_cast<size_t>(n() * k_));
    backend_->nearest(*set_, x(), n(), k_, dist_.data, idx.data(), exec_);
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
    exec_ = ObjectArg(info, 2, "options").exec();
    out_.allocate(info.Env(), static_cast<size_t>(n()));
  }

 private:
  void Run() override {
    checkQueries();
    backend_->projectedSquaredNorm(*set_, x(), n(), out_.data, exec_);
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  ExecOptions exec_;
  ResultArray<Napi::Float64Array> out_;
};

class KernelRowsWorker final : public QueryWorker {
 public:
  explicit KernelRowsWorker(const Napi::CallbackInfo& info) : QueryWorker(info) {
    ObjectArg options(info, 2, "options");
    gamma_ = options.number("gamma");
    exec_ = options.exec();
    out_.allocate(info.Env(), static_cast<size_t>(n() * set_->rows()));
  }

 private:
  void Run() override {
    checkQueries();
    backend_->kernelRows(*set_, x(), n(), gamma_, out_.data, exec_);
  }
  Napi::Value Result(Napi::Env) override { return out_.value(); }
  double gamma_;
  ExecOptions exec_;
  ResultArray<Napi::Float32Array> out_;
};

const ExportRegistration kKernelLogSum("kernelLogSum", functionExport<startWorker<KernelSumWorker<true>>>);
const ExportRegistration kKernelWeightedSum("kernelWeightedSum", functionExport<startWorker<KernelSumWorker<false>>>);
const ExportRegistration kNearest("nearest", functionExport<startWorker<NearestWorker>>);
const ExportRegistration kProjectedSquaredNorm("projectedSquaredNorm",
                                               functionExport<startWorker<ProjectedNormWorker>>);
const ExportRegistration kKernelRows("kernelRows", functionExport<startWorker<KernelRowsWorker>>);

}  // namespace
}  // namespace oneclass::addon
