#pragma once
#include <cstdint>

// One embedding table: rows x dim floats, and its row-wise Adagrad state (one float per row) when used.
struct TableView {
  float* weights;
  float* state;
  int64_t rows;
};

// The lookups of one table for a batch in CSR form: bag b pools indices[offsets[b] .. offsets[b+1]).
struct BagsView {
  const int32_t* indices;
  const int32_t* offsets;
};

// Where table t's pooled rows live in a [bags x stride] activation: columns slot0 + t*dim .. +dim.
struct SlotLayout {
  int64_t bags;
  int64_t dim;
  int64_t stride;
  int64_t slot0;
};

void embeddingForward(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& layout,
                      float* out);
// Pools table t's bags into out; rowOf(t, index) gives the address of a looked-up row.
template <typename RowOf>
void poolBags(const BagsView& bags, int64_t t, const SlotLayout& L, float* out, RowOf rowOf);

enum class SparseOptimizer { Sgd, RowWiseAdagrad };

// Row-wise Adagrad merges the gradients of duplicate rows, then updates each touched row once; SGD applies
// each lookup's gradient in place (the same update, as SGD is linear).
void embeddingUpdate(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& layout,
                     const float* grad, SparseOptimizer optimizer, float lr, float eps);
// The same update for one table, on the calling thread.
void embeddingUpdateTable(const TableView& table, const BagsView& bags, int64_t t, const SlotLayout& layout,
                          const float* grad, SparseOptimizer optimizer, float lr, float eps);

// Fills a table with uniform values in [low, high) from a counter-based hash, identical to the TS oracle.
void fillUniform(float* data, int64_t n, uint32_t seed, uint32_t stream, double low, double high);
// Maps memory for a table, asking the kernel for transparent huge pages (fewer TLB misses on random rows).
float* allocateTable(int64_t floats);
void freeTable(float* data, int64_t floats);

template <typename RowOf>
void poolBags(const BagsView& bags, int64_t t, const SlotLayout& L, float* out, RowOf rowOf) {
  const int32_t* idx = bags.indices;
  const int32_t* off = bags.offsets;
  const int64_t nnz = off[L.bags];
  for (int64_t b = 0; b < L.bags; ++b) {
    float* dst = out + b * L.stride + L.slot0 + t * L.dim;
    for (int64_t j = 0; j < L.dim; ++j) dst[j] = 0.0f;
    for (int64_t p = off[b]; p < off[b + 1]; ++p) {
      if (p + 8 < nnz) __builtin_prefetch(rowOf(t, idx[p + 8]));
      const float* row = rowOf(t, idx[p]);
      for (int64_t j = 0; j < L.dim; ++j) dst[j] += row[j];
    }
  }
}
