// The range scans of native/scan.cc against plain loops. Byte 0 picks the scan (mod 3) and the array: small
// arrays are the input's bytes themselves; large ones (bits 2-4 set: up to 2^18 elements, several blocks over
// the pool's two threads) hold good values with a few bad ones planted where the input says. For firstIdOutOfRange, the
// next 8 bytes are rows (any int64, negative and past 2^31 included).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pool.h"
#include "scan.h"

namespace {
template <typename T>
std::vector<T> arrayOf(const uint8_t* data, size_t size, bool large, T good) {
  if (!large) {
    std::vector<T> v(size / sizeof(T));
    if (!v.empty()) std::memcpy(v.data(), data, v.size() * sizeof(T));
    return v;
  }
  // 3 bytes of length, then (3 bytes of position, one value) per planted element.
  if (size < 3) return {};
  const size_t n = (data[0] | data[1] << 8 | (data[2] & 3) << 16);
  std::vector<T> v(n, good);
  for (size_t p = 3; n && p + 3 + sizeof(T) <= size; p += 3 + sizeof(T))
    std::memcpy(&v[(data[p] | data[p + 1] << 8 | data[p + 2] << 16) % n], data + p + 3, sizeof(T));
  return v;
}

template <typename T, typename Bad>
int64_t firstByLoop(const std::vector<T>& v, Bad bad) {
  for (size_t i = 0; i < v.size(); ++i)
    if (bad(v[i])) return static_cast<int64_t>(i);
  return -1;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  setPoolThreads(2);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const int which = data[0] % 3;
  const bool large = (data[0] & 0x1c) == 0x1c;  // one input in eight
  ++data, --size;
  if (which == 0) {
    if (size < 8) return 0;
    int64_t rows;
    std::memcpy(&rows, data, 8);
    const auto ids = arrayOf<int32_t>(data + 8, size - 8, large, static_cast<int32_t>(rows > 0 ? rows / 2 : 0));
    const int64_t want = firstByLoop(ids, [&](int32_t id) { return id < 0 || id >= rows; });
    if (firstIdOutOfRange(ids.data(), static_cast<int64_t>(ids.size()), rows) != want) abort();
  } else if (which == 1) {
    const auto values = arrayOf<float>(data, size, large, 0.5f);
    if (firstNonFinite(values.data(), static_cast<int64_t>(values.size())) != firstByLoop(values, [](float x) { return !std::isfinite(x); }))
      abort();
  } else {
    const auto labels = arrayOf<float>(data, size, large, 1.0f);
    if (firstNotBinary(labels.data(), static_cast<int64_t>(labels.size())) != firstByLoop(labels, [](float x) { return x != 0 && x != 1; }))
      abort();
  }
  return 0;
}
