/**
 * Taobao UserBehavior to TBSM's samples (`preprocess --format taobao-tbsm`) in bounded memory, resumably:
 *  1. count: each chunk's distinct users (with their last time), items (with the category of their first event) and
 *     categories, with their counts, to a file per chunk;
 *  2. vocabulary: ids by descending frequency per column (padding takes each table's last id), every user's event
 *     count and last time, every item's category; from them the plan (tbsm-plan.ts) fixes every user's rows;
 *  3. spill: the chunks parsed again, each event (user, item, category, time) appended to the partition file of its
 *     user, in file order; a progress record after each chunk lets a rerun cut the files back and go on;
 *  4. samples, partition by partition: events sorted by user and time (ties in file order), windows cut
 *     (tbsm-samples.ts) and written at the rows the plan gave them.
 * Memory holds O(users + items) and one partition's events. Work happens in OUT.partial (work-files.ts) and OUT
 * appears, renamed whole, at the end, holding a multi-hot dataset: user, item and category bags of tsLength + 1 ids.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PendingOutput, writeFileAtomic } from '../../util/atomic-file.ts';
import { DataError } from '../../util/errors.ts';
import { sha256OfFileInWorker } from '../../util/file-hash.ts';
import { withPath } from '../../util/os-error.ts';
import { Rng } from '../../util/rng.ts';
import { bagFiles, datasetFiles, datasetFormat, datasetVersion, type FileEntry, type Manifest } from '../binary-dataset.ts';
import { readChunks } from '../chunks.ts';
import { countColumns, lookupColumns, releaseVocabularies, setDataThreads, vocabularyOf, VocabularyBuilder } from '../fast-path.ts';
import { jobRecord } from '../preprocess-job.ts';
import { type PreprocessRun, startWork, unpackColumns, writeAtomically } from '../work-files.ts';
import { writeAt } from '../write-binary.ts';
import { parseEvents } from './taobao-events.ts';
import { type Partition, partNames, planSamples, type SamplePlan, testFlag, trainFlag, validationFlag } from './tbsm-plan.ts';
import { type Catalog, maxUserEvents, pointsOfUser, type SampleRows, type SequenceShape, writeTestRow, writeTrainingRows } from './tbsm-samples.ts';

export const tbsmFormat = 'taobao-tbsm';

export interface TbsmOptions extends SequenceShape, PreprocessRun {
  numTrainPts: number | null;
  numValPts: number | null;
  seed: number;
  /** Events per partition file of the spill: bounds the memory of the sample pass (the output does not depend on it). */
  eventsPerPartition: number;
}

interface ChunkSummary {
  rows: number;
  lines: number;
  skipped: Record<string, number>;
}

const columns = ['user', 'item', 'category'] as const;
/** Words per spilled event: user, item, category, time. */
const eventWords = 4;

function openForWrites(path: string): number {
  return openSync(path, existsSync(path) ? 'r+' : 'w+');
}

export async function preprocessTbsm(o: TbsmOptions): Promise<Manifest> {
  const output = new PendingOutput(o.out);
  try {
    return await withPath(output.partial, () => build(o, output));
  } finally {
    output.release();
    releaseVocabularies();
  }
}

/** Every chunk of every input in order, numbered across the inputs. */
async function* allChunks(o: TbsmOptions) {
  let index = 0;
  for (const [f, input] of o.inputs.entries()) {
    for await (const chunk of readChunks(input, o.chunkBytes)) yield { f, input, chunk, index: index++ };
  }
}

async function build(o: TbsmOptions, output: PendingOutput): Promise<Manifest> {
  const work = output.partial, say = o.progress ?? (() => {});
  const shaping = { 'ts-length': o.tsLength, 'points-per-user': o.pointsPerUser, 'num-train-pts': o.numTrainPts ?? 'all', 'num-val-pts': o.numValPts ?? 'default', seed: o.seed, 'partition-events': o.eventsPerPartition };
  startWork(work, jobRecord({ inputs: o.inputs, format: tbsmFormat, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: o.chunkBytes, onBadLine: o.onBadLine, shaping }), o.warn ?? say);
  setDataThreads(o.threads);
  const chunkFile = (index: number, kind: string) => join(work, 'chunks', `${index}.${kind}`);
  const parse = (input: string, chunk: Parameters<typeof parseEvents>[0], skipped: Record<string, number>) =>
    parseEvents(chunk, { file: input, firstLine: chunk.firstLine, labelled: true, onBadLine: o.onBadLine, skipped });

  // Pass 1: per chunk, the distinct keys of each column with their counts, users' last times, items' first categories.
  const summaries: ChunkSummary[] = [];
  for await (const { input, chunk, index } of allChunks(o)) {
    const summaryPath = chunkFile(index, 'json');
    if (!existsSync(summaryPath)) {
      const skipped: Record<string, number> = {}, events = parse(input, chunk, skipped);
      const counted = countColumns(events.keys), [users, items] = counted.columns;
      const lastTimes = new Float64Array(users.values.length), firstCategories = new Float64Array(items.values.length).fill(-1);
      for (let e = 0; e < events.rows; e++) {
        lastTimes[users.local[e]] = Math.max(lastTimes[users.local[e]], events.times[e]);
        if (firstCategories[items.local[e]] < 0) firstCategories[items.local[e]] = events.keys[2][e];
      }
      const [categories] = counted.columns.slice(2);
      writeAtomically(chunkFile(index, 'counts.f64'), [users.values, users.counts, lastTimes, items.values, items.counts, firstCategories, categories.values, categories.counts]);
      writeAtomically(summaryPath, JSON.stringify({ rows: events.rows, lines: chunk.lines, skipped }));
    }
    summaries.push(JSON.parse(readFileSync(summaryPath, 'utf8')) as ChunkSummary);
    say(`pass 1: ${input} chunk ${chunk.index + 1}`);
  }
  const events = summaries.reduce((n, s) => n + s.rows, 0);
  if (events === 0) throw new DataError(`${o.inputs.join(', ')}: no valid rows`);

  // Pass 2: the vocabularies, and what the plan and the samples need of every user and item.
  const vocabPath = join(work, 'vocab.f64'), statsPath = join(work, 'users-items.f64');
  if (!existsSync(vocabPath)) {
    const builders = columns.map(() => new VocabularyBuilder());
    summaries.forEach((_, c) => {
      const counts = unpackColumns(chunkFile(c, 'counts.f64'), 8);
      [0, 3, 6].forEach((at, t) => builders[t].add(counts[at], counts[at + 1]));
    });
    const keysById = builders.map((b) => b.finish(1));
    const vocabularies = keysById.map(vocabularyOf);
    const userEvents = new Float64Array(keysById[0].length), lastTimes = new Float64Array(keysById[0].length);
    const itemCategory = new Float64Array(keysById[1].length).fill(-1);
    summaries.forEach((_, c) => {
      const counts = unpackColumns(chunkFile(c, 'counts.f64'), 8);
      const ids = [counts[0], counts[3], counts[5]].map((k) => new Int32Array(k.length));
      lookupColumns([counts[0], counts[3], counts[5]], [vocabularies[0], vocabularies[1], vocabularies[2]], ids);
      ids[0].forEach((u, i) => {
        userEvents[u] += counts[1][i];
        lastTimes[u] = Math.max(lastTimes[u], counts[2][i]);
      });
      ids[1].forEach((item, i) => itemCategory[item] < 0 && (itemCategory[item] = ids[2][i]));
    });
    releaseVocabularies();
    writeAtomically(statsPath, [userEvents, lastTimes, itemCategory]);
    writeAtomically(vocabPath, keysById);
    say('vocabulary written');
  }
  const keysById = unpackColumns(vocabPath, 3), [userEvents, lastTimes, itemCategories] = unpackColumns(statsPath, 3);
  const plan = planSamples(userEvents, lastTimes, o);
  const rows = plan.parts.train + plan.parts.validation + plan.parts.test;
  if (rows === 0) throw new DataError(`${o.inputs.join(', ')}: no user has enough events for a sample`);

  await spill(o, work, summaries.length, keysById, plan, parse, say);

  // Pass 4: the samples of each partition at their rows; the files of constant content after them.
  const width = o.tsLength + 1;
  const catalog: Catalog = {
    items: keysById[1].length, itemCategory: Int32Array.from(itemCategories), padItem: keysById[1].length, padCategory: keysById[2].length,
  };
  const labelsFd = openForWrites(join(work, datasetFiles.labels)), idFds = columns.map((_, t) => openForWrites(join(work, bagFiles(t).ids)));
  try {
    ftruncateSync(labelsFd, rows * 4);
    for (const fd of idFds) ftruncateSync(fd, rows * width * 4);
    const touched = new Int32Array(catalog.items).fill(-1);
    for (const [k, p] of plan.partitions.entries()) {
      const done = join(work, 'partitions', `${k}.done`);
      if (existsSync(done)) continue;
      const samples = partitionSamples(readEvents(join(work, 'partitions', `${k}.events.u32`)), p, plan, o, catalog, touched);
      for (const part of partNames) {
        const s = samples[part], first = p.firstRow[part];
        writeAt(labelsFd, s.labels, first * 4);
        [s.users, s.items, s.categories].forEach((ids, t) => writeAt(idFds[t], ids, first * width * 4));
      }
      writeAtomically(done, '');
      say(`pass 4: partition ${k + 1} of ${plan.partitions.length}`);
    }
  } finally {
    closeSync(labelsFd);
    for (const fd of idFds) closeSync(fd);
  }
  writeConstantFiles(work, rows, width);

  const entry = async (name: string): Promise<FileEntry> => ({ path: name, ...(await sha256OfFileInWorker(join(work, name))) });
  const [labels, dense, categorical, ...bagEntries] = await Promise.all([
    entry(datasetFiles.labels), entry(datasetFiles.dense), entry(datasetFiles.categorical), ...columns.flatMap((_, t) => [entry(bagFiles(t).ids), entry(bagFiles(t).offsets)]),
  ]);
  const skipped: Record<string, number> = {};
  for (const s of summaries) for (const [reason, n] of Object.entries(s.skipped)) skipped[reason] = (skipped[reason] ?? 0) + n;
  const manifest: Manifest = {
    format: datasetFormat, version: datasetVersion, rows, labelName: 'click',
    denseNames: Array.from({ length: width }, (_, j) => `t${j}`), categoricalNames: [...columns],
    cardinalities: keysById.map((k) => k.length + 1), encoding: { kind: 'vocabulary', minCount: 1 }, denseTransform: 'none',
    files: { labels, dense, categorical },
    bags: Object.fromEntries(columns.map((name, t) => [name, { ids: bagEntries[2 * t], offsets: bagEntries[2 * t + 1] }])),
    sequence: { events: width, tsLength: o.tsLength, pointsPerUser: o.pointsPerUser },
    parts: plan.parts,
    source: { format: tbsmFormat, inputs: o.inputs, lines: summaries.reduce((n, s) => n + s.lines, 0), skipped },
  };
  writeFileAtomic(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  output.commit([...Object.values(datasetFiles), ...columns.flatMap((_, t) => Object.values(bagFiles(t))), 'vocab.f64', 'manifest.json']);
  return manifest;
}

/** Pass 3: every event to its user's partition file, chunk by chunk; spill.json records the chunks done and the
 *  files' sizes then, so a rerun cuts the files back to them and goes on from the next chunk. */
async function spill(
  o: TbsmOptions, work: string, chunks: number, keysById: Float64Array[], plan: SamplePlan,
  parse: (input: string, chunk: Parameters<typeof parseEvents>[0], skipped: Record<string, number>) => ReturnType<typeof parseEvents>,
  say: (message: string) => void,
): Promise<void> {
  const progressPath = join(work, 'spill.json'), dir = join(work, 'partitions');
  const partitions = plan.partitions.length;
  let progress = existsSync(progressPath) ? JSON.parse(readFileSync(progressPath, 'utf8')) as { chunks: number; bytes: number[] } : { chunks: 0, bytes: Array<number>(partitions).fill(0) };
  if (progress.chunks === chunks) return;
  mkdirSync(dir, { recursive: true });
  const partitionOfUser = new Int32Array(plan.flags.length);
  plan.partitions.forEach((p, k) => partitionOfUser.fill(k, p.firstUser, p.endUser));
  const fds = plan.partitions.map((_, k) => openForWrites(join(dir, `${k}.events.u32`)));
  try {
    fds.forEach((fd, k) => ftruncateSync(fd, progress.bytes[k]));
    const vocabularies = keysById.map(vocabularyOf);
    for await (const { input, chunk, index } of allChunks(o)) {
      if (index < progress.chunks) continue;
      const events = parse(input, chunk, {}), ids = events.keys.map((k) => new Int32Array(k.length));
      lookupColumns(events.keys, vocabularies, ids);
      // Counted per partition first, so each partition's events go out in one write, in file order.
      const counts = new Int32Array(partitions);
      for (let e = 0; e < events.rows; e++) counts[partitionOfUser[ids[0][e]]]++;
      const starts = new Int32Array(partitions + 1);
      for (let k = 0; k < partitions; k++) starts[k + 1] = starts[k] + counts[k];
      const out = new Uint32Array(events.rows * eventWords), at = starts.slice(0, partitions);
      for (let e = 0; e < events.rows; e++) {
        const w = eventWords * at[partitionOfUser[ids[0][e]]]++;
        out[w] = ids[0][e];
        out[w + 1] = ids[1][e];
        out[w + 2] = ids[2][e];
        out[w + 3] = events.times[e];
      }
      const bytes = [...progress.bytes];
      for (let k = 0; k < partitions; k++) {
        if (counts[k] === 0) continue;
        writeAt(fds[k], out.subarray(eventWords * starts[k], eventWords * starts[k + 1]), bytes[k]);
        bytes[k] += counts[k] * eventWords * 4;
      }
      progress = { chunks: index + 1, bytes };
      writeAtomically(progressPath, JSON.stringify(progress));
      say(`pass 3: ${input} chunk ${chunk.index + 1}`);
    }
  } finally {
    for (const fd of fds) closeSync(fd);
    releaseVocabularies();
  }
}

function readEvents(path: string): Uint32Array {
  const b = readFileSync(path);
  return new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

/** The rows of a partition's users, part by part, their users in id order. `touched` marks items with the user that
 *  last touched them (users are visited once each, so it never needs clearing). */
function partitionSamples(events: Uint32Array, p: Partition, plan: SamplePlan, o: TbsmOptions, catalog: Catalog, touched: Int32Array): Record<'train' | 'validation' | 'test', SampleRows> {
  const width = o.tsLength + 1, n = events.length / eventWords, users = p.endUser - p.firstUser;
  // Stable counting sort by user: each user's events stay in file order, then sort by time.
  const starts = new Int32Array(users + 1);
  for (let e = 0; e < n; e++) starts[events[eventWords * e] - p.firstUser + 1]++;
  for (let u = 0; u < users; u++) starts[u + 1] += starts[u];
  const order = new Int32Array(n), at = starts.slice(0, users);
  for (let e = 0; e < n; e++) order[at[events[eventWords * e] - p.firstUser]++] = e;
  const rowsOf = (rows: number): SampleRows => ({
    labels: new Float32Array(rows), users: new Int32Array(rows * width), items: new Int32Array(rows * width), categories: new Int32Array(rows * width),
  });
  const out = { train: rowsOf(p.rows.train), validation: rowsOf(p.rows.validation), test: rowsOf(p.rows.test) };
  const next = { train: 0, validation: 0, test: 0 };
  for (let u = 0; u < users; u++) {
    const user = p.firstUser + u;
    const mine = Array.from(order.subarray(starts[u], starts[u + 1])).sort((a, b) => events[eventWords * a + 3] - events[eventWords * b + 3] || a - b);
    let distinctTouched = 0;
    for (const e of mine) {
      const item = events[eventWords * e + 1];
      if (touched[item] !== user) distinctTouched++;
      touched[item] = user;
    }
    const recent = mine.slice(-maxUserEvents);
    const history = {
      user, distinctTouched, touched: (item: number) => touched[item] === user,
      items: Int32Array.from(recent, (e) => events[eventWords * e + 1]), categories: Int32Array.from(recent, (e) => events[eventWords * e + 2]),
    };
    const flags = plan.flags[user];
    // Streams by user id: a user's samples do not depend on the partitions.
    if (flags & trainFlag) {
      next.train = writeTrainingRows(out.train, next.train, history, pointsOfUser(history.items.length, o.pointsPerUser), o, catalog, new Rng(o.seed, user));
    }
    if (flags & validationFlag) {
      next.validation = writeTrainingRows(out.validation, next.validation, history, pointsOfUser(history.items.length, 1), o, catalog, new Rng(o.seed + 31, user));
    }
    if (flags & testFlag) writeTestRow(out.test, next.test++, history, o, catalog, new Rng(o.seed, user));
  }
  return out;
}

/** The files whose content every row shares: dense times j / width (row-major), the bag sizes (width in each
 *  column's block), and each bag's offsets (row * width). Rewritten whole by every run: they cost one write. */
function writeConstantFiles(work: string, rows: number, width: number): void {
  const blockRows = 1 << 16;
  const write = (name: string, total: number, block: (first: number, count: number) => ArrayBufferView) => {
    const fd = openSync(join(work, name), 'w');
    try {
      for (let r = 0, position = 0; r < total; r += blockRows) {
        const piece = block(r, Math.min(blockRows, total - r));
        writeAt(fd, piece, position);
        position += piece.byteLength;
      }
    } finally {
      closeSync(fd);
    }
  };
  const times = new Float32Array(blockRows * width).map((_, i) => (i % width) / width), sizes = new Int32Array(blockRows).fill(width);
  write(datasetFiles.dense, rows, (_, count) => times.subarray(0, count * width));
  write(datasetFiles.categorical, columns.length * rows, (_, count) => sizes.subarray(0, count));
  columns.forEach((_, t) => write(bagFiles(t).offsets, rows + 1, (first, count) => Float64Array.from({ length: count }, (_, i) => (first + i) * width)));
}
