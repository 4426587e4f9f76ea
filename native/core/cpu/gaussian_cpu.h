// The Gaussian density's kernels at this file's CPU level (gaussian_kernels.h): kernel files call
// them directly, the rest of the core through gaussianKernels().
#pragma once
#include <cstdint>

#include "gaussian_kernels.h"

namespace ONECLASS_CPU_NAMESPACE {

void meanAndCovariance(const float* x, int64_t n, int64_t d, double* mean, double* covariance, int threads);
double ledoitWolfShrinkage(const float* x, int64_t n, int64_t d, const double* mean, const double* covariance,
                           int threads);
bool choleskyLower(double* a, int64_t d);
void lowerInverse(const double* l, int64_t d, double* inv);

const GaussianKernels& gaussianKernels();

}  // namespace ONECLASS_CPU_NAMESPACE
