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

void activationBackward(float* dY, const float* Y, int64_t rows, int64_t cols, bool relu, float* dBias, bool accumulate) {
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
    float s = accumulate ? dBias[j] : 0.0f;
    for (int p = 0; p < threads; ++p) s += partial[static_cast<size_t>(p * cols + j)];
    dBias[j] = s;
  }
}

namespace {
// The interaction is a tiny Gram matrix per sample (27 x 16 at Kaggle sizes): too small to vectorise
// inside one sample without wasteful horizontal sums. So it runs on blocks of 16 samples with one sample
// per vector lane: every pair's dot product is d full-width multiply-adds, and nothing is padded.
constexpr int kLanes = 16;
typedef float lanes_t __attribute__((vector_size(kLanes * sizeof(float))));

// block[e][lane] = rows[lane * stride + e] for e < width; lanes past `count` are zero.
void gatherLanes(const float* rows, int64_t stride, int64_t count, int64_t width, lanes_t* block) {
  for (int64_t e = 0; e < width; ++e) block[e] = lanes_t{};
  float* flat = reinterpret_cast<float*>(block);
  for (int64_t lane = 0; lane < count; ++lane) {
    const float* row = rows + lane * stride;
    for (int64_t e = 0; e < width; ++e) flat[e * kLanes + lane] = row[e];
  }
}

void scatterLanes(const lanes_t* block, int64_t count, int64_t width, float* rows, int64_t stride) {
  const float* flat = reinterpret_cast<const float*>(block);
  for (int64_t lane = 0; lane < count; ++lane) {
    float* row = rows + lane * stride;
    for (int64_t e = 0; e < width; ++e) row[e] = flat[e * kLanes + lane];
  }
}

// Runs fn(b0, count) over the blocks of 16 samples, blocks spread over the pool.
template <typename Fn>
void forEachLaneBlock(int64_t bags, Fn fn) {
  const int64_t blocks = (bags + kLanes - 1) / kLanes;
  pool().parallelFor(blocks, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t blk = lo; blk < hi; ++blk) fn(blk * kLanes, std::min<int64_t>(kLanes, bags - blk * kLanes));
  });
}
}  // namespace

void interactionDotForward(const float* T, int64_t bags, int64_t F, int64_t d, float* out, int64_t outStride) {
  const int64_t pairs = F * (F - 1) / 2;
  forEachLaneBlock(bags, [&](int64_t b0, int64_t count) {
    std::vector<lanes_t> t(static_cast<size_t>(F * d)), z(static_cast<size_t>(d + pairs));
    gatherLanes(T + b0 * F * d, F * d, count, F * d, t.data());
    for (int64_t k = 0; k < d; ++k) z[k] = t[k];
    // Four pairs at a time: four independent multiply-add chains hide the FMA latency.
    lanes_t* o = z.data() + d;
    for (int64_t i = 1; i < F; ++i) {
      const lanes_t* ti = t.data() + i * d;
      int64_t j = 0;
      for (; j + 4 <= i; j += 4) {
        const lanes_t *t0 = t.data() + j * d, *t1 = t0 + d, *t2 = t1 + d, *t3 = t2 + d;
        lanes_t a0{}, a1{}, a2{}, a3{};
        for (int64_t k = 0; k < d; ++k) {
          a0 += ti[k] * t0[k];
          a1 += ti[k] * t1[k];
          a2 += ti[k] * t2[k];
          a3 += ti[k] * t3[k];
        }
        o[0] = a0, o[1] = a1, o[2] = a2, o[3] = a3;
        o += 4;
      }
      for (; j < i; ++j) {
        const lanes_t* tj = t.data() + j * d;
        lanes_t acc{};
        for (int64_t k = 0; k < d; ++k) acc += ti[k] * tj[k];
        *o++ = acc;
      }
    }
    scatterLanes(z.data(), count, d + pairs, out + b0 * outStride, outStride);
  });
}

void interactionDotBackward(const float* T, const float* dOut, int64_t bags, int64_t F, int64_t d, int64_t outStride,
                            float* dT) {
  const int64_t pairs = F * (F - 1) / 2;
  forEachLaneBlock(bags, [&](int64_t b0, int64_t count) {
    std::vector<lanes_t> t(static_cast<size_t>(F * d)), g(static_cast<size_t>(d + pairs)), dt(static_cast<size_t>(F * d)),
        s(static_cast<size_t>(F * F));
    gatherLanes(T + b0 * F * d, F * d, count, F * d, t.data());
    gatherLanes(dOut + b0 * outStride, outStride, count, d + pairs, g.data());
    // dT[i] = sum over j != i of dOut(pair i, j) * T[j]: the rows of a symmetric pair-gradient matrix S times T,
    // taken four j at a time so each store of dT[i] carries four multiply-adds.
    for (int64_t i = 0; i < F; ++i)
      for (int64_t j = 0; j < F; ++j)
        s[static_cast<size_t>(i * F + j)] = i == j ? lanes_t{} : g[d + (i > j ? i * (i - 1) / 2 + j : j * (j - 1) / 2 + i)];
    for (int64_t i = 0; i < F; ++i) {
      lanes_t* dti = dt.data() + i * d;
      for (int64_t k = 0; k < d; ++k) dti[k] = i == 0 ? g[k] : lanes_t{};  // the bottom MLP output passes straight through
      const lanes_t* si = s.data() + i * F;
      int64_t j = 0;
      for (; j + 4 <= F; j += 4) {
        const lanes_t *t0 = t.data() + j * d, *t1 = t0 + d, *t2 = t1 + d, *t3 = t2 + d;
        for (int64_t k = 0; k < d; ++k) dti[k] += si[j] * t0[k] + si[j + 1] * t1[k] + si[j + 2] * t2[k] + si[j + 3] * t3[k];
      }
      for (; j < F; ++j) {
        const lanes_t* tj = t.data() + j * d;
        for (int64_t k = 0; k < d; ++k) dti[k] += si[j] * tj[k];
      }
    }
    scatterLanes(dt.data(), count, F * d, dT + b0 * F * d, F * d);
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
