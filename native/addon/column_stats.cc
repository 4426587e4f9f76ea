// columnStats(x, { l2normalize, threads? }) -> { mean, variance, largestAbs, medianColumnDeviation,
// medianRowDeviation }: the statistics behind the
// detectors' data rules (column_stats.h).
#include "oneclass/column_stats.h"

#include <algorithm>

#include "convert.h"
#include "exports.h"
#include "oneclass/transform.h"
#include "promise_worker.h"

namespace oneclass::addon {
namespace {

class ColumnStatsWorker final : public PromiseWorker {
 public:
  explicit ColumnStatsWorker(const Napi::CallbackInfo& info) : PromiseWorker(info.Env()) {
    x_ = matrixArg(info, 0, "x", 1);
    ObjectArg options(info, 1, "options");
    transform_.l2normalize = options.boolean("l2normalize");
    threads_ = options.exec().threads;
  }

 private:
  void Run() override {
    x_.requireFinite("training data");
    stats_ = columnStats(x_.data.data(), x_.rows, x_.cols, transform_, threads_);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    auto mean = Napi::Float64Array::New(env, stats_.mean.size());
    std::copy(stats_.mean.begin(), stats_.mean.end(), mean.Data());
    r.Set("mean", mean);
    r.Set("variance", stats_.variance);
    r.Set("largestAbs", stats_.largestAbs);
    r.Set("medianColumnDeviation", stats_.medianColumnDeviation);
    r.Set("medianRowDeviation", stats_.medianRowDeviation);
    return r;
  }
  MatrixArg x_;
  RowTransform transform_;
  int threads_ = 0;
  ColumnStats stats_;
};

const ExportRegistration kColumnStats("columnStats", functionExport<startWorker<ColumnStatsWorker>>);

}  // namespace
}  // namespace oneclass::addon
