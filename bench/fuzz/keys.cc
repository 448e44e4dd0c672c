// The key counting and vocabulary code of native/criteo.cc on keys decoded from the input, against std::map:
// countKeys per chunk (first-seen order, counts summing to the chunk's length, local indices), the running
// totals (createCounts, addCounts, distinctCounts, finishCounts at a min count), and lookups in the
// vocabulary it gives (each key's id, or the rare id when it was left out).
// Input: byte 0 = key width (1, 2, 4 or 8 bytes: all ones is the missing key -1; 8 bytes cover -1 .. 2^32-1),
// byte 1 = chunk length, byte 2 = min count, then the keys.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "criteo.h"

namespace {
std::vector<double> decodeKeys(const uint8_t* data, size_t size, int width) {
  std::vector<double> keys;
  for (size_t p = 0; p + width <= size; p += width) {
    uint64_t v = 0;
    std::memcpy(&v, data + p, width);
    if (width == 8)
      keys.push_back(static_cast<double>(static_cast<int64_t>(v % ((uint64_t{1} << 32) + 1)) - 1));
    else
      keys.push_back(v == (uint64_t{1} << (8 * width)) - 1 ? -1.0 : static_cast<double>(v));
  }
  return keys;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const int widths[4] = {1, 2, 4, 8};
  const std::vector<double> keys = decodeKeys(data + 3, size - 3, widths[data[0] & 3]);
  const int64_t n = static_cast<int64_t>(keys.size()), chunk = 1 + data[1];
  const double minCount = 1 + data[2] % 4;

  std::map<double, int64_t> totals;
  const int64_t handle = createCounts();
  for (int64_t lo = 0; lo < n || lo == 0; lo += chunk) {
    const int64_t m = std::min(chunk, n - lo);
    std::vector<double> values(static_cast<size_t>(m)), counts(static_cast<size_t>(m));
    std::vector<uint32_t> local(static_cast<size_t>(m));
    const int64_t distinct = countKeys(keys.data() + lo, m, values.data(), counts.data(), local.data());
    std::map<double, int64_t> seen;
    std::vector<double> order;
    for (int64_t i = lo; i < lo + m; ++i)
      if (seen[keys[i]]++ == 0) order.push_back(keys[i]);
    if (distinct != static_cast<int64_t>(order.size())) abort();
    double sum = 0;
    for (int64_t j = 0; j < distinct; ++j) {
      if (values[j] != order[j] || counts[j] != static_cast<double>(seen[order[j]])) abort();
      sum += counts[j];
    }
    if (sum != static_cast<double>(m)) abort();
    for (int64_t i = 0; i < m; ++i)
      if (local[i] >= distinct || values[local[i]] != keys[lo + i]) abort();
    addCounts(handle, values.data(), counts.data(), distinct);
    for (const auto& [k, c] : seen) totals[k] += c;
    if (distinctCounts(handle) != static_cast<int64_t>(totals.size())) abort();
    if (m <= 0) break;
  }

  // Count descending, then key ascending; only keys seen minCount times or more.
  std::vector<std::pair<int64_t, double>> kept;
  for (const auto& [k, c] : totals)
    if (c >= minCount) kept.emplace_back(-c, k);
  std::sort(kept.begin(), kept.end());
  std::vector<double> keysById(totals.size());
  const int64_t size2 = finishCounts(handle, minCount, keysById.data());
  if (size2 != static_cast<int64_t>(kept.size())) abort();
  std::map<double, int32_t> idOf;
  for (int64_t id = 0; id < size2; ++id) {
    if (keysById[id] != kept[id].second) abort();
    idOf[keysById[id]] = static_cast<int32_t>(id);
  }

  const int64_t vocabulary = createVocabulary(keysById.data(), size2);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  const int32_t rare = static_cast<int32_t>(size2);
  lookupVocabulary(vocabulary, keys.data(), n, rare, ids.data());
  for (int64_t i = 0; i < n; ++i) {
    const auto it = idOf.find(keys[i]);
    if (ids[i] != (it == idOf.end() ? rare : it->second)) abort();
  }
  releaseVocabularies();
  return 0;
}
