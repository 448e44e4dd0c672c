// parseCriteo (native/criteo.cc) against a reference parser written plainly from the TypeScript parser's
// rules (src/data/formats/criteo-tsv.ts, lines.ts). The native answer must be -1 (the TypeScript parser then
// takes the chunk) or the reference's rows, bit for bit; it must accept what the reference accepts (else the
// fast path silently gives up on good data); and it never writes past `capacity` rows.
// Input: one options byte (bit 0: labelled; bits 1-2: capacity = lines, lines - 1, lines + 2 or 0), then the
// TSV bytes. Built with HOTLINE_PARSE_PART_BYTES=256, so inputs past 256 bytes are split over the pool's two
// threads at the line ends the input puts there.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "criteo.h"
#include "pool.h"

namespace {
constexpr int kDense = kCriteoDense, kCategorical = kCriteoCategorical;
constexpr int64_t kMaxLine = 1 << 16;

struct Rows {
  std::vector<float> labels, dense;
  std::vector<std::vector<double>> keys = std::vector<std::vector<double>>(kCategorical);
};

int hex(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One line's fields [start, stop) (line end and its CR removed) into rows; false when the line is bad.
bool referenceLine(const uint8_t* b, int64_t start, int64_t stop, bool labelled, Rows& rows) {
  if (stop - start > kMaxLine) return false;
  std::vector<std::pair<int64_t, int64_t>> fields;
  for (int64_t p = start;;) {
    int64_t e = p;
    while (e < stop && b[e] != '\t') ++e;
    fields.emplace_back(p, e);
    if (e == stop) break;
    p = e + 1;
  }
  if (fields.size() != static_cast<size_t>(kDense + kCategorical + (labelled ? 1 : 0))) return false;
  size_t f = 0;
  if (labelled) {
    const auto [p, e] = fields[f++];
    if (e - p != 1 || (b[p] != '0' && b[p] != '1')) return false;
    rows.labels.push_back(static_cast<float>(b[p] - '0'));
  }
  for (int j = 0; j < kDense; ++j) {
    const auto [p, e] = fields[f++];
    double value = 0;
    if (e > p) {
      int64_t i = p;
      const bool negative = b[i] == '-';
      if (negative) ++i;
      if (i == e) return false;
      for (; i < e; ++i) {
        if (b[i] < '0' || b[i] > '9') return false;
        value = value * 10 + (b[i] - '0');
      }
      if (std::isinf(value)) return false;  // issue 11: a number too large to be finite is refused
      value = negative ? 0 : std::log1p(value);
    }
    rows.dense.push_back(static_cast<float>(value));
  }
  for (int t = 0; t < kCategorical; ++t) {
    const auto [p, e] = fields[f++];
    double key = -1;
    if (e > p) {
      if (e - p > 8) return false;
      uint32_t v = 0;
      for (int64_t i = p; i < e; ++i) {
        if (hex(b[i]) < 0) return false;
        v = v * 16 + static_cast<uint32_t>(hex(b[i]));
      }
      key = v;
    }
    rows.keys[t].push_back(key);
  }
  return true;
}

// The rows of every line, or false when one is bad; longest = the longest line with its CR and LF.
bool reference(const uint8_t* b, int64_t length, bool labelled, Rows& rows, int64_t& lines, int64_t& longest) {
  bool ok = true;
  lines = longest = 0;
  for (int64_t pos = 0; pos < length;) {
    const void* nl = std::memchr(b + pos, '\n', static_cast<size_t>(length - pos));
    const int64_t end = nl ? static_cast<const uint8_t*>(nl) - b : length;
    const int64_t stop = end > pos && b[end - 1] == '\r' ? end - 1 : end;
    ok = ok && referenceLine(b, pos, stop, labelled, rows);
    longest = std::max(longest, end + (nl ? 1 : 0) - pos);
    ++lines;
    pos = end + 1;
  }
  return ok;
}

bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setPoolThreads(2);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t options = data[0];
  const bool labelled = options & 1;
  // The TSV bytes as the addon may get them: exactly sized, and no data pointer when empty.
  const std::vector<uint8_t> text(data + 1, data + size);
  const int64_t length = static_cast<int64_t>(text.size());
  Rows want;
  int64_t lines = 0, longest = 0;
  const bool good = reference(text.data(), length, labelled, want, lines, longest);
  const int64_t capacities[4] = {lines, lines - 1, lines + 2, 0};
  const int64_t capacity = std::max<int64_t>(0, capacities[(options >> 1) & 3]);

  // Exactly `capacity` rows, so AddressSanitizer sees any write past them.
  std::vector<float> labels(static_cast<size_t>(capacity)), dense(static_cast<size_t>(capacity * kDense));
  std::vector<std::vector<double>> keyColumns(kCategorical, std::vector<double>(static_cast<size_t>(capacity)));
  double* keys[kCategorical];
  for (int t = 0; t < kCategorical; ++t) keys[t] = keyColumns[t].data();
  const int64_t rows = parseCriteo(text.data(), length, labelled, labels.data(), dense.data(), keys, capacity);

  if (rows == -1) {
    // Only a bad line, too few rows, or a line the native parser's stricter length limit (CR and LF
    // included) refuses, may send the chunk to the TypeScript parser.
    if (good && capacity >= lines && longest <= kMaxLine) abort();
    return 0;
  }
  if (!good || rows != lines || rows > capacity) abort();
  for (int64_t r = 0; r < rows; ++r) {
    if (labelled && !sameBits(labels[r], want.labels[r])) abort();
    for (int j = 0; j < kDense; ++j)
      if (!sameBits(dense[r * kDense + j], want.dense[r * kDense + j])) abort();
    for (int t = 0; t < kCategorical; ++t)
      if (keyColumns[t][r] != want.keys[t][r]) abort();
  }
  return 0;
}
