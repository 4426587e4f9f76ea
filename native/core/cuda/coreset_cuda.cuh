// The CUDA k-center selection (coreset_kernels.cu) and per-position Gaussian
// (positional_kernels.cu), called by the CUDA backend.
#pragma once
#include <cstdint>
#include <memory>

#include "oneclass/coreset.h"
#include "oneclass/positional_gaussian.h"

namespace oneclass::cuda {

KCenterResult kCenterGreedy(const float* x, int64_t n, int64_t d, const double* projection,
                            const KCenterOptions& options, Progress* progress);

void positionalMoments(const float* x, int64_t images, int64_t positions, int64_t dim, double* mean,
                       double* covariance);
std::unique_ptr<PositionalSet> makePositionalSet(int64_t positions, int64_t dim);
void positionalSquaredMahalanobis(const PositionalSet& set, const float* x, int64_t images, double* out);

}  // namespace oneclass::cuda
