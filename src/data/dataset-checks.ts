/**
 * What keeps a damaged or inconsistent dataset folder from the kernels: the manifest checked field by field, against
 * itself and against the files' sizes, and every row read checked against it (each id below its table's rows, labels
 * 0 or 1, dense values finite). A file's checksum is verified on request only (inspect --verify, resume): the range
 * scans run at memory speed and stop every wrong memory access; the checksum costs a second pass over the files.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from './dataset.ts';
import { DataError } from '../util/errors.ts';
import { firstIdOutOfRange, firstNonFinite, firstNotBinary } from './scan.ts';
import type { FileEntry, Manifest } from './binary-dataset.ts';

/** The most rows a table may have: ids are int32. */
export const maxTableRows = 2 ** 31 - 1;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string' && s !== '');
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 60);

/** Checks the manifest's structure, its fields against each other and against the sizes of the files in dir. */
export function checkManifest(m: unknown, dir: string): asserts m is Manifest {
  const path = join(dir, 'manifest.json');
  const fail = (key: string, what: string) => new DataError(`${path}: "${key}": ${what}`);
  if (!isObject(m)) throw new DataError(`${path}: expected a JSON object`);
  if (!isCount(m.rows)) throw fail('rows', `expected a row count, got ${show(m.rows)}`);
  for (const key of ['denseNames', 'categoricalNames'] as const) {
    if (!isNames(m[key])) throw fail(key, `expected a list of column names, got ${show(m[key])}`);
    const names = m[key] as string[], twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw fail(key, `column '${twice}' appears twice`);
  }
  const rows = m.rows, dense = m.denseNames as string[], categorical = m.categoricalNames as string[];
  const cards = m.cardinalities;
  if (!Array.isArray(cards) || cards.length !== categorical.length) {
    throw fail('cardinalities', `expected one table size per categorical column (${categorical.length}), got ${show(cards)}`);
  }
  cards.forEach((n, t) => {
    if (!Number.isInteger(n) || n < 1 || n > maxTableRows) throw fail('cardinalities', `${categorical[t]}: expected 1 to ${maxTableRows} rows, got ${show(n)}`);
  });
  if (!isObject(m.encoding) || !['vocabulary', 'hash', 'synthetic'].includes(m.encoding.kind as string)) {
    throw fail('encoding', `expected {"kind": "vocabulary" | "hash" | "synthetic", ...}, got ${show(m.encoding)}`);
  }
  if (!isObject(m.files)) throw fail('files', `expected the labels, dense and categorical files, got ${show(m.files)}`);
  const expected = { labels: rows * 4, dense: rows * dense.length * 4, categorical: rows * categorical.length * 4 };
  for (const [name, bytes] of Object.entries(expected)) checkFile(m.files[name], `files.${name}`, bytes, dir, fail);
  // Every entry is a file the loaders read and verify: one they do not know is an edit, not a file to skip.
  const stray = Object.keys(m.files).find((name) => !(name in expected));
  if (stray !== undefined) throw fail(`files.${stray}`, 'unknown file (a dataset has labels, dense and categorical)');
  if (m.bags !== undefined) {
    if (!isObject(m.bags)) throw fail('bags', `expected the multi-hot columns' files, got ${show(m.bags)}`);
    for (const [column, bag] of Object.entries(m.bags)) {
      if (!categorical.includes(column)) throw fail(`bags.${column}`, 'not one of the categorical columns');
      if (!isObject(bag)) throw fail(`bags.${column}`, `expected {"ids": FILE, "offsets": FILE}, got ${show(bag)}`);
      checkFile(bag.offsets, `bags.${column}.offsets`, (rows + 1) * 8, dir, fail);
      checkFile(bag.ids, `bags.${column}.ids`, null, dir, fail);
    }
  }
  if (!isObject(m.source) || !Array.isArray(m.source.inputs) || !isCount(m.source.lines) || !isObject(m.source.skipped)) {
    throw fail('source', `expected {"inputs": [...], "lines": N, "skipped": {...}}, got ${show(m.source)}`);
  }
  if (m.denseTransform !== 'log1p' && m.denseTransform !== 'none') throw fail('denseTransform', `expected "log1p" or "none", got ${show(m.denseTransform)}`);
  if (m.parts !== undefined) {
    const parts = m.parts as Record<string, unknown>, names = ['train', 'validation', 'test'];
    if (!isObject(parts) || Object.keys(parts).some((k) => !names.includes(k)) || !names.every((k) => isCount(parts[k]))) {
      throw fail('parts', `expected {"train": N, "validation": N, "test": N}, got ${show(parts)}`);
    }
    const sum = names.reduce((n, k) => n + (parts[k] as number), 0);
    if (sum !== rows) throw fail('parts', `the parts hold ${sum} rows, the dataset ${rows}`);
  }
  if (m.sequence !== undefined) {
    const q = m.sequence as Record<string, unknown>;
    if (!isObject(q) || !isCount(q.tsLength) || !isCount(q.pointsPerUser) || q.events !== (q.tsLength as number) + 1) {
      throw fail('sequence', `expected {"events": tsLength + 1, "tsLength": N, "pointsPerUser": N}, got ${show(q)}`);
    }
    for (const column of categorical) {
      const ids = (m.bags as Record<string, { ids: FileEntry }> | undefined)?.[column]?.ids;
      if (ids?.bytes !== rows * q.events * 4) throw fail(`bags.${column}`, `a sequence dataset's bags hold ${q.events} ids each (${rows * q.events * 4} bytes), got ${show(ids?.bytes)}`);
    }
    if (dense.length !== q.events) throw fail('denseNames', `a sequence dataset has one dense value per event (${q.events}), got ${dense.length}`);
  }
  const perInput = m.source.rowsPerInput;
  if (perInput !== undefined && (!Array.isArray(perInput) || !perInput.every(isCount) || perInput.reduce((a, b) => a + b, 0) !== rows)) {
    throw fail('source.rowsPerInput', `expected row counts adding up to the ${rows} rows, got ${show(perInput)}`);
  }
}

/** A file entry: a plain name in dir whose size is the manifest's (and, when known, what the rows need). */
function checkFile(entry: unknown, key: string, needed: number | null, dir: string, fail: (key: string, what: string) => DataError): asserts entry is FileEntry {
  if (!isObject(entry) || typeof entry.path !== 'string' || !isCount(entry.bytes) || typeof entry.sha256 !== 'string') {
    throw fail(key, `expected {"path": NAME, "bytes": N, "sha256": HEX}, got ${show(entry)}`);
  }
  if (entry.path === '' || entry.path.includes('/') || entry.path.includes('\\') || entry.path.startsWith('.')) {
    throw fail(`${key}.path`, `expected a file name inside the dataset folder, got ${show(entry.path)}`);
  }
  if (needed !== null && entry.bytes !== needed) {
    throw fail(`${key}.bytes`, `${entry.bytes} bytes, but the rows and columns the manifest gives need ${needed} (the manifest was edited or belongs to other files)`);
  }
  if (needed === null && entry.bytes % 4 !== 0) throw fail(`${key}.bytes`, `expected a multiple of 4 bytes (int32 ids), got ${entry.bytes}`);
  const file = join(dir, entry.path), stat = existsSync(file) ? statSync(file) : null;
  if (stat && !stat.isFile()) throw new DataError(`${file}: not a file (the manifest says ${entry.bytes} bytes)`);
  if ((stat?.size ?? -1) !== entry.bytes) throw new DataError(`${file}: ${stat ? `${stat.size} bytes` : 'missing'}, the manifest says ${entry.bytes}`);
}

/** Checks rows [firstRow, firstRow + data.rows) read from the folder: ids, bag offsets, labels and dense values. */
export function checkRows(dir: string, m: Manifest, data: Dataset, firstRow: number): void {
  const labelAt = firstNotBinary(data.labels);
  if (labelAt >= 0) throw new DataError(`${join(dir, m.files.labels.path)}: row ${firstRow + labelAt}: label ${data.labels[labelAt]} is not 0 or 1`);
  const nd = m.denseNames.length, denseAt = firstNonFinite(data.dense);
  if (denseAt >= 0) {
    const row = Math.floor(denseAt / nd), column = m.denseNames[denseAt % nd];
    throw new DataError(`${join(dir, m.files.dense.path)}: row ${firstRow + row}, column ${column}: ${data.dense[denseAt]} is not a finite number`);
  }
  data.categorical.forEach((ids, t) => {
    const name = m.categoricalNames[t], offsets = data.offsets?.[t];
    const file = join(dir, offsets ? m.bags![name].ids.path : m.files.categorical.path);
    const at = firstIdOutOfRange(ids, m.cardinalities[t]);
    if (at < 0) return;
    const row = offsets ? rowOfLookup(offsets, at) : at;
    throw new DataError(`${file}: column ${name}, row ${firstRow + row}: id ${ids[at]} is outside the table's ${m.cardinalities[t]} rows`);
  });
}

/** The bag holding lookup `at` (offsets rise from 0). */
function rowOfLookup(offsets: Int32Array, at: number): number {
  let lo = 0, hi = offsets.length - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= at) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A multi-hot column's offsets as read (float64, rows [firstRow, ...]): whole numbers, never falling, within the ids. */
export function checkOffsets(path: string, offsets: Float64Array, firstRow: number, idCount: number): void {
  for (let i = 0; i < offsets.length; i++) {
    const v = offsets[i];
    const bad = !Number.isInteger(v) || v < 0 || v > idCount || (i > 0 && v < offsets[i - 1]);
    if (bad) throw new DataError(`${path}: row ${firstRow + i}: offset ${v} is not a whole number rising within the ${idCount} ids`);
  }
}
