/**
 * hotline's preprocessed dataset: a folder with manifest.json and fixed-width files a loader reads in
 * slices: labels.f32 [rows], dense.f32 [rows x dense] (row-major) and categorical.i32 (column-major:
 * one [rows] block per feature, so a feature's ids are one contiguous slice), plus vocab.f64 when ids come
 * from a vocabulary. The manifest carries the schema, counts, cardinalities, encoding and SHA-256 of every file.
 */
import { sha256OfFile } from '../util/file-hash.ts';
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { readJsonFile } from '../util/os-error.ts';
import { join } from 'node:path';
import type { Dataset } from './dataset.ts';
import { selectRows, sliceRows } from './dataset.ts';
import { DataError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import { checkManifest, checkOffsets, checkRows } from './dataset-checks.ts';

export const datasetFormat = 'hotline-dataset';
/** The files of every dataset, and the two of each multi-hot column t (its ids, and its offsets as float64). */
export const datasetFiles = { labels: 'labels.f32', dense: 'dense.f32', categorical: 'categorical.i32' } as const;
export const bagFiles = (t: number) => ({ ids: `bags-${t}.ids.i32`, offsets: `bags-${t}.offsets.f64` });
export const datasetVersion = 1;

export type Encoding =
  | { kind: 'vocabulary'; minCount: number }
  | { kind: 'hash'; maxIndRange: number }
  | { kind: 'synthetic'; zipf: number | number[]; seed: number };

export interface FileEntry {
  path: string;
  bytes: number;
  sha256: string;
}

export interface Manifest {
  format: typeof datasetFormat;
  version: number;
  rows: number;
  labelName: string;
  denseNames: string[];
  categoricalNames: string[];
  cardinalities: number[];
  encoding: Encoding;
  /** 'none': dense values as computed (taobao-tbsm's window positions). */
  denseTransform: 'log1p' | 'none';
  files: Record<'labels' | 'dense' | 'categorical', FileEntry>;
  /** Multi-hot features by name: their ids (every bag in row order) and offsets [rows + 1] (float64); their
   *  block of categorical.i32 holds each row's bag size. */
  bags?: Record<string, { ids: FileEntry; offsets: FileEntry }>;
  /** A dataset of sequences (TBSM's samples, taobao-tbsm): every row's bag in each table holds its `events` ids,
   *  oldest first, the candidate last; its dense features are the events', in the same order. */
  sequence?: { events: number; tsLength: number; pointsPerUser: number };
  /** Row counts of the parts the preprocess made: train rows first, then validation, then test. */
  parts?: { train: number; validation: number; test: number };
  /** rowsPerInput: the rows each input file gave, in order (Terabyte: one file per day). */
  source: { format?: string; inputs: string[]; lines: number; skipped: Record<string, number>; rowsPerInput?: number[] };
}

/** The manifest of a dataset folder, checked against itself and the files' sizes (dataset-checks.ts). */
export function readManifest(dir: string): Manifest {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) throw new DataError(`${dir}: not a hotline dataset (no manifest.json)`);
  const m = readJsonFile(path, (message) => new DataError(message)) as Manifest;
  if (m?.format !== datasetFormat || m.version !== datasetVersion) {
    throw new DataError(`${path}: format ${m?.format} version ${m?.version}, expected ${datasetFormat} version ${datasetVersion}`);
  }
  checkManifest(m, dir);
  return m;
}

/** The manifest's file entries, the multi-hot columns' included, by what they hold. */
function fileEntries(m: Manifest): [string, FileEntry][] {
  const bags = Object.entries(m.bags ?? {}).flatMap(([column, b]) => [[`${column} ids`, b.ids], [`${column} offsets`, b.offsets]] as [string, FileEntry][]);
  return [...Object.entries(m.files), ...bags];
}

/** Checks every file of the dataset against the SHA-256 its manifest records. */
export function verifyChecksums(dir: string, m: Manifest): void {
  for (const [name, f] of fileEntries(m)) {
    if (sha256OfFile(join(dir, f.path)).sha256 !== f.sha256) throw new DataError(`${join(dir, f.path)}: checksum differs from the manifest (${name})`);
  }
}

/** Loads a preprocessed dataset, every row checked (and, with verify, every file's SHA-256). */
export function readBinaryDataset(dir: string, verify = false): { manifest: Manifest; data: Dataset } {
  const m = readManifest(dir);
  if (verify) verifyChecksums(dir, m);
  return { manifest: m, data: readRowRange(dir, m, 0, m.rows) };
}

function readAt(fd: number, path: string, target: ArrayBufferView, position: number): void {
  const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
  for (let done = 0; done < bytes.length; ) {
    const n = readSync(fd, bytes, done, Math.min(1 << 30, bytes.length - done), position + done);
    if (n === 0) throw new DataError(`${path}: ends before byte ${position + bytes.length}`);
    done += n;
  }
}

/** Rows [start, end) of a dataset folder, read from its files by position and checked (dataset-checks.ts). */
export function readRowRange(dir: string, m: Manifest, start: number, end: number): Dataset {
  const data = readRows(dir, m, start, end);
  checkRows(dir, m, data, start);
  return data;
}

function readRows(dir: string, m: Manifest, start: number, end: number): Dataset {
  const n = end - start, nd = m.denseNames.length;
  const labels = new Float32Array(n), dense = new Float32Array(n * nd);
  const categorical = m.categoricalNames.map(() => new Int32Array(n));
  const open = (name: keyof Manifest['files']) => [openSync(join(dir, m.files[name].path), 'r'), join(dir, m.files[name].path)] as const;
  const files = [open('labels'), open('dense'), open('categorical')];
  try {
    readAt(files[0][0], files[0][1], labels, start * 4);
    readAt(files[1][0], files[1][1], dense, start * nd * 4);
    categorical.forEach((column, t) => readAt(files[2][0], files[2][1], column, (t * m.rows + start) * 4));
  } finally {
    for (const [fd] of files) closeSync(fd);
  }
  if (!m.bags) return { rows: n, denseFeatures: nd, tableRows: m.cardinalities, dense, categorical, labels };
  // Multi-hot features: the rows' offsets, then the ids between the first and the last.
  const offsets = m.categoricalNames.map((name, t) => {
    const bag = m.bags![name];
    if (!bag) return null;
    const at = new Float64Array(n + 1), read = (f: FileEntry, target: ArrayBufferView, position: number) => {
      const fd = openSync(join(dir, f.path), 'r');
      try {
        readAt(fd, join(dir, f.path), target, position);
      } finally {
        closeSync(fd);
      }
    };
    read(bag.offsets, at, start * 8);
    checkOffsets(join(dir, bag.offsets.path), at, start, bag.ids.bytes / 4);
    categorical[t] = new Int32Array(at[n] - at[0]);
    read(bag.ids, categorical[t], at[0] * 4);
    return Int32Array.from(at, (v) => v - at[0]);
  });
  return { rows: n, denseFeatures: nd, tableRows: m.cardinalities, dense, categorical, offsets, labels };
}

export interface Splits {
  train: Dataset;
  validation: Dataset;
  test: Dataset;
}

export type SplitRule = 'kaggle' | 'day' | 'random' | 'parts';

/** Where the positional splits cut: train [0, trainEnd), test [trainEnd, testEnd), validation after, as dlrm cuts:
 *  kaggle: the rows in 7 parts as np.array_split makes them (the first rows % 7 parts one row longer), the first 6
 *  train; day: every input file (day) but the last trains (as Terabyte's day_0..day_23); the held-out part is split
 *  in two as np.array_split does, its first half the test set (dlrm: `test_indices, val_indices = np.array_split(...)`);
 *  parts: the manifest's parts, the test rows [testStart, testEnd) after the validation rows. */
export function splitBoundaries(m: Manifest, rule: 'kaggle' | 'day' | 'parts'): { trainEnd: number; testStart: number; testEnd: number } {
  if (rule === 'parts') {
    if (!m.parts) throw new DataError('--split parts needs a dataset whose preprocess made parts (--format taobao-tbsm)');
    return { trainEnd: m.parts.train, testStart: m.parts.train + m.parts.validation, testEnd: m.rows };
  }
  let trainEnd = m.rows - Math.floor(m.rows / 7);
  if (rule === 'day') {
    const days = m.source.rowsPerInput;
    if (!days || days.length < 2) throw new DataError('--split day needs a dataset preprocessed from one file per day (two at least)');
    trainEnd = m.rows - days[days.length - 1];
  }
  return { trainEnd, testStart: trainEnd, testEnd: trainEnd + Math.ceil((m.rows - trainEnd) / 2) };
}

/** The parts a preprocess made (train, then validation, then test rows). */
export function partSplits(data: Dataset, manifest: Manifest): Splits {
  const { trainEnd, testStart } = splitBoundaries(manifest, 'parts');
  return { train: sliceRows(data, 0, trainEnd), validation: sliceRows(data, trainEnd, testStart), test: sliceRows(data, testStart, data.rows) };
}

function splitAt(data: Dataset, m: Manifest, rule: 'kaggle' | 'day'): Splits {
  const { trainEnd, testEnd } = splitBoundaries(m, rule);
  return { train: sliceRows(data, 0, trainEnd), test: sliceRows(data, trainEnd, testEnd), validation: sliceRows(data, testEnd, data.rows) };
}

export function kaggleSplits(data: Dataset, manifest: Manifest): Splits {
  return splitAt(data, manifest, 'kaggle');
}

export function daySplits(data: Dataset, manifest: Manifest): Splits {
  return splitAt(data, manifest, 'day');
}

/** A seeded random split: each row goes to validation or test with probability heldOut / 2 each. */
export function randomSplits(data: Dataset, heldOut: number, seed: number): Splits {
  const rng = new Rng(seed, 31337), order = new Int32Array(data.rows);
  const parts: number[][] = [[], [], []];
  for (let r = 0; r < data.rows; r++) {
    const u = rng.next();
    parts[u < heldOut / 2 ? 1 : u < heldOut ? 2 : 0].push(r);
  }
  let at = 0;
  for (const part of parts) for (const r of part) order[at++] = r;
  const permuted = selectRows(data, order);
  return {
    train: sliceRows(permuted, 0, parts[0].length),
    validation: sliceRows(permuted, parts[0].length, parts[0].length + parts[1].length),
    test: sliceRows(permuted, parts[0].length + parts[1].length, data.rows),
  };
}

