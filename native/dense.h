#pragma once
#include <cstdint>

// Y[rows x cols] = act(Y + bias), act = ReLU when relu.
void biasActivation(float* Y, int64_t rows, int64_t cols, const float* bias, bool relu);
// dY *= (Y > 0) when relu; dBias = column sums of dY, added to dBias when accumulate.
void activationBackward(float* dY, const float* Y, int64_t rows, int64_t cols, bool relu, float* dBias, bool accumulate);

// Dot interaction over F feature vectors of width d per sample, T = [bags x F x d]:
// out[b] = [T[b,0,:], <T[b,i],T[b,j]> for i in 1..F-1, j < i], width d + F(F-1)/2, row stride outStride.
void interactionDotForward(const float* T, int64_t bags, int64_t F, int64_t d, float* out, int64_t outStride);
// dT from dOut, the inverse of the forward above.
void interactionDotBackward(const float* T, const float* dOut, int64_t bags, int64_t F, int64_t d, int64_t outStride,
                            float* dT);

void denseSgd(float* w, const float* g, int64_t n, float lr);
// Adagrad: state += g^2; w -= lr * g / (sqrt(state) + eps).
void denseAdagrad(float* w, float* state, const float* g, int64_t n, float lr, float eps);
