#include "dense.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "pool.h"

namespace {
constexpr int64_t kRowsPerChunk = 64;
}

void biasActivation(float* Y, int64_t rows, int64_t cols, const float* bias, bool relu) {
  pool().parallelFor(rows, kRowsPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float* y = Y + i * cols;
      if (relu) {
        for (int64_t j = 0; j < cols; ++j) y[j] = std::max(y[j] + bias[j], 0.0f);
      } else {
        for (int64_t j = 0; j < cols; ++j) y[j] += bias[j];
      }
    }
  });
}

void activationBackward(float* dY, const float* Y, int64_t rows, int64_t cols, bool relu, float* dBias) {
  const int threads = pool().size();
  std::vector<float> partial(static_cast<size_t>(threads * cols), 0.0f);
  pool().run([&](int worker) {
    const int64_t lo = rows * worker / threads, hi = rows * (worker + 1) / threads;
    float* sum = &partial[static_cast<size_t>(worker * cols)];
    for (int64_t i = lo; i < hi; ++i) {
      float* dy = dY + i * cols;
      if (relu) {
        const float* y = Y + i * cols;
        for (int64_t j = 0; j < cols; ++j) dy[j] = y[j] > 0.0f ? dy[j] : 0.0f;
      }
      for (int64_t j = 0; j < cols; ++j) sum[j] += dy[j];
    }
  });
  for (int64_t j = 0; j < cols; ++j) {
    float s = 0;
    for (int p = 0; p < threads; ++p) s += partial[static_cast<size_t>(p * cols + j)];
    dBias[j] = s;
  }
}

void interactionDotForward(const float* T, int64_t bags, int64_t F, int64_t d, float* out, int64_t outStride) {
  pool().parallelFor(bags, kRowsPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* t = T + b * F * d;
      float* o = out + b * outStride;
      std::memcpy(o, t, sizeof(float) * d);
      o += d;
      for (int64_t i = 1; i < F; ++i) {
        const float* ti = t + i * d;
        for (int64_t j = 0; j < i; ++j) {
          const float* tj = t + j * d;
          float s = 0;
          for (int64_t k = 0; k < d; ++k) s += ti[k] * tj[k];
          *o++ = s;
        }
      }
    }
  });
}

void interactionDotBackward(const float* T, const float* dOut, int64_t bags, int64_t F, int64_t d, int64_t outStride,
                            float* dT) {
  pool().parallelFor(bags, kRowsPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* t = T + b * F * d;
      const float* g = dOut + b * outStride;
      float* dt = dT + b * F * d;
      std::memcpy(dt, g, sizeof(float) * d);
      std::memset(dt + d, 0, sizeof(float) * (F - 1) * d);
      g += d;
      for (int64_t i = 1; i < F; ++i) {
        const float* ti = t + i * d;
        float* dti = dt + i * d;
        for (int64_t j = 0; j < i; ++j) {
          const float gij = *g++;
          const float* tj = t + j * d;
          float* dtj = dt + j * d;
          for (int64_t k = 0; k < d; ++k) {
            dti[k] += gij * tj[k];
            dtj[k] += gij * ti[k];
          }
        }
      }
    }
  });
}

void denseSgd(float* w, const float* g, int64_t n, float lr) {
  for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
}

void denseAdagrad(float* w, float* state, const float* g, int64_t n, float lr, float eps) {
  for (int64_t i = 0; i < n; ++i) {
    state[i] += g[i] * g[i];
    w[i] -= lr * (g[i] / (std::sqrt(state[i]) + eps));
  }
}
