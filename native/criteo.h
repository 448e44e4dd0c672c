// The fast path of hotline's data pipeline: Criteo TSV lines parsed, value counts and vocabulary lookups,
// on JS-owned typed arrays. Anything unusual returns -1 and the TypeScript parser, which words the errors,
// takes the chunk.
#pragma once
#include <cstdint>

// A Criteo line: a label, 13 integer features, 26 categorical hashes.
constexpr int kCriteoDense = 13, kCriteoCategorical = 26;

// Parses whole lines into labels [rows], dense [rows x 13] (log1p, missing 0) and 26 key columns (hash value
// or -1 when missing). Returns the rows, or -1 when a line is malformed or holds a number too large to be finite.
int64_t parseCriteo(const uint8_t* bytes, int64_t length, bool labelled, float* labels, float* dense, double* const* keys,
                    int64_t capacity);
// Distinct keys of a column in first-seen order with their counts, and each key's index among them (local);
// returns how many.
int64_t countKeys(const double* keys, int64_t n, double* values, double* counts, uint32_t* local);
// A column's vocabulary from per-chunk (value, count) pairs, added chunk by chunk to running totals that grow
// with the distinct keys: finishCounts writes the keys with at least minCount lookups by count descending, then
// key ascending (id order), frees the totals and returns how many; distinctCounts sizes its output.
int64_t createCounts();
void addCounts(int64_t handle, const double* values, const double* counts, int64_t n);
int64_t distinctCounts(int64_t handle);
int64_t finishCounts(int64_t handle, double minCount, double* keysById);
// A hash table from keys (in id order) to ids, kept until releaseVocabularies(); returns its handle.
int64_t createVocabulary(const double* keysById, int64_t n);
// ids[i] = the id of keys[i], or `missing` when the vocabulary lacks it.
void lookupVocabulary(int64_t handle, const double* keys, int64_t n, int32_t missing, int32_t* ids);
void releaseVocabularies();
// Line ends ('\n') in the bytes.
int64_t countLineEnds(const uint8_t* bytes, int64_t length);
