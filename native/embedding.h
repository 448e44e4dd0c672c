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
// offsets (offsetCount of them) are bagCount + 1 non-decreasing entries from at least 0 to at most indexCount (a
// jagged batch's table views share one ids array), and every
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

// Splits a jagged batch's lookups (ids, offsets [tables * bags + 1]) by tier, in batch order: a row with
// slotOf[t][row] < 0 lives in the home tier (the last, tiers - 1) and keeps its id; else its slot s is in tier k,
// the first with s < tierEnd[k], as the local slot s - tierEnd[k - 1]. outIds[k] (room for every id) and
// outOffsets[k] ([tables * bags + 1]) receive tier k's jagged lookups. At most 8 tiers.
void splitLookups(const int32_t* const* slotOf, const int32_t* ids, const int32_t* offsets, int64_t tables,
                  int64_t bags, const int32_t* tierEnd, int64_t tiers, int32_t* const* outIds, int32_t* const* outOffsets);

// Groups a jagged batch's lookups (ids, offsets over bagCount bags) by the id they read: rows gets each distinct id
// once, ascending; segment u is lookups[starts[u] .. starts[u + 1]), the bag of each lookup of rows[u] in batch order.
// A stable radix sort, 11 bits a pass. rows and lookups have room for every lookup, starts for one more. Returns the
// number of distinct rows.
int64_t rowSegments(const int32_t* ids, const int32_t* offsets, int64_t bagCount, int32_t* rows, int32_t* starts, int32_t* lookups);

// Fills a table with uniform values in [low, high) from a counter-based hash, identical to the TS oracle; element i
// takes counter first + i, so a table filled in parts (an SSD tier's file, chunk by chunk) equals one filled whole.
void fillUniform(float* data, int64_t n, uint32_t seed, uint32_t stream, double low, double high, int64_t first);
// Maps memory for a table, asking the kernel for transparent huge pages (fewer TLB misses on random rows).
float* allocateTable(int64_t floats);
void freeTable(float* data, int64_t floats);

