#pragma once
#include <cstdint>

// TBSM's time series layer on a batch of sequences U [n x events x dim] (each sample's event vectors, the candidate
// last). A head's span is events first .. first + length - 1 of every sample.
struct SequenceSpan {
  int64_t n, events, first, length, dim;
};

// u = v / max(|v|, 1e-12) row by row (torch.nn.functional.normalize), norms[r] = |v_r|.
void sphereForward(const float* v, int64_t rows, int64_t dim, float* u, float* norms);
// The projection's backward in place: du becomes dv = (du - u <u, du>) / |v| (du / 1e-12 below the floor).
void sphereBackward(const float* u, const float* norms, int64_t rows, int64_t dim, float* du);
// scores[b][t] = <U[b][first + t], x[b]>, x's rows xStride apart.
void attendForward(const float* U, SequenceSpan s, const float* x, int64_t xStride, float* scores);
// dU[b][first + t] += g[b][t] x[b]; dx[b] = sum over t of g[b][t] U[b][first + t] (dx's rows dxStride apart).
void attendBackward(const float* U, SequenceSpan s, const float* x, int64_t xStride, const float* g, float* dU, float* dx,
                    int64_t dxStride);
// out[b] = sum over t of y[b][t] U[b][first + t], out's rows outStride apart.
void contextForward(const float* U, SequenceSpan s, const float* y, float* out, int64_t outStride);
// dy[b][t] = <dOut[b], U[b][first + t]>; dU[b][first + t] += y[b][t] dOut[b].
void contextBackward(const float* U, SequenceSpan s, const float* y, const float* dOut, int64_t outStride, float* dU,
                     float* dy);
