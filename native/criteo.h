// The fast path of hotline's data pipeline: Criteo TSV lines parsed, value counts and vocabulary lookups,
// on JS-owned typed arrays. Anything unusual returns -1 and the TypeScript parser, which words the errors,
// takes the chunk.
#pragma once
#include <cstdint>

// Parses whole lines into labels [rows], dense [rows x 13] (log1p, missing 0) and 26 key columns (hash value
// or -1 when missing). Returns the rows, or -1 when a line is malformed.
int64_t parseCriteo(const uint8_t* bytes, int64_t length, bool labelled, float* labels, float* dense, double* const* keys,
                    int64_t capacity);
// Distinct keys of a column sorted ascending with their counts; returns how many.
int64_t countKeys(const double* keys, int64_t n, double* values, double* counts);
// ids[i] = id of keys[i] in a vocabulary given as sorted keys with their ids; absent keys get `missing`.
void lookupKeys(const double* keys, int64_t n, const double* sortedKeys, const int32_t* sortedIds, int64_t vocabulary,
                int32_t missing, int32_t* ids);
// Sorts a vocabulary's keys ascending, carrying each key's id along.
void sortVocabulary(double* keys, int32_t* ids, int64_t n);
// Line ends ('\n') in the bytes.
int64_t countLineEnds(const uint8_t* bytes, int64_t length);
