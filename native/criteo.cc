#include "criteo.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace {
constexpr int kDense = 13;
constexpr int kCategorical = 26;

inline int hexDigit(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  const uint8_t lower = c | 0x20;
  return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}
}  // namespace

int64_t parseCriteo(const uint8_t* b, int64_t length, bool labelled, float* labels, float* dense, double* const* keys,
                    int64_t capacity) {
  constexpr int64_t kMaxLine = 1 << 16;
  int64_t row = 0, p = 0;
  while (p < length) {
    if (row >= capacity) return -1;
    const int64_t lineStart = p;
    // One line: fields in order, each ended by a tab, the last by the line end.
    if (labelled) {
      if (p + 1 >= length || (b[p] != '0' && b[p] != '1') || b[p + 1] != '\t') return -1;
      labels[row] = static_cast<float>(b[p] - '0');
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
      if (p >= length || b[p] != '\t' || (negative && p == digits)) return -1;
      dense[row * kDense + j] = (p == start || negative) ? 0.0f : static_cast<float>(std::log1p(value));
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
      keys[t][row] = p == start ? -1.0 : static_cast<double>(value);
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

int64_t countKeys(const double* keys, int64_t n, double* values, double* counts) {
  std::vector<double> sorted(keys, keys + n);
  std::sort(sorted.begin(), sorted.end());
  int64_t distinct = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && sorted[j] == sorted[i]) ++j;
    values[distinct] = sorted[i];
    counts[distinct] = static_cast<double>(j - i);
    ++distinct;
    i = j;
  }
  return distinct;
}

void lookupKeys(const double* keys, int64_t n, const double* sortedKeys, const int32_t* sortedIds, int64_t vocabulary,
                int32_t missing, int32_t* ids) {
  for (int64_t i = 0; i < n; ++i) {
    const double* at = std::lower_bound(sortedKeys, sortedKeys + vocabulary, keys[i]);
    ids[i] = (at != sortedKeys + vocabulary && *at == keys[i]) ? sortedIds[at - sortedKeys] : missing;
  }
}

void sortVocabulary(double* keys, int32_t* ids, int64_t n) {
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  std::vector<double> k(static_cast<size_t>(n));
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    k[i] = keys[order[i]];
    v[i] = ids[order[i]];
  }
  std::copy(k.begin(), k.end(), keys);
  std::copy(v.begin(), v.end(), ids);
}
