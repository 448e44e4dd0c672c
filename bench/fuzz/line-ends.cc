// countLineEnds (native/criteo.cc, memchr over the bytes) against a plain loop, on every sub-range the
// input's first two bytes pick (so starts and ends at every alignment).
#include <cstdint>
#include <cstdlib>

#include "criteo.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t n = size - 2, from = n ? data[0] % (n + 1) : 0, to = from + (n - from ? data[1] % (n - from + 1) : 0);
  const uint8_t* bytes = data + 2;
  int64_t want = 0;
  for (size_t i = from; i < to; ++i) want += bytes[i] == '\n';
  if (countLineEnds(bytes + from, static_cast<int64_t>(to - from)) != want) abort();
  return 0;
}
