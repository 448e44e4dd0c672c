/**
 * A raw input (Criteo TSV, or any format of formats/row-formats.ts; plain, gzip, or a zip entry) to a hotline
 * dataset in two passes over line-aligned chunks:
 *  1. parse each chunk once: its labels and dense features go to their rows of the output, its raw keys to a
 *     temporary file, its value counts (for a vocabulary) to another;
 *  2. number the values (descending frequency, so id 0 is the hottest; values seen fewer than min-count
 *     times share the last id) or hash them modulo max-ind-range, then encode each chunk's keys into its rows.
 * Work happens in OUT.partial: every finished chunk leaves a file written atomically (temporary + rename),
 * so a killed run resumes where it stopped and produces the same bytes; OUT appears, renamed whole, only
 * when every file and the manifest are complete.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Encoding, type Manifest, datasetFormat, datasetVersion } from './binary-dataset.ts';
import { type FileDigest, sha256OfFileInWorker } from '../util/file-hash.ts';
import { firstLineOf, readChunks } from './chunks.ts';
import { rowFormat } from './formats/row-formats.ts';
import { countColumns, lookupColumns, releaseVocabularies, setDataThreads, type Vocabulary, vocabularyOf, VocabularyBuilder } from './fast-path.ts';
import { type BadLinePolicy, missingKey } from './formats/lines.ts';
import { DataError } from './formats/data-error.ts';

export interface PreprocessOptions {
  inputs: string[];
  /** A name of rowFormatNames (default criteo). */
  format?: string;
  out: string;
  encoding: { kind: 'vocabulary'; minCount: number } | { kind: 'hash'; maxIndRange: number };
  chunkBytes: number;
  onBadLine: BadLinePolicy;
  threads: number;
  progress?: (message: string) => void;
}

interface ChunkSummary {
  rows: number;
  lines: number;
  skipped: Record<string, number>;
}

/** Writes a file whole, under a temporary name first, so a crash never leaves a partial file under the real
 *  name. Column lists are written as [count, ...values] per column (float64). */
function writeAtomically(path: string, data: string | Uint8Array | Float64Array[]): void {
  if (Array.isArray(data)) {
    const fd = openSync(`${path}.tmp`, 'w');
    try {
      for (const c of data) {
        writeSync(fd, Float64Array.of(c.length));
        writeSync(fd, c);
      }
    } finally {
      closeSync(fd);
    }
  } else {
    writeFileSync(`${path}.tmp`, data);
  }
  renameSync(`${path}.tmp`, path);
}

/** Columns [first, first + count) of a column file, read by position (the headers are walked, not the data). */
function readColumns(path: string, first: number, count: number): Float64Array[] {
  const fd = openSync(path, 'r'), header = new Float64Array(1), columns: Float64Array[] = [];
  try {
    let at = 0;
    for (let c = 0; c < first + count; c++) {
      readSync(fd, header, 0, 8, at);
      const n = header[0];
      if (c >= first) {
        const column = new Float64Array(n);
        readSync(fd, column, 0, n * 8, at + 8);
        columns.push(column);
      }
      at += 8 * (n + 1);
    }
  } finally {
    closeSync(fd);
  }
  return columns;
}

function unpackColumns(path: string, count: number): Float64Array[] {
  const b = readFileSync(path), all = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8), columns: Float64Array[] = [];
  let at = 0;
  for (let c = 0; c < count; c++) {
    const n = all[at++];
    columns.push(all.subarray(at, at + n));
    at += n;
  }
  return columns;
}

/** How a column's keys become ids: a vocabulary, or hashing modulo a range. */
type ColumnCodes = { kind: 'vocabulary'; vocabularies: Vocabulary[] } | { kind: 'hash'; range: number };

function encodeColumns(codes: ColumnCodes, keys: Float64Array[], ids: Int32Array[]): void {
  if (codes.kind === 'vocabulary') {
    lookupColumns(keys, codes.vocabularies, ids);
    return;
  }
  keys.forEach((column, t) => {
    for (let i = 0; i < column.length; i++) ids[t][i] = column[i] === missingKey ? 0 : column[i] % codes.range;
  });
}

export async function preprocess(o: PreprocessOptions): Promise<Manifest> {
  if (existsSync(o.out)) throw new DataError(`${o.out}: already exists; remove it or choose another --out`);
  const work = `${o.out}.partial`;
  mkdirSync(join(work, 'chunks'), { recursive: true });
  const say = o.progress ?? (() => {});
  const chunkFile = (f: number, c: number, kind: string) => join(work, 'chunks', `${f}-${c}.${kind}`);
  const vocabulary = o.encoding.kind === 'vocabulary';
  setDataThreads(o.threads);
  const format = await rowFormat(o.format ?? 'criteo', o.inputs[0]);
  const nd = format.denseNames.length, nc = format.categoricalNames.length;

  // Pass 1: parse each chunk once; labels and dense features land in their rows, keys and counts in chunk files.
  const files = { labels: 'labels.f32', dense: 'dense.f32', categorical: 'categorical.i32' };
  const openOutput = (name: string) => openSync(join(work, name), existsSync(join(work, name)) ? 'r+' : 'w+');
  const summaries: ChunkSummary[][] = [];
  const labelsFd = openOutput(files.labels), denseFd = openOutput(files.dense);
  try {
    let rowStart = 0;
    for (const [f, input] of o.inputs.entries()) {
      summaries.push([]);
      const parse = format.forFile(input, await firstLineOf(input, format.zipEntry));
      for await (const chunk of readChunks(input, o.chunkBytes, format.zipEntry)) {
        const summaryPath = chunkFile(f, chunk.index, 'rows.json');
        if (!existsSync(summaryPath)) {
          const skipped: Record<string, number> = {};
          const parsed = parse(chunk, { file: input, firstLine: chunk.firstLine, labelled: true, onBadLine: o.onBadLine, skipped });
          writeSync(labelsFd, parsed.labels, 0, parsed.labels.byteLength, rowStart * 4);
          writeSync(denseFd, parsed.dense, 0, parsed.dense.byteLength, rowStart * nd * 4);
          writeAtomically(chunkFile(f, chunk.index, 'keys.f64'), parsed.keys);
          if (vocabulary) {
            const counted = countColumns(parsed.keys);
            writeAtomically(chunkFile(f, chunk.index, 'counts.f64'), counted.flatMap((c) => [c.values, c.counts]));
          }
          writeAtomically(summaryPath, JSON.stringify({ rows: parsed.rows, lines: chunk.lines, skipped }));
        }
        const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as ChunkSummary;
        summaries[f].push(summary);
        rowStart += summary.rows;
        say(`pass 1: ${input} chunk ${chunk.index + 1}`);
      }
    }
  } finally {
    closeSync(labelsFd);
    closeSync(denseFd);
  }
  const rows = summaries.flat().reduce((n, s) => n + s.rows, 0);
  if (rows === 0) throw new DataError(`${o.inputs.join(', ')}: no valid rows`);
  // Labels and dense features are complete: their checksums are computed on worker threads meanwhile.
  const digests: Record<string, Promise<FileDigest>> = { labels: sha256OfFileInWorker(join(work, files.labels)), dense: sha256OfFileInWorker(join(work, files.dense)) };

  // The code of every column: a vocabulary from the merged counts, or hashing.
  let codes: ColumnCodes, cardinalities: number[];
  if (vocabulary) {
    const vocabPath = join(work, 'vocab.f64');
    if (!existsSync(vocabPath)) {
      // Column by column, chunk by chunk: memory holds one column's distinct values, whatever the input size.
      const minCount = (o.encoding as { minCount: number }).minCount;
      const byId = Array.from({ length: nc }, (_, t) => {
        const builder = new VocabularyBuilder();
        summaries.forEach((chunks, f) => chunks.forEach((_, c) => {
          const [values, counts] = readColumns(chunkFile(f, c, 'counts.f64'), 2 * t, 2);
          builder.add(values, counts);
        }));
        return builder.finish(minCount);
      });
      writeAtomically(vocabPath, byId);
      say('vocabulary written');
    }
    const vocabularies = unpackColumns(vocabPath, nc).map(vocabularyOf);
    codes = { kind: 'vocabulary', vocabularies };
    cardinalities = vocabularies.map((v) => v.rareId + 1);
  } else {
    const range = (o.encoding as { maxIndRange: number }).maxIndRange;
    codes = { kind: 'hash', range };
    cardinalities = Array(nc).fill(range);
  }

  // Pass 2: encode each chunk's keys into its rows of the column-major ids file.
  const sizes = { labels: rows * 4, dense: rows * nd * 4, categorical: rows * nc * 4 };
  const categoricalFd = openOutput(files.categorical);
  try {
    ftruncateSync(categoricalFd, sizes.categorical);
    let rowStart = 0;
    summaries.forEach((chunks, f) => chunks.forEach((summary, c) => {
      const done = chunkFile(f, c, 'done');
      if (!existsSync(done)) {
        const keys = unpackColumns(chunkFile(f, c, 'keys.f64'), nc);
        const ids = keys.map(() => new Int32Array(summary.rows));
        encodeColumns(codes, keys, ids);
        ids.forEach((column, t) => writeSync(categoricalFd, column, 0, column.byteLength, (t * rows + rowStart) * 4));
        writeAtomically(done, '');
      }
      rowStart += summary.rows;
      say(`pass 2: ${o.inputs[f]} chunk ${c + 1}`);
    }));
  } finally {
    closeSync(categoricalFd);
    releaseVocabularies();
  }

  digests.categorical = sha256OfFileInWorker(join(work, files.categorical));
  const sha256 = Object.fromEntries(await Promise.all(Object.entries(digests).map(async ([k, d]) => [k, (await d).sha256])));
  const skipped: Record<string, number> = {};
  for (const s of summaries.flat()) for (const [reason, n] of Object.entries(s.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
  const encoding: Encoding = o.encoding;
  const manifest: Manifest = {
    format: datasetFormat, version: datasetVersion, rows, labelName: 'label',
    denseNames: format.denseNames, categoricalNames: format.categoricalNames,
    cardinalities, encoding, denseTransform: 'log1p',
    files: Object.fromEntries(Object.entries(files).map(([k, name]) => [k, { path: name, bytes: sizes[k as keyof typeof sizes], sha256: sha256[k] }])) as Manifest['files'],
    source: {
      format: format.name, inputs: o.inputs, lines: summaries.flat().reduce((n, s) => n + s.lines, 0), skipped,
      rowsPerInput: summaries.map((chunks) => chunks.reduce((n, s) => n + s.rows, 0)),
    },
  };
  writeAtomically(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  rmSync(join(work, 'chunks'), { recursive: true, force: true });
  renameSync(work, o.out);
  return manifest;
}
