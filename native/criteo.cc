#include "criteo.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <cmath>
#include <numeric>
#include <vector>

#include "pool.h"

namespace {
constexpr int kDense = kCriteoDense;
constexpr int kCategorical = kCriteoCategorical;

// Lookup tables: hex digit values (-1 for other bytes), and log1p of the small counts that make up most of
// Criteo's integer features.
struct Tables {
  int8_t hex[256];
  float log1pSmall[1 << 16];
  Tables() {
    for (int c = 0; c < 256; ++c) hex[c] = -1;
    for (int c = 0; c < 10; ++c) hex['0' + c] = static_cast<int8_t>(c);
    for (int c = 0; c < 6; ++c) hex['a' + c] = hex['A' + c] = static_cast<int8_t>(10 + c);
    for (int v = 0; v < (1 << 16); ++v) log1pSmall[v] = static_cast<float>(std::log1p(static_cast<double>(v)));
  }
};
const Tables tables;

inline int hexDigit(uint8_t c) { return tables.hex[c]; }

// Line ends in [from, to). An empty typed array may have no data pointer, and memchr must not see a null one.
int64_t lineEnds(const uint8_t* from, const uint8_t* to) {
  int64_t lines = 0;
  for (const uint8_t* q = from; q < to && (q = static_cast<const uint8_t*>(std::memchr(q, '\n', static_cast<size_t>(to - q)))); ++q) ++lines;
  return lines;
}
}  // namespace

namespace {
int64_t parseLines(const uint8_t* b, int64_t length, bool labelled, float* labels, float* dense, double* const* keys,
                   int64_t rowOffset, int64_t capacity) {
  constexpr int64_t kMaxLine = 1 << 16;
  int64_t row = 0, p = 0;
  while (p < length) {
    if (row >= capacity) return -1;
    const int64_t lineStart = p, r = rowOffset + row;
    // One line: fields in order, each ended by a tab, the last by the line end.
    if (labelled) {
      if (p + 1 >= length || (b[p] != '0' && b[p] != '1') || b[p + 1] != '\t') return -1;
      labels[r] = static_cast<float>(b[p] - '0');
      p += 2;
    }
    for (int j = 0; j < kDense; ++j) {
      double value = 0;
      bool negative = false;
      const int64_t start = p;
      if (p < length && b[p] == '-') {
        negative = true;
        ++p;
      }
      const int64_t digits = p;
      while (p < length && b[p] >= '0' && b[p] <= '9') value = value * 10 + (b[p++] - '0');
      // A number past double's range (over 308 digits) is infinite: the TypeScript parser refuses it.
      if (p >= length || b[p] != '\t' || (negative && p == digits) || std::isinf(value)) return -1;
      dense[r * kDense + j] = (p == start || negative) ? 0.0f
                              : value < (1 << 16) ? tables.log1pSmall[static_cast<int>(value)] : static_cast<float>(std::log1p(value));
      ++p;
    }
    for (int t = 0; t < kCategorical; ++t) {
      const int64_t start = p;
      uint32_t value = 0;
      int h;
      while (p < length && (h = hexDigit(b[p])) >= 0) {
        value = value * 16 + static_cast<uint32_t>(h);
        ++p;
      }
      if (p - start > 8) return -1;
      keys[t][r] = p == start ? -1.0 : static_cast<double>(value);
      const bool last = t == kCategorical - 1;
      if (!last) {
        if (p >= length || b[p] != '\t') return -1;
        ++p;
        continue;
      }
      if (p < length && b[p] == '\r') ++p;
      if (p < length && b[p] != '\n') return -1;
      ++p;  // past the line end (or the end of the bytes)
    }
    if (p - lineStart > kMaxLine) return -1;
    ++row;
  }
  return row;
}
}  // namespace

// Bytes per thread below which a parse is not split. The fuzz build (bench/fuzz) makes it small, so that its
// short inputs are split too.
#ifndef HOTLINE_PARSE_PART_BYTES
#define HOTLINE_PARSE_PART_BYTES (1 << 20)
#endif

int64_t parseCriteo(const uint8_t* b, int64_t length, bool labelled, float* labels, float* dense, double* const* keys,
                    int64_t capacity) {
  // Parts that end at line ends, one per thread; each part's first row follows from the line ends before it.
  const int parts = static_cast<int>(std::min<int64_t>(pool().size(), 1 + length / HOTLINE_PARSE_PART_BYTES));
  std::vector<int64_t> start(parts + 1, length), firstRow(parts + 1, 0);
  start[0] = 0;
  for (int k = 1; k < parts; ++k) {
    const void* nl = std::memchr(b + length * k / parts, '\n', static_cast<size_t>(length - length * k / parts));
    start[k] = nl ? static_cast<const uint8_t*>(nl) - b + 1 : length;
  }
  for (int k = 1; k < parts; ++k) start[k] = std::max(start[k], start[k - 1]);
  for (int k = 0; k < parts; ++k) {
    int64_t lines = lineEnds(b + start[k], b + start[k + 1]);
    // An unterminated last line belongs to the part that ends the bytes, which need not be the last part: a
    // last line longer than a part leaves the parts after it empty.
    if (start[k + 1] == length && start[k + 1] > start[k] && b[length - 1] != '\n') ++lines;
    firstRow[k + 1] = firstRow[k] + lines;
  }
  std::vector<int64_t> rows(parts, 0);
  pool().run([&](int w) {
    if (w >= parts) return;
    rows[w] = parseLines(b + start[w], start[w + 1] - start[w], labelled, labels, dense, keys, firstRow[w],
                         std::min(capacity, firstRow[w + 1]) - firstRow[w]);
  });
  int64_t total = 0;
  for (int k = 0; k < parts; ++k) {
    if (rows[k] != firstRow[k + 1] - firstRow[k]) return -1;
    total += rows[k];
  }
  return total;
}

int64_t countKeys(const double* keys, int64_t n, double* values, double* counts, uint32_t* local) {
  // Keys are -1 or 32-bit values: stored + 2 so 0 marks an empty slot of the open-addressing table. Distinct
  // keys come out in first-seen order (the running totals they are added to do not depend on the order).
  size_t capacity = 1024;
  while (capacity < static_cast<size_t>(n) * 2) capacity <<= 1;
  thread_local std::vector<uint64_t> slotKey;
  thread_local std::vector<int64_t> slotIndex;
  slotKey.assign(capacity, 0);
  slotIndex.resize(capacity);
  const size_t mask = capacity - 1;
  int64_t distinct = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t k = static_cast<uint64_t>(static_cast<int64_t>(keys[i]) + 2);
    size_t h = static_cast<size_t>((k * 0x9e3779b97f4a7c15ull) >> 20) & mask;
    while (slotKey[h] != 0 && slotKey[h] != k) h = (h + 1) & mask;
    if (slotKey[h] == 0) {
      slotKey[h] = k;
      slotIndex[h] = distinct;
      values[distinct] = keys[i];
      counts[distinct++] = 0;
    }
    counts[slotIndex[h]] += 1;
    local[i] = static_cast<uint32_t>(slotIndex[h]);
  }
  return distinct;
}

int64_t countLineEnds(const uint8_t* b, int64_t length) { return lineEnds(b, b + length); }

namespace {
// Open addressing over keys stored + 2 (so 0 marks an empty slot): keys are -1 or 32-bit values.
struct KeyTable {
  std::vector<uint64_t> keys;
  std::vector<int64_t> values;
  size_t mask = 0;
  explicit KeyTable(size_t expected) {
    size_t capacity = 16;
    while (capacity < expected * 2) capacity <<= 1;
    keys.assign(capacity, 0);
    values.assign(capacity, 0);
    mask = capacity - 1;
  }
  static uint64_t encode(double key) { return static_cast<uint64_t>(static_cast<int64_t>(key) + 2); }
  size_t slot(uint64_t k) const {
    size_t h = static_cast<size_t>((k * 0x9e3779b97f4a7c15ull) >> 20) & mask;
    while (keys[h] != 0 && keys[h] != k) h = (h + 1) & mask;
    return h;
  }
};
std::vector<std::unique_ptr<KeyTable>> vocabularies;
}  // namespace

// Distinct keys the running totals have room for at first. The fuzz build (bench/fuzz) starts them small, so
// that its short inputs make them grow.
#ifndef HOTLINE_COUNTS_INITIAL
#define HOTLINE_COUNTS_INITIAL (1 << 16)
#endif

namespace {
// Running totals of one column's counts, growing with the distinct keys seen (not with the input).
struct CountTable {
  KeyTable table{HOTLINE_COUNTS_INITIAL};
  size_t used = 0;
  void add(uint64_t k, int64_t count) {
    if ((used + 1) * 2 > table.keys.size()) grow();
    const size_t h = table.slot(k);
    if (table.keys[h] == 0) {
      table.keys[h] = k;
      ++used;
    }
    table.values[h] += count;
  }
  void grow() {
    KeyTable bigger(table.keys.size());
    for (size_t h = 0; h < table.keys.size(); ++h) {
      if (table.keys[h] == 0) continue;
      const size_t g = bigger.slot(table.keys[h]);
      bigger.keys[g] = table.keys[h];
      bigger.values[g] = table.values[h];
    }
    table = std::move(bigger);
  }
};
std::vector<std::unique_ptr<CountTable>> countTables;
}  // namespace

int64_t createCounts() {
  countTables.push_back(std::make_unique<CountTable>());
  return static_cast<int64_t>(countTables.size() - 1);
}

void addCounts(int64_t handle, const double* values, const double* counts, int64_t n) {
  CountTable& totals = *countTables.at(static_cast<size_t>(handle));
  for (int64_t i = 0; i < n; ++i) totals.add(KeyTable::encode(values[i]), static_cast<int64_t>(counts[i]));
}

int64_t finishCounts(int64_t handle, double minCount, double* keysById) {
  auto totals = std::move(countTables.at(static_cast<size_t>(handle)));
  const KeyTable& t = totals->table;
  std::vector<std::pair<int64_t, uint64_t>> kept;  // (-count, key): count descending, then key ascending
  for (size_t h = 0; h < t.keys.size(); ++h)
    if (t.keys[h] != 0 && static_cast<double>(t.values[h]) >= minCount) kept.emplace_back(-t.values[h], t.keys[h]);
  std::sort(kept.begin(), kept.end());
  for (size_t i = 0; i < kept.size(); ++i) keysById[i] = static_cast<double>(static_cast<int64_t>(kept[i].second) - 2);
  return static_cast<int64_t>(kept.size());
}

int64_t distinctCounts(int64_t handle) { return static_cast<int64_t>(countTables.at(static_cast<size_t>(handle))->used); }

int64_t createVocabulary(const double* keysById, int64_t n) {
  auto table = std::make_unique<KeyTable>(static_cast<size_t>(n));
  for (int64_t id = 0; id < n; ++id) {
    const uint64_t k = KeyTable::encode(keysById[id]);
    const size_t h = table->slot(k);
    table->keys[h] = k;
    table->values[h] = id;
  }
  vocabularies.push_back(std::move(table));
  return static_cast<int64_t>(vocabularies.size() - 1);
}

void lookupVocabulary(int64_t handle, const double* keys, int64_t n, int32_t missing, int32_t* ids) {
  const KeyTable& table = *vocabularies.at(static_cast<size_t>(handle));
  for (int64_t i = 0; i < n; ++i) {
    if (i + 16 < n) __builtin_prefetch(&table.keys[static_cast<size_t>((KeyTable::encode(keys[i + 16]) * 0x9e3779b97f4a7c15ull) >> 20) & table.mask]);
    const size_t h = table.slot(KeyTable::encode(keys[i]));
    ids[i] = table.keys[h] != 0 ? static_cast<int32_t>(table.values[h]) : missing;
  }
}

void releaseVocabularies() { vocabularies.clear(); }
