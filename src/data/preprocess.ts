/**
 * A raw input (Criteo TSV, or any format of formats/row-formats.ts; plain, gzip, or a zip entry) to a hotline
 * dataset in two passes over line-aligned chunks:
 *  1. parse each chunk once: its labels and dense features go to their rows of the output; per column, its
 *     distinct keys with their counts go to one file, and each row's index among them to another;
 *  2. number the keys (descending frequency, so id 0 is the hottest; keys seen fewer than min-count times share
 *     the last id) or hash them modulo max-ind-range, then, column by column, code each chunk's distinct keys and
 *     map its rows' indexes to ids.
 * Work happens in OUT.partial (locked while a process writes it): every finished chunk and column leaves a file
 * written atomically (temporary + rename), so a killed run rerun with the same inputs and options resumes where it
 * stopped and produces the same bytes (a different job starts over); OUT appears, renamed whole, only when every
 * file and the manifest are complete, holding the dataset's files and nothing else.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { PendingOutput, writeFileAtomic } from '../util/atomic-file.ts';
import { withPath } from '../util/os-error.ts';
import { join } from 'node:path';
import { bagFiles, datasetFiles, datasetFormat, datasetVersion, type Encoding, type Manifest } from './binary-dataset.ts';
import { type FileDigest, IncrementalFileHash, sha256OfFileInWorker } from '../util/file-hash.ts';
import { firstLineOf, readChunks } from './chunks.ts';
import { rowFormat } from './formats/row-formats.ts';
import { countColumns, lookupColumns, releaseVocabularies, setDataThreads, vocabularyOf, VocabularyBuilder } from './fast-path.ts';
import { missingKey } from './formats/lines.ts';
import { DataError } from '../util/errors.ts';
import { jobRecord } from './preprocess-job.ts';
import { type PreprocessRun, readColumns, startWork, unpackColumns, writeAtomically } from './work-files.ts';

export interface PreprocessOptions extends PreprocessRun {
  /** criteo (default), avazu, taobao, movielens, libfm or schema:FILE.json (formats/row-formats.ts). */
  format?: string;
  encoding: { kind: 'vocabulary'; minCount: number } | { kind: 'hash'; maxIndRange: number };
}

interface ChunkSummary {
  rows: number;
  /** Keys per column: rows for a one-hot feature, the bags' total for a multi-hot one. */
  keys: number[];
  lines: number;
  skipped: Record<string, number>;
}

/** `count` 4-byte values of a file from value `first` on. */
function readWords<T extends Uint32Array | Int32Array>(out: T, path: string, first: number): T {
  const fd = openSync(path, 'r');
  try {
    readSync(fd, out, 0, out.byteLength, first * 4);
  } finally {
    closeSync(fd);
  }
  return out;
}
const readU32 = (path: string, first: number, count: number) => readWords(new Uint32Array(count), path, first);
const readI32 = (path: string, first: number, count: number) => readWords(new Int32Array(count), path, first);

/** Chunks whose keys are looked up in one call (spread over the threads). */
const chunksPerLookup = 8;

export async function preprocess(o: PreprocessOptions): Promise<Manifest> {
  const output = new PendingOutput(o.out);
  try {
    // Writes through descriptors carry no path in their OS errors: they name the folder being built.
    return await withPath(output.partial, () => build(o, output));
  } finally {
    output.release();
  }
}

async function build(o: PreprocessOptions, output: PendingOutput): Promise<Manifest> {
  const work = output.partial, say = o.progress ?? (() => {});
  const formatName = o.format ?? 'criteo';
  const format = await rowFormat(formatName, o.inputs[0]);
  startWork(work, jobRecord({ ...o, format: formatName }), o.warn ?? say);
  const chunkFile = (f: number, c: number, kind: string) => join(work, 'chunks', `${f}-${c}.${kind}`);
  const vocabulary = o.encoding.kind === 'vocabulary';
  setDataThreads(o.threads);
  const nd = format.denseNames.length, nc = format.categoricalNames.length;

  // Pass 1: parse each chunk once; labels and dense features land in their rows, keys and counts in chunk files.
  const openOutput = (name: string) => openSync(join(work, name), existsSync(join(work, name)) ? 'r+' : 'w+');
  const summaries: ChunkSummary[][] = [];
  const labelsFd = openOutput(datasetFiles.labels), denseFd = openOutput(datasetFiles.dense);
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
          // Keys leave as each row's index into the chunk's distinct keys (4 bytes, not 8): pass 2 looks up
          // only the distinct keys and maps the indexes.
          const counted = countColumns(parsed.keys);
          writeAtomically(chunkFile(f, chunk.index, 'local.u32'), new Uint8Array(counted.local.buffer));
          writeAtomically(chunkFile(f, chunk.index, 'counts.f64'), counted.columns.flatMap((c) => [c.values, c.counts]));
          const bagSizes = parsed.bagSizes.filter((b) => b !== null);
          if (bagSizes.length > 0) writeAtomically(chunkFile(f, chunk.index, 'bags.i32'), new Uint8Array(Int32Array.from(bagSizes.flatMap((b) => [...b])).buffer));
          writeAtomically(summaryPath, JSON.stringify({ rows: parsed.rows, keys: parsed.keys.map((k) => k.length), lines: chunk.lines, skipped }));
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
  const digests: Record<string, Promise<FileDigest>> = { labels: sha256OfFileInWorker(join(work, datasetFiles.labels)), dense: sha256OfFileInWorker(join(work, datasetFiles.dense)) };

  // The code of every column: a vocabulary from the merged counts (keys in id order), or hashing.
  let keysById: Float64Array[] | null = null;
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
    keysById = unpackColumns(vocabPath, nc);
  }
  const range = o.encoding.kind === 'hash' ? o.encoding.maxIndRange : 0;
  const cardinalities = keysById ? keysById.map((k) => k.length + 1) : Array<number>(nc).fill(range);

  // Pass 2, column by column: one vocabulary in memory at a time, and the column-major ids file written front to
  // back while a worker hashes what is final. Several chunks' keys are looked up at once, one chunk per thread.
  const sizes = { labels: rows * 4, dense: rows * nd * 4, categorical: rows * nc * 4 };
  const chunkList = summaries.flatMap((chunks, f) => chunks.map((summary, c) => ({ f, c, rows: summary.rows, keys: summary.keys })));
  // A multi-hot feature's block of the ids file holds each row's bag size; its ids and offsets have files of their own.
  const multiHot = format.multiHot ?? format.categoricalNames.map(() => false);
  const bagColumns = multiHot.flatMap((m, t) => (m ? [t] : []));
  const categoricalFd = openOutput(datasetFiles.categorical);
  const categoricalHash = new IncrementalFileHash(join(work, datasetFiles.categorical));
  try {
    ftruncateSync(categoricalFd, sizes.categorical);
    for (let t = 0; t < nc; t++) {
      const done = join(work, `column-${t}.done`);
      if (!existsSync(done)) {
        const vocabularyT = keysById && vocabularyOf(keysById[t]);
        let rowStart = 0, keyStart = 0;
        const bag = multiHot[t] ? { ids: openOutput(bagFiles(t).ids), offsets: openOutput(bagFiles(t).offsets) } : null;
        if (bag) writeSync(bag.offsets, new Float64Array(1), 0, 8, 0);
        for (let k = 0; k < chunkList.length; k += chunksPerLookup) {
          const group = chunkList.slice(k, k + chunksPerLookup);
          const distinct = group.map((g) => readColumns(chunkFile(g.f, g.c, 'counts.f64'), 2 * t, 1)[0]);
          const codes = distinct.map((d) => new Int32Array(d.length));
          if (vocabularyT) lookupColumns(distinct, group.map(() => vocabularyT), codes);
          else distinct.forEach((column, j) => column.forEach((key, i) => (codes[j][i] = key === missingKey ? 0 : key % range)));
          group.forEach((g, j) => {
            const first = g.keys.slice(0, t).reduce((a, b) => a + b, 0), n = g.keys[t];
            const local = readU32(chunkFile(g.f, g.c, 'local.u32'), first, n), ids = new Int32Array(n), code = codes[j];
            for (let i = 0; i < n; i++) ids[i] = code[local[i]];
            if (!bag) {
              writeSync(categoricalFd, ids, 0, ids.byteLength, (t * rows + rowStart) * 4);
              rowStart += g.rows;
              return;
            }
            const bagSizes = readI32(chunkFile(g.f, g.c, 'bags.i32'), bagColumns.indexOf(t) * g.rows, g.rows), offsets = new Float64Array(g.rows);
            for (let i = 0, at = keyStart; i < g.rows; i++) offsets[i] = at += bagSizes[i];
            writeSync(bag.ids, ids, 0, ids.byteLength, keyStart * 4);
            writeSync(bag.offsets, offsets, 0, offsets.byteLength, (rowStart + 1) * 8);
            writeSync(categoricalFd, bagSizes, 0, bagSizes.byteLength, (t * rows + rowStart) * 4);
            rowStart += g.rows;
            keyStart += n;
          });
        }
        if (bag) {
          closeSync(bag.ids);
          closeSync(bag.offsets);
        }
        releaseVocabularies();
        writeAtomically(done, '');
      }
      categoricalHash.upTo((t + 1) * rows * 4);
      say(`pass 2: column ${t + 1} of ${nc}`);
    }
  } finally {
    closeSync(categoricalFd);
    releaseVocabularies();
  }

  digests.categorical = categoricalHash.finish();
  const sha256 = Object.fromEntries(await Promise.all(Object.entries(digests).map(async ([k, d]) => [k, (await d).sha256])));
  const fileEntry = async (name: string) => ({ path: name, ...(await sha256OfFileInWorker(join(work, name))) });
  const bags = Object.fromEntries(await Promise.all(bagColumns.map(async (t) => [format.categoricalNames[t], {
    ids: await fileEntry(bagFiles(t).ids), offsets: await fileEntry(bagFiles(t).offsets),
  }])));
  const skipped: Record<string, number> = {};
  for (const s of summaries.flat()) for (const [reason, n] of Object.entries(s.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
  const encoding: Encoding = o.encoding;
  const manifest: Manifest = {
    format: datasetFormat, version: datasetVersion, rows, labelName: 'label',
    denseNames: format.denseNames, categoricalNames: format.categoricalNames,
    cardinalities, encoding, denseTransform: 'log1p',
    files: Object.fromEntries(Object.entries(datasetFiles).map(([k, name]) => [k, { path: name, bytes: sizes[k as keyof typeof sizes], sha256: sha256[k] }])) as Manifest['files'],
    ...(bagColumns.length > 0 && { bags }),
    source: {
      format: format.name, inputs: o.inputs, lines: summaries.flat().reduce((n, s) => n + s.lines, 0), skipped,
      rowsPerInput: summaries.map((chunks) => chunks.reduce((n, s) => n + s.rows, 0)),
    },
  };
  writeFileAtomic(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const bagNames = bagColumns.flatMap((t) => Object.values(bagFiles(t)));
  output.commit([...Object.values(datasetFiles), ...bagNames, ...(vocabulary ? ['vocab.f64'] : []), 'manifest.json']);
  return manifest;
}
