#include "scan.h"

#include <algorithm>
#include <atomic>
#include <bit>

#include "pool.h"

namespace {

// Elements per block: large enough that handing out a block costs nothing, small enough that a bad element
// stops the other threads soon after it is found.
constexpr int64_t kBlock = 1 << 16;

// The first i in [0, n) with bad(i), or -1. Blocks go to the threads in increasing order, and a thread skips
// any block that starts past the best index found so far, so the result is the first bad index.
template <typename Bad>
int64_t firstBad(int64_t n, Bad bad) {
  if (n <= 0) return -1;
  const auto blockFirst = [&](int64_t lo, int64_t hi) -> int64_t {
    uint32_t any = 0;
    for (int64_t i = lo; i < hi; ++i) any |= bad(i);
    if (any == 0) return -1;
    for (int64_t i = lo; i < hi; ++i)
      if (bad(i)) return i;
    return -1;
  };
  if (n <= kBlock || pool().size() == 1) {
    for (int64_t lo = 0; lo < n; lo += kBlock)
      if (const int64_t i = blockFirst(lo, std::min(n, lo + kBlock)); i >= 0) return i;
    return -1;
  }
  std::atomic<int64_t> next{0}, first{n};
  pool().run([&](int) {
    for (int64_t lo; (lo = next.fetch_add(kBlock)) < n && lo < first.load(std::memory_order_relaxed);) {
      const int64_t i = blockFirst(lo, std::min(n, lo + kBlock));
      if (i < 0) continue;
      for (int64_t seen = first.load(); i < seen && !first.compare_exchange_weak(seen, i);) {
      }
    }
  });
  return first.load() == n ? -1 : first.load();
}

}  // namespace

int64_t firstIdOutOfRange(const int32_t* ids, int64_t n, int64_t rows) {
  // Every int32 id is below 2^31, and a negative one read as unsigned is at least 2^31: one compare each.
  const uint32_t limit = static_cast<uint32_t>(std::clamp<int64_t>(rows, 0, int64_t{1} << 31));
  return firstBad(n, [&](int64_t i) { return static_cast<uint32_t>(ids[i]) >= limit; });
}

int64_t firstNonFinite(const float* values, int64_t n) {
  // NaN and the infinities are the floats whose exponent bits are all set.
  return firstBad(n, [&](int64_t i) { return (std::bit_cast<uint32_t>(values[i]) & 0x7f800000u) == 0x7f800000u; });
}

int64_t firstNotBinary(const float* labels, int64_t n) {
  return firstBad(n, [&](int64_t i) { return labels[i] != 0.0f && labels[i] != 1.0f; });
}
