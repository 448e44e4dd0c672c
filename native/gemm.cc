#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <string>

#include "pool.h"

#ifdef HOTLINE_OPENBLAS
#include <cblas.h>
#endif

namespace {

// Register tile of the micro-kernel: MR rows by NR columns of C held in 16 vector registers.
constexpr int MR = 8;
constexpr int NR = 32;
constexpr int64_t KC = 256;  // depth of a packed block: an A strip and a B panel stay in L1
constexpr int64_t MC = 128;  // rows of A packed at once: the A block stays in L2

typedef float v16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4)));

struct PackBuffers {
  float* a = nullptr;
  float* b = nullptr;
  size_t bFloats = 0;
  PackBuffers() { a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * MC * KC)); }
  ~PackBuffers() {
    std::free(a);
    std::free(b);
  }
  float* panel(size_t floats) {
    if (floats > bFloats) {
      std::free(b);
      bFloats = (floats + 15) / 16 * 16;
      b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * bFloats));
    }
    return b;
  }
};
thread_local PackBuffers buffers;

// Packs op(A)[i0:i0+mc, p0:p0+kc] as strips of MR rows, k-major inside a strip, zero padded.
void packA(bool transA, const float* A, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* dst) {
  for (int64_t s = 0; s < mc; s += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - s);
    for (int64_t k = 0; k < kc; ++k) {
      for (int r = 0; r < MR; ++r) {
        const int64_t i = i0 + s + r, p = p0 + k;
        *dst++ = r < rows ? (transA ? A[p * lda + i] : A[i * lda + p]) : 0.0f;
      }
    }
  }
}

// Packs op(B)[p0:p0+kc, 0:n] as panels of NR columns, k-major inside a panel, zero padded.
void packB(bool transB, const float* B, int64_t ldb, int64_t p0, int64_t kc, int64_t n, float* dst) {
  for (int64_t j0 = 0; j0 < n; j0 += NR) {
    const int64_t cols = std::min<int64_t>(NR, n - j0);
    for (int64_t k = 0; k < kc; ++k) {
      const int64_t p = p0 + k;
      if (!transB && cols == NR) {
        std::memcpy(dst, B + p * ldb + j0, sizeof(float) * NR);
        dst += NR;
        continue;
      }
      for (int c = 0; c < NR; ++c) *dst++ = c < cols ? (transB ? B[(j0 + c) * ldb + p] : B[p * ldb + j0 + c]) : 0.0f;
    }
  }
}

// C tile += alpha * Astrip * Bpanel over kc.
void microKernel(int64_t kc, const float* a, const float* b, float alpha, float* C, int64_t ldc, int rows, int cols) {
  v16 acc[MR][2];
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = v16{};
  for (int64_t k = 0; k < kc; ++k) {
    const v16 b0 = *reinterpret_cast<const v16*>(b);
    const v16 b1 = *reinterpret_cast<const v16*>(b + 16);
    for (int r = 0; r < MR; ++r) {
      const float av = a[r];
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
    }
    a += MR;
    b += NR;
  }
  if (rows == MR && cols == NR) {
    for (int r = 0; r < MR; ++r) {
      v16u* c = reinterpret_cast<v16u*>(C + r * ldc);
      c[0] += alpha * acc[r][0];
      c[1] += alpha * acc[r][1];
    }
    return;
  }
  float tile[MR][NR];
  for (int r = 0; r < MR; ++r) {
    *reinterpret_cast<v16u*>(&tile[r][0]) = alpha * acc[r][0];
    *reinterpret_cast<v16u*>(&tile[r][16]) = alpha * acc[r][1];
  }
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) C[r * ldc + c] += tile[r][c];
}

void scaleC(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  if (beta == 1.0f) return;
  for (int64_t i = 0; i < M; ++i) {
    float* row = C + i * ldc;
    if (beta == 0.0f) {
      std::memset(row, 0, sizeof(float) * N);
    } else {
      for (int64_t j = 0; j < N; ++j) row[j] *= beta;
    }
  }
}

// Shapes with a side below the register tile (the one-logit layer: N = 1) would mostly multiply padding;
// plain loops with the contiguous axis innermost do better there.
void sgemmThin(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    float* c = C + i * ldc;
    if (transB) {
      for (int64_t j = 0; j < N; ++j) {
        float sum = 0;
        for (int64_t k = 0; k < K; ++k) sum += (transA ? A[k * lda + i] : A[i * lda + k]) * B[j * ldb + k];
        c[j] += alpha * sum;
      }
    } else {
      for (int64_t k = 0; k < K; ++k) {
        const float a = alpha * (transA ? A[k * lda + i] : A[i * lda + k]);
        const float* b = B + k * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      }
    }
  }
}

}  // namespace

void sgemmOwn(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  scaleC(M, N, beta, C, ldc);
  if (alpha == 0.0f || K == 0) return;
  if (N < 4 || M < 4) {
    sgemmThin(transA, transB, M, N, K, alpha, A, lda, B, ldb, C, ldc);
    return;
  }
  const int64_t panels = (N + NR - 1) / NR;
  float* bp = buffers.panel(static_cast<size_t>(panels * NR * KC));
  float* ap = buffers.a;
  for (int64_t p0 = 0; p0 < K; p0 += KC) {
    const int64_t kc = std::min(KC, K - p0);
    packB(transB, B, ldb, p0, kc, N, bp);
    for (int64_t i0 = 0; i0 < M; i0 += MC) {
      const int64_t mc = std::min(MC, M - i0);
      packA(transA, A, lda, i0, mc, p0, kc, ap);
      for (int64_t j = 0; j < panels; ++j) {
        const int cols = static_cast<int>(std::min<int64_t>(NR, N - j * NR));
        for (int64_t s = 0; s < mc; s += MR) {
          const int rows = static_cast<int>(std::min<int64_t>(MR, mc - s));
          microKernel(kc, ap + s * kc, bp + j * NR * kc, alpha, C + (i0 + s) * ldc + j * NR, ldc, rows, cols);
        }
      }
    }
  }
}

namespace {
#ifdef HOTLINE_OPENBLAS
extern "C" char* openblas_get_corename(void);

double bestSeconds(bool useBlas) {
  constexpr int64_t n = 256;
  static float A[n * n], B[n * n], C[n * n];
  double best = 1e9;
  for (int rep = 0; rep < 5; ++rep) {
    const auto t0 = std::chrono::steady_clock::now();
    if (useBlas) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    } else {
      sgemmOwn(false, true, n, n, n, 1.0f, A, n, B, n, 0.0f, C, n);
    }
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

// OpenBLAS picks its kernels by CPU detection, and an older build may not know the CPU (0.3.21 falls back to
// its Prescott SSE3 kernels on Zen 4, 6x slower than the own kernel). So the first GEMM times both on one
// shape and keeps OpenBLAS unless the own kernel takes under 4/5 of its time: a near tie would flip between
// processes, and a resumed run must compute as the run it resumes. HOTLINE_GEMM=own|openblas overrides.
bool decideUseBlas() {
  openblas_set_num_threads(1);  // the pool splits each GEMM itself; OpenBLAS must not start (and spin) its own threads
  const char* forced = std::getenv("HOTLINE_GEMM");
  if (forced && std::strcmp(forced, "own") == 0) return false;
  if (forced && std::strcmp(forced, "openblas") == 0) return true;
  bestSeconds(true);
  return bestSeconds(true) < 1.25 * bestSeconds(false);
}

bool useBlas() {
  static const bool decided = decideUseBlas();
  return decided;
}
#endif

void sgemmSlice(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
#ifdef HOTLINE_OPENBLAS
  if (useBlas()) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans, M, N, K, alpha,
                A, lda, B, ldb, beta, C, ldc);
    return;
  }
#endif
  sgemmOwn(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
}  // namespace

std::string gemmEngine() {
#ifdef HOTLINE_OPENBLAS
  const std::string core = openblas_get_corename();
  return useBlas() ? "OpenBLAS " + core : "own (OpenBLAS " + core + " was slower)";
#else
  return "own";
#endif
}

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  Pool& p = pool();
  const int64_t work = M * N * K;
  const int threads = work < (1 << 18) ? 1 : p.size();
  if (threads == 1) {
    sgemmSlice(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    return;
  }
  // Split the larger output dimension in multiples of 16 so each thread keeps whole vectors.
  const bool splitRows = M >= N;
  const int64_t extent = splitRows ? M : N;
  const int64_t units = (extent + 15) / 16;
  p.run([&](int w) {
    const int64_t u0 = units * w / threads, u1 = units * (w + 1) / threads;
    const int64_t lo = std::min(extent, u0 * 16), hi = std::min(extent, u1 * 16);
    if (hi <= lo) return;
    if (splitRows) {
      const float* a = transA ? A + lo : A + lo * lda;
      sgemmSlice(transA, transB, hi - lo, N, K, alpha, a, lda, B, ldb, beta, C + lo * ldc, ldc);
    } else {
      const float* b = transB ? B + lo * ldb : B + lo;
      sgemmSlice(transA, transB, M, hi - lo, K, alpha, A, lda, b, ldb, beta, C + lo, ldc);
    }
  });
}
