/**
 * The data pipeline's hot loops, native when the addon is built (parse, count, vocabulary lookup), with the
 * TypeScript versions as fallback and reference. Any chunk the native parser does not accept whole (a bad
 * line, a BOM) goes to the TypeScript parser, which words the errors and applies --on-bad-line.
 */
import { loadNativeAddon } from '../util/addon.ts';
import { criteoCategorical, criteoDense, parseCriteoLines } from './formats/criteo-tsv.ts';
import type { ParseContext, ParsedRows } from './formats/lines.ts';

interface DataAddon {
  parseCriteo(bytes: Uint8Array, labelled: boolean, labels: Float32Array, dense: Float32Array, keys: Float64Array[]): number;
  countKeys(keys: Float64Array[], values: Float64Array[], counts: Float64Array[], local: Uint32Array[]): number[];
  createCounts(): number;
  addCounts(handle: number, values: Float64Array, counts: Float64Array): void;
  distinctCounts(handle: number): number;
  finishCounts(handle: number, minCount: number, keysById: Float64Array): number;
  createVocabulary(keysById: Float64Array): number;
  lookupVocabularies(handles: Int32Array, keys: Float64Array[], missing: Int32Array, ids: Int32Array[]): void;
  releaseVocabularies(): void;
  setThreads(threads: number): void;
}

const loaded = loadNativeAddon<DataAddon>();
const addon = loaded instanceof Error ? null : loaded;

/** Threads the native parse, count and lookup work is spread over. */
export function setDataThreads(threads: number): void {
  addon?.setThreads(threads);
}

/** Parses a chunk of `lines` lines (the count sizes the output arrays). */
export function parseChunk(bytes: Uint8Array, lines: number, ctx: ParseContext, atFileStart: boolean, atFileEnd: boolean): ParsedRows {
  const bom = atFileStart && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (addon && !bom) {
    const labels = new Float32Array(lines), dense = new Float32Array(lines * criteoDense);
    const keys = Array.from({ length: criteoCategorical }, () => new Float64Array(lines));
    const rows = addon.parseCriteo(bytes, ctx.labelled, labels, dense, keys);
    if (rows === lines) return { rows, labels, dense, keys, bagSizes: keys.map(() => null) };
  }
  return parseCriteoLines(bytes, ctx, atFileStart, atFileEnd);
}

/** Per column, the distinct keys in first-seen order with their counts, and each key's index among them (the
 *  `local` columns are views of one array, the columns one after another, to be written as one file). */
export function countColumns(columns: Float64Array[]): { columns: { values: Float64Array; counts: Float64Array; local: Uint32Array }[]; local: Uint32Array } {
  const starts = [0];
  for (const c of columns) starts.push(starts.at(-1)! + c.length);
  const local = new Uint32Array(starts.at(-1)!), locals = columns.map((_, t) => local.subarray(starts[t], starts[t + 1]));
  if (addon) {
    const values = columns.map((c) => new Float64Array(c.length)), counts = columns.map((c) => new Float64Array(c.length));
    const distinct = addon.countKeys(columns, values, counts, locals);
    return { columns: columns.map((_, t) => ({ values: values[t].slice(0, distinct[t]), counts: counts[t].slice(0, distinct[t]), local: locals[t] })), local };
  }
  return {
    columns: columns.map((keys, t) => {
      const index = new Map<number, number>(), counts: number[] = [];
      for (let i = 0; i < keys.length; i++) {
        let k = index.get(keys[i]);
        if (k === undefined) index.set(keys[i], (k = counts.push(0) - 1));
        counts[k]++;
        locals[t][i] = k;
      }
      return { values: Float64Array.from(index.keys()), counts: Float64Array.from(counts), local: locals[t] };
    }),
    local,
  };
}

/** Running totals of a column's (value, count) pairs, chunk by chunk; memory grows with the distinct values. */
export class VocabularyBuilder {
  private readonly handle = addon ? addon.createCounts() : -1;
  private readonly totals = addon ? null : new Map<number, number>();

  add(values: Float64Array, counts: Float64Array): void {
    if (addon) addon.addCounts(this.handle, values, counts);
    else values.forEach((v, i) => this.totals!.set(v, (this.totals!.get(v) ?? 0) + counts[i]));
  }

  /** The values with at least minCount lookups, in id order: count descending, then value ascending. */
  finish(minCount: number): Float64Array {
    if (addon) {
      const keysById = new Float64Array(addon.distinctCounts(this.handle));
      return keysById.subarray(0, addon.finishCounts(this.handle, minCount, keysById));
    }
    return Float64Array.from([...this.totals!].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([k]) => k));
  }
}

/** A column's vocabulary (keys in id order) ready for lookups; unknown keys get the rare id (= its size). */
export interface Vocabulary {
  rareId: number;
  /** The native hash table's handle, or the TypeScript map. */
  handle: number;
  map: Map<number, number> | null;
}

export function vocabularyOf(keysById: Float64Array): Vocabulary {
  if (addon) return { rareId: keysById.length, handle: addon.createVocabulary(keysById), map: null };
  const map = new Map<number, number>();
  keysById.forEach((k, id) => map.set(k, id));
  return { rareId: keysById.length, handle: -1, map };
}

/** Frees the native vocabularies (at the end of a preprocessing run). */
export function releaseVocabularies(): void {
  addon?.releaseVocabularies();
}

/** ids[t][i] = the id of columns[t][i] in vocabularies[t]. */
export function lookupColumns(columns: Float64Array[], vocabularies: Vocabulary[], ids: Int32Array[]): void {
  if (addon) {
    addon.lookupVocabularies(Int32Array.from(vocabularies, (v) => v.handle), columns, Int32Array.from(vocabularies, (v) => v.rareId), ids);
    return;
  }
  columns.forEach((keys, t) => {
    const v = vocabularies[t];
    for (let i = 0; i < keys.length; i++) ids[t][i] = v.map!.get(keys[i]) ?? v.rareId;
  });
}
