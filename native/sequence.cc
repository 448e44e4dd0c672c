#include "sequence.h"

#include <algorithm>
#include <cmath>

#include "pool.h"

namespace {
constexpr float kNormFloor = 1e-12f;
constexpr int64_t kSamplesPerChunk = 16;

const float* eventRow(const float* U, const SequenceSpan& s, int64_t b, int64_t t) {
  return U + ((b * s.events) + s.first + t) * s.dim;
}
float* eventRow(float* U, const SequenceSpan& s, int64_t b, int64_t t) {
  return U + ((b * s.events) + s.first + t) * s.dim;
}
}  // namespace

void sphereForward(const float* v, int64_t rows, int64_t dim, float* u, float* norms) {
  pool().parallelFor(rows, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* x = v + r * dim;
      float sum = 0.0f;
      for (int64_t i = 0; i < dim; ++i) sum += x[i] * x[i];
      const float norm = std::sqrt(sum), scale = 1.0f / std::max(norm, kNormFloor);
      norms[r] = norm;
      for (int64_t i = 0; i < dim; ++i) u[r * dim + i] = x[i] * scale;
    }
  });
}

void sphereBackward(const float* u, const float* norms, int64_t rows, int64_t dim, float* du) {
  pool().parallelFor(rows, 256, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* ur = u + r * dim;
      float* g = du + r * dim;
      if (norms[r] > kNormFloor) {
        float dot = 0.0f;
        for (int64_t i = 0; i < dim; ++i) dot += ur[i] * g[i];
        for (int64_t i = 0; i < dim; ++i) g[i] = (g[i] - ur[i] * dot) / norms[r];
      } else {
        for (int64_t i = 0; i < dim; ++i) g[i] /= kNormFloor;
      }
    }
  });
}

void attendForward(const float* U, SequenceSpan s, const float* x, int64_t xStride, float* scores) {
  pool().parallelFor(s.n, kSamplesPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* xb = x + b * xStride;
      for (int64_t t = 0; t < s.length; ++t) {
        const float* h = eventRow(U, s, b, t);
        float acc = 0.0f;
        for (int64_t i = 0; i < s.dim; ++i) acc += h[i] * xb[i];
        scores[b * s.length + t] = acc;
      }
    }
  });
}

void attendBackward(const float* U, SequenceSpan s, const float* x, int64_t xStride, const float* g, float* dU, float* dx,
                    int64_t dxStride) {
  pool().parallelFor(s.n, kSamplesPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* xb = x + b * xStride;
      float* dxb = dx + b * dxStride;
      for (int64_t i = 0; i < s.dim; ++i) dxb[i] = 0.0f;
      for (int64_t t = 0; t < s.length; ++t) {
        const float* h = eventRow(U, s, b, t);
        float* dh = eventRow(dU, s, b, t);
        const float gt = g[b * s.length + t];
        for (int64_t i = 0; i < s.dim; ++i) {
          dh[i] += gt * xb[i];
          dxb[i] += gt * h[i];
        }
      }
    }
  });
}

void contextForward(const float* U, SequenceSpan s, const float* y, float* out, int64_t outStride) {
  pool().parallelFor(s.n, kSamplesPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      float* c = out + b * outStride;
      for (int64_t i = 0; i < s.dim; ++i) c[i] = 0.0f;
      for (int64_t t = 0; t < s.length; ++t) {
        const float* h = eventRow(U, s, b, t);
        const float yt = y[b * s.length + t];
        for (int64_t i = 0; i < s.dim; ++i) c[i] += yt * h[i];
      }
    }
  });
}

void contextBackward(const float* U, SequenceSpan s, const float* y, const float* dOut, int64_t outStride, float* dU,
                     float* dy) {
  pool().parallelFor(s.n, kSamplesPerChunk, [&](int64_t lo, int64_t hi) {
    for (int64_t b = lo; b < hi; ++b) {
      const float* dc = dOut + b * outStride;
      for (int64_t t = 0; t < s.length; ++t) {
        const float* h = eventRow(U, s, b, t);
        float* dh = eventRow(dU, s, b, t);
        const float yt = y[b * s.length + t];
        float acc = 0.0f;
        for (int64_t i = 0; i < s.dim; ++i) {
          acc += dc[i] * h[i];
          dh[i] += yt * dc[i];
        }
        dy[b * s.length + t] = acc;
      }
    }
  });
}
