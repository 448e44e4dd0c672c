#pragma once
#include <cstdint>
#include <string>

// Row-major C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C, split over the pool's threads.
// Uses OpenBLAS when the addon was built with it, the own packed micro-kernel otherwise.
void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// The own kernel, single-threaded, always available (benchmarked against OpenBLAS).
void sgemmOwn(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
// Which engine sgemm runs on, e.g. "OpenBLAS Cooperlake" or "own".
std::string gemmEngine();
