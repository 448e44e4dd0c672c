#include "embedding.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "pool.h"
#include "scan.h"

namespace {

constexpr int kPrefetchDistance = 8;

// Row `id` of a table of dim floats a row, its offset computed in 64 bits: a table may hold up to 2^32
// floats (16 GiB), where id * dim passes 2^31.
template <typename T>
inline T* rowAt(T* weights, int64_t id, int64_t dim) {
  return weights + id * dim;
}

inline void addRow(float* __restrict dst, const float* __restrict src, int64_t dim) {
  for (int64_t j = 0; j < dim; ++j) dst[j] += src[j];
}

// Runs fn(table) for every table, handing tables to the pool's threads as they free up.
template <typename Fn>
void forEachTable(int64_t count, Fn fn) {
  std::atomic<int64_t> next{0};
  pool().run([&](int) {
    for (int64_t t; (t = next.fetch_add(1)) < count;) fn(t);
  });
}

// Open-addressing map from row id to a dense slot, reused across calls by each thread.
struct RowMerger {
  std::vector<int32_t> keys;
  std::vector<int32_t> slots;
  std::vector<int32_t> rows;
  std::vector<float> grads;

  void reset(int64_t lookups, int64_t dim) {
    size_t capacity = 16;
    while (capacity < static_cast<size_t>(lookups) * 2) capacity <<= 1;
    keys.assign(capacity, -1);
    slots.resize(capacity);
    rows.clear();
    grads.resize(static_cast<size_t>(lookups * dim));
  }
  // Returns the accumulator of row, zeroed when the row is new.
  float* slotOf(int32_t row, int64_t dim) {
    const size_t mask = keys.size() - 1;
    size_t h = (static_cast<uint32_t>(row) * 0x9e3779b1u) & mask;
    while (keys[h] != -1 && keys[h] != row) h = (h + 1) & mask;
    if (keys[h] == -1) {
      keys[h] = row;
      slots[h] = static_cast<int32_t>(rows.size());
      rows.push_back(row);
      float* g = &grads[static_cast<size_t>(slots[h] * dim)];
      std::memset(g, 0, sizeof(float) * dim);
      return g;
    }
    return &grads[static_cast<size_t>(slots[h] * dim)];
  }
};
thread_local RowMerger merger;

inline uint32_t hash32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

}  // namespace

std::string lookupError(const BagsView& bags, int64_t bagCount, int64_t indexCount, int64_t offsetCount, int64_t rows) {
  using std::to_string;
  const int32_t* off = bags.offsets;
  if (bagCount < 0 || offsetCount != bagCount + 1)
    return to_string(offsetCount) + " offsets for " + to_string(bagCount) + " bags (needs " + to_string(bagCount + 1) + ")";
  if (off[0] < 0) return "offsets start at " + to_string(off[0]) + ", below 0";
  int32_t decreases = 0;  // a reduction, not an early exit, so the loop vectorises
  for (int64_t b = 0; b < bagCount; ++b) decreases |= off[b + 1] < off[b];
  for (int64_t b = 0; decreases && b < bagCount; ++b)
    if (off[b + 1] < off[b])
      return "offset " + to_string(b + 1) + " (" + to_string(off[b + 1]) + ") is below offset " + to_string(b) + " (" + to_string(off[b]) + ")";
  if (off[bagCount] > indexCount) return "offsets end at " + to_string(off[bagCount]) + ", past its " + to_string(indexCount) + " ids";
  const int64_t p = firstIdOutOfRange(bags.indices + off[0], off[bagCount] - off[0], rows);
  if (p >= 0) return "id " + to_string(bags.indices[off[0] + p]) + " at lookup " + to_string(p) + " is outside its " + to_string(rows) + " rows";
  return "";
}

std::string layoutError(const SlotLayout& L, int64_t tables, int64_t floats) {
  using std::to_string;
  if (L.dim < 1 || L.bags < 0 || L.slot0 < 0 || L.stride < 0)
    return "layout of " + to_string(L.bags) + " bags, dim " + to_string(L.dim) + ", stride " + to_string(L.stride) + ", slot " + to_string(L.slot0) + " has a negative or zero size";
  if (L.slot0 + tables * L.dim > L.stride)
    return to_string(tables) + " tables of dim " + to_string(L.dim) + " from column " + to_string(L.slot0) + " overrun the stride of " + to_string(L.stride);
  if (L.bags * L.stride > floats)
    return to_string(L.bags) + " bags of stride " + to_string(L.stride) + " need " + to_string(L.bags * L.stride) + " floats, the activation holds " + to_string(floats);
  return "";
}

void embeddingForward(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& L, float* out,
                      bool accumulate) {
  forEachTable(count, [&](int64_t t) { poolBags(tables[t].weights, bags[t], t, L, out, accumulate); });
}

void poolBags(const float* w, const BagsView& bags, int64_t t, const SlotLayout& L, float* out, bool accumulate) {
  const int32_t* idx = bags.indices;
  const int32_t* off = bags.offsets;
  const int64_t nnz = off[L.bags];
  for (int64_t b = 0; b < L.bags; ++b) {
    float* dst = out + b * L.stride + L.slot0 + t * L.dim;
    if (!accumulate) std::memset(dst, 0, sizeof(float) * L.dim);
    for (int64_t p = off[b]; p < off[b + 1]; ++p) {
      if (p + kPrefetchDistance < nnz) __builtin_prefetch(rowAt(w, idx[p + kPrefetchDistance], L.dim));
      addRow(dst, rowAt(w, idx[p], L.dim), L.dim);
    }
  }
}

void embeddingUpdate(const TableView* tables, const BagsView* bags, int64_t count, const SlotLayout& L,
                     const float* grad, SparseOptimizer optimizer, float lr, float eps) {
  forEachTable(count, [&](int64_t t) { embeddingUpdateTable(tables[t], bags[t], t, L, grad, optimizer, lr, eps); });
}

void embeddingUpdateTable(const TableView& table, const BagsView& bags, int64_t t, const SlotLayout& L,
                          const float* grad, SparseOptimizer optimizer, float lr, float eps) {
  const int32_t* idx = bags.indices;
  const int32_t* off = bags.offsets;
  const int64_t dim = L.dim;
  if (optimizer == SparseOptimizer::Sgd) {
    // SGD is linear: applying each lookup's share is applying the merged gradient, without the merge.
    for (int64_t b = 0; b < L.bags; ++b) {
      const float* g = grad + b * L.stride + L.slot0 + t * dim;
      for (int64_t p = off[b]; p < off[b + 1]; ++p) {
        if (p + kPrefetchDistance < off[L.bags]) __builtin_prefetch(rowAt(table.weights, idx[p + kPrefetchDistance], dim), 1);
        float* w = rowAt(table.weights, idx[p], dim);
        for (int64_t j = 0; j < dim; ++j) w[j] -= lr * g[j];
      }
    }
    return;
  }
  merger.reset(off[L.bags], dim);
  for (int64_t b = 0; b < L.bags; ++b) {
    const float* g = grad + b * L.stride + L.slot0 + t * dim;
    for (int64_t p = off[b]; p < off[b + 1]; ++p) addRow(merger.slotOf(idx[p], dim), g, dim);
  }
  const int64_t unique = static_cast<int64_t>(merger.rows.size());
  for (int64_t u = 0; u < unique; ++u) {
    if (u + kPrefetchDistance < unique) __builtin_prefetch(rowAt(table.weights, merger.rows[u + kPrefetchDistance], dim), 1);
    const int64_t row = merger.rows[u];
    float* w = rowAt(table.weights, row, dim);
    const float* g = &merger.grads[static_cast<size_t>(u * dim)];
    float sumSquares = 0;
    for (int64_t j = 0; j < dim; ++j) sumSquares += g[j] * g[j];
    table.state[row] += sumSquares / static_cast<float>(dim);
    const float denom = std::sqrt(table.state[row]) + eps;
    for (int64_t j = 0; j < dim; ++j) w[j] -= lr * (g[j] / denom);
  }
}

int64_t rowSegments(const int32_t* ids, const int32_t* offsets, int64_t bagCount, int32_t* rows, int32_t* starts, int32_t* lookups) {
  const int64_t base = offsets[0], n = offsets[bagCount] - base;
  // Kept between calls (a step's batch is the size of the last): no fresh pages to fault in every step.
  thread_local std::vector<uint32_t> keys, keysOut;
  thread_local std::vector<int32_t> bags, bagsOut;
  for (auto* v : {&keys, &keysOut}) v->resize(static_cast<size_t>(n));
  for (auto* v : {&bags, &bagsOut}) v->resize(static_cast<size_t>(n));
  uint32_t largest = 0;
  for (int64_t bag = 0; bag < bagCount; ++bag) {
    for (int64_t q = offsets[bag]; q < offsets[bag + 1]; ++q) {
      keys[q - base] = static_cast<uint32_t>(ids[q]);
      bags[q - base] = static_cast<int32_t>(bag);
      largest = std::max(largest, static_cast<uint32_t>(ids[q]));
    }
  }
  // 11 bits a pass: the counts stay in L1.
  constexpr int kBits = 11;
  constexpr uint32_t kMask = (1u << kBits) - 1;
  int64_t counts[(1 << kBits) + 1];
  for (int shift = 0; shift < 32 && (shift == 0 || (largest >> shift) > 0); shift += kBits) {
    std::fill(counts, counts + (1 << kBits) + 1, 0);
    for (int64_t q = 0; q < n; ++q) ++counts[((keys[q] >> shift) & kMask) + 1];
    for (size_t d = 0; d < (1u << kBits); ++d) counts[d + 1] += counts[d];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t at = counts[(keys[i] >> shift) & kMask]++;
      keysOut[at] = keys[i];
      bagsOut[at] = bags[i];
    }
    keys.swap(keysOut);
    bags.swap(bagsOut);
  }
  int64_t distinct = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (i == 0 || keys[i] != keys[i - 1]) {
      rows[distinct] = static_cast<int32_t>(keys[i]);
      starts[distinct++] = static_cast<int32_t>(i);
    }
    lookups[i] = bags[i];
  }
  starts[distinct] = static_cast<int32_t>(n);
  return distinct;
}

void splitLookups(const int32_t* const* slotOf, const int32_t* ids, const int32_t* offsets, int64_t tables,
                  int64_t bags, const int32_t* tierEnd, int64_t tiers, int32_t* const* outIds, int32_t* const* outOffsets) {
  const int64_t placed = tiers - 1;
  // Pass 1, a table per task: table t's lookups of tier k go to outIds[k] from the table's own start in ids
  // (no tier gets more of them than the table has), its offsets counted from that start.
  forEachTable(tables, [&](int64_t t) {
    const int32_t* slots = slotOf[t];
    const int64_t first = offsets[t * bags], last = offsets[(t + 1) * bags];
    int32_t counts[8] = {0};
    for (int64_t b = 0; b < bags; ++b) {
      for (int64_t p = offsets[t * bags + b]; p < offsets[t * bags + b + 1]; ++p) {
        if (p + 16 < last) __builtin_prefetch(slots + ids[p + 16]);  // the slot map is large: hide its misses
        const int32_t slot = slots[ids[p]];
        if (slot < 0) {
          outIds[placed][first + counts[placed]++] = ids[p];
          continue;
        }
        int64_t k = 0;
        while (slot >= tierEnd[k]) ++k;
        outIds[k][first + counts[k]++] = slot - (k > 0 ? tierEnd[k - 1] : 0);
      }
      for (int64_t k = 0; k < tiers; ++k) outOffsets[k][t * bags + b + 1] = counts[k];
    }
  });
  // Pass 2: each tier's tables packed in order, offsets made absolute.
  for (int64_t k = 0; k < tiers; ++k) {
    int32_t* out = outIds[k];
    int32_t* off = outOffsets[k];
    int32_t base = 0;
    off[0] = 0;
    for (int64_t t = 0; t < tables; ++t) {
      const int32_t count = off[(t + 1) * bags], first = offsets[t * bags];
      if (base != first && count > 0) std::memmove(out + base, out + first, static_cast<size_t>(count) * 4);
      for (int64_t b = 1; b <= bags; ++b) off[t * bags + b] += base;
      base += count;
    }
  }
}

void fillUniform(float* data, int64_t n, uint32_t seed, uint32_t stream, double low, double high, int64_t first) {
  const uint32_t key = hash32(seed ^ hash32(stream + 0x9e3779b9u));
  pool().parallelFor(n, 1 << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const double u = static_cast<double>(hash32(key ^ hash32(static_cast<uint32_t>(first + i))) >> 8) / 16777216.0;
      data[i] = static_cast<float>(low + (high - low) * u);
    }
  });
}

float* allocateTable(int64_t floats) {
  const size_t bytes = static_cast<size_t>(floats) * sizeof(float);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  madvise(p, bytes, MADV_HUGEPAGE);
  return static_cast<float*>(p);
}

void freeTable(float* data, int64_t floats) { munmap(data, static_cast<size_t>(floats) * sizeof(float)); }
