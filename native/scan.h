// Range scans of a dataset's columns at load time: the index of the first bad element, or -1. Blocks of the
// column are spread over the pool's threads; each block is first reduced to "has a bad element" (a loop the
// compiler vectorises) and only a block that has one is searched element by element.
#pragma once
#include <cstdint>

// The first id < 0 or >= rows (rows <= 0: every id is out of range).
int64_t firstIdOutOfRange(const int32_t* ids, int64_t n, int64_t rows);
// The first NaN, +Inf or -Inf.
int64_t firstNonFinite(const float* values, int64_t n);
// The first value other than 0 or 1 (-0 counts as 0).
int64_t firstNotBinary(const float* labels, int64_t n);
