#pragma once
#include <cstdint>
#include <string>

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

// The bounds check's tests, each "" when the arrays are consistent, else what is wrong. lookupError: the
// offsets (offsetCount of them) are bagCount + 1 non-decreasing entries from 0 to at most indexCount, and every
// id they cover is in [0, rows). layoutError: `tables` tables of the layout fit its stride and its
// bags x stride activation fits the `floats` floats of the array.
std::string lookupError(const BagsView& bags, int64_t bagCount, int64_t indexCount, int64_t offsetCount, int64_t rows);
std::string layoutError(const SlotLayout& layout, int64_t tables, int64_t floats);

// Sum-pools every table's bags into out (added to what is there when accumulate).
void embeddingForward(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& layout,
                      float* out, bool accumulate);
// Pools table t's bags into out (overwriting, or adding when accumulate) from rows of `weights`.
void poolBags(const float* weights, const BagsView& bags, int64_t t, const SlotLayout& L, float* out, bool accumulate);

enum class SparseOptimizer { Sgd, RowWiseAdagrad };

// Row-wise Adagrad merges the gradients of duplicate rows, then updates each touched row once; SGD applies
// each lookup's gradient in place (the same update, as SGD is linear).
void embeddingUpdate(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& layout,
                     const float* grad, SparseOptimizer optimizer, float lr, float eps);
// The same update for one table, on the calling thread.
void embeddingUpdateTable(const TableView& table, const BagsView& bags, int64_t t, const SlotLayout& layout,
                          const float* grad, SparseOptimizer optimizer, float lr, float eps);

// Splits each table's lookups by tier in batch order: rows with slotOf[row] >= 0 go to fast (as slots), the
// others to host (as row ids); fastOffsets/hostOffsets get the CSR offsets of both (bags + 1 entries).
void partitionLookups(const int32_t* const* slotOf, const BagsView* bags, int64_t tables, int64_t bagCount,
                      int32_t* const* fastIndices, int32_t* const* fastOffsets, int32_t* const* hostIndices,
                      int32_t* const* hostOffsets);

// Fills a table with uniform values in [low, high) from a counter-based hash, identical to the TS oracle.
void fillUniform(float* data, int64_t n, uint32_t seed, uint32_t stream, double low, double high);
// Maps memory for a table, asking the kernel for transparent huge pages (fewer TLB misses on random rows).
float* allocateTable(int64_t floats);
void freeTable(float* data, int64_t floats);

