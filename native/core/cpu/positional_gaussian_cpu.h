// The CPU kernels of the per-position Gaussian (positional_gaussian.h).
#pragma once
#include <cstdint>
#include <memory>

#include "oneclass/positional_gaussian.h"

namespace ONECLASS_CPU_NAMESPACE {

void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean, double* covariance,
                       int threads);

std::unique_ptr<PositionalSet> makePositionalSet(int64_t positions, int64_t dim);

void positionalSquaredMahalanobis(const PositionalSet& set, const float* x, int64_t images, double* out, int threads);

}  // namespace ONECLASS_CPU_NAMESPACE
