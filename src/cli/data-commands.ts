/** `hotline preprocess`, `hotline gen` and `hotline inspect`: raw data to datasets, and a look at one. */
import { closeSync, openSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { readBinaryDataset } from '../data/binary-dataset.ts';
import { maxTableRows } from '../data/dataset-checks.ts';
import { preprocess } from '../data/preprocess.ts';
import { preprocessTbsm, tbsmFormat } from '../data/sequences/tbsm-preprocess.ts';
import { generateInParts, generateTsvInParts } from '../data/synthetic-parts.ts';
import { taobaoCsv } from '../data/sequences/taobao-synthetic.ts';
import { BinaryDatasetWriter } from '../data/write-binary.ts';
import { presets } from '../model/arch.ts';
import { skewOfIds } from '../popularity/skew.ts';
import { PendingOutput } from '../util/atomic-file.ts';
import { formatBytes } from '../util/bytes.ts';
import { checkThreads, parseBytes, UsageError } from './options.ts';
import { withPath } from '../util/os-error.ts';

function parse<T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function nonNegativeInteger(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 0) throw new UsageError(`${flag}: expected an integer >= 0, got "${text}"`);
  return v;
}

function positiveInteger(text: string, flag: string): number {
  const v = Number(text);
  if (!Number.isInteger(v) || v < 1) throw new UsageError(`${flag}: expected a positive integer, got "${text}"`);
  return v;
}

export async function runPreprocess(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' }, 'max-ind-range': { type: 'string' }, 'min-count': { type: 'string', default: '1' },
    'chunk-size': { type: 'string', default: '64MiB' }, 'on-bad-line': { type: 'string', default: 'error' },
    threads: { type: 'string', default: String(availableParallelism()) }, format: { type: 'string', default: 'criteo' },
    'ts-length': { type: 'string', default: '20' }, 'points-per-user': { type: 'string', default: '10' },
    'num-train-pts': { type: 'string' }, 'num-val-pts': { type: 'string' }, seed: { type: 'string', default: '123' },
    'partition-events': { type: 'string', default: String(1 << 22) },
  });
  if (positionals.length === 0 || !values.out) throw new UsageError('usage: hotline preprocess INPUT... --out DIR [--format criteo|avazu|taobao|taobao-tbsm|movielens|libfm|schema:FILE.json] [--max-ind-range N | --min-count N]');
  const chunkBytes = parseBytes(values['chunk-size']!);
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new UsageError(`--chunk-size: expected a size such as 64MiB, got "${values['chunk-size']}"`);
  if (values['on-bad-line'] !== 'error' && values['on-bad-line'] !== 'skip') throw new UsageError(`--on-bad-line: expected error or skip, got "${values['on-bad-line']}"`);
  if (values['max-ind-range'] && values['min-count'] !== '1') throw new UsageError('--max-ind-range hashes the values and --min-count counts them: give one of the two');
  const maxIndRange = values['max-ind-range'] ? positiveInteger(values['max-ind-range'], '--max-ind-range') : 0;
  if (maxIndRange > maxTableRows) throw new UsageError(`--max-ind-range: at most ${maxTableRows} (ids are int32), got ${maxIndRange}`);
  const threads = positiveInteger(values.threads!, '--threads'), threadsWarning = checkThreads(threads, '--threads');
  if (threadsWarning) out.write(`hotline: ${threadsWarning}\n`);
  const encoding = maxIndRange > 0
    ? { kind: 'hash' as const, maxIndRange }
    : { kind: 'vocabulary' as const, minCount: positiveInteger(values['min-count']!, '--min-count') };
  const started = Date.now();
  let last = 0;
  const progress = (message: string) => {
    if (Date.now() - last > 1000) {
      last = Date.now();
      out.write(`${message}\n`);
    }
  };
  const common = { inputs: positionals, out: values.out, chunkBytes, onBadLine: values['on-bad-line'] as 'error' | 'skip', threads, progress };
  const tbsm = values.format === tbsmFormat;
  const sequenceFlags = ['ts-length', 'points-per-user', 'num-train-pts', 'num-val-pts', 'seed', 'partition-events'] as const;
  const stray = sequenceFlags.find((flag) => !tbsm && argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`)));
  if (stray) throw new UsageError(`--${stray} shapes --format ${tbsmFormat} samples only`);
  if (tbsm && encoding.kind === 'hash') throw new UsageError(`--format ${tbsmFormat} numbers ids by frequency: it takes no --max-ind-range`);
  const optionalCount = (flag: 'num-train-pts' | 'num-val-pts') => (values[flag] === undefined ? null : positiveInteger(values[flag]!, `--${flag}`));
  const manifest = tbsm
    ? await preprocessTbsm({
        ...common, tsLength: positiveInteger(values['ts-length']!, '--ts-length'), pointsPerUser: positiveInteger(values['points-per-user']!, '--points-per-user'),
        numTrainPts: optionalCount('num-train-pts'), numValPts: optionalCount('num-val-pts'), seed: nonNegativeInteger(values.seed!, '--seed'),
        eventsPerPartition: positiveInteger(values['partition-events']!, '--partition-events'),
      })
    : await preprocess({ ...common, format: values.format, encoding });
  const skipped = Object.entries(manifest.source.skipped).map(([k, n]) => `${n} ${k}`).join(', ');
  out.write(
    `wrote ${values.out}: ${manifest.rows.toLocaleString('en-US')} rows of ${manifest.source.lines.toLocaleString('en-US')} lines` +
      `${skipped ? ` (skipped: ${skipped})` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s; cardinalities ${manifest.cardinalities.join('-')}\n`,
  );
}

/** Rows per generated part: one stream of the seed each, so any thread count gives the same rows. */
const partRows = 250_000;

/** A file that appears whole: its pieces written in order to OUT.partial, then renamed. */
async function writePieces(path: string, pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const output = new PendingOutput(path);
  try {
    const fd = openSync(output.partial, 'w');
    try {
      for await (const bytes of pieces) {
        withPath(output.partial, () => {
          for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
        });
      }
    } finally {
      closeSync(fd);
    }
    output.commit();
  } finally {
    output.release();
  }
}

const taobaoGenFlags = ['users', 'items', 'categories', 'events'] as const;

/** `gen --format taobao`: a synthetic UserBehavior CSV (sequences/taobao-synthetic.ts). */
async function genTaobao(values: Record<string, string | boolean | undefined>, out: NodeJS.WriteStream): Promise<void> {
  const started = Date.now(), spec = {
    users: positiveInteger(String(values.users ?? '10000'), '--users'), items: positiveInteger(String(values.items ?? '100000'), '--items'),
    categories: positiveInteger(String(values.categories ?? '1000'), '--categories'), events: positiveInteger(String(values.events ?? '1000000'), '--events'),
    seed: positiveInteger(String(values.seed), '--seed'),
  };
  if (spec.events < spec.users) throw new UsageError(`--events ${spec.events}: every one of the ${spec.users} users needs an event`);
  if (spec.categories > spec.items) throw new UsageError(`--categories ${spec.categories}: more than the ${spec.items} items`);
  await writePieces(String(values.out), taobaoCsv(spec));
  const seconds = (Date.now() - started) / 1000;
  out.write(`wrote ${values.out}: ${spec.events.toLocaleString('en-US')} events of ${spec.users.toLocaleString('en-US')} users (taobao) in ${seconds.toFixed(1)} s\n`);
}

export async function runGen(argv: string[], out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const { values } = parse(argv, {
    out: { type: 'string' }, rows: { type: 'string', default: '1000000' }, format: { type: 'string', default: 'binary' },
    preset: { type: 'string', default: 'kaggle' }, zipf: { type: 'string', default: '1.1' }, seed: { type: 'string', default: '1' },
    'max-table-rows': { type: 'string' }, threads: { type: 'string', default: String(availableParallelism()) },
    users: { type: 'string' }, items: { type: 'string' }, categories: { type: 'string' }, events: { type: 'string' },
  });
  if (!values.out) throw new UsageError('usage: hotline gen --out PATH [--rows N] [--format binary|tsv|taobao] [--preset kaggle|terabyte] [--zipf S] [--threads N] [--users N --items N --categories N --events N (taobao)]');
  if (values.format === 'taobao') return genTaobao(values, out);
  const stray = taobaoGenFlags.find((flag) => values[flag] !== undefined);
  if (stray) throw new UsageError(`--${stray} shapes --format taobao only`);
  // The Criteo-like generator's presets (the taobao preset is TBSM's tower, not a Criteo set).
  const preset = values.preset === 'kaggle' || values.preset === 'terabyte' ? presets[values.preset] : null;
  if (!preset) throw new UsageError(`--preset: expected kaggle or terabyte, got "${values.preset}"`);
  if (values.format !== 'binary' && values.format !== 'tsv') throw new UsageError(`--format: expected binary, tsv or taobao, got "${values.format}"`);
  const cap = values['max-table-rows'] ? positiveInteger(values['max-table-rows'], '--max-table-rows') : Infinity;
  const zipfs = values.zipf!.split(',').map(Number), seed = positiveInteger(values.seed!, '--seed');
  if (zipfs.some((z) => !Number.isFinite(z) || z <= 0) || (zipfs.length > 1 && zipfs.length !== preset.tableRows.length)) {
    throw new UsageError(`--zipf: expected one exponent or one per table (${preset.tableRows.length}), got "${values.zipf}"`);
  }
  const zipf = zipfs.length === 1 ? zipfs[0] : zipfs;
  const started = Date.now(), rows = positiveInteger(values.rows!, '--rows'), threads = positiveInteger(values.threads!, '--threads');
  const threadsWarning = checkThreads(threads, '--threads');
  if (threadsWarning) out.write(`hotline: ${threadsWarning}\n`);
  const spec = { tableRows: preset.tableRows.map((n) => Math.min(n, cap)), denseFeatures: 13, zipf, seed };
  // Parts are generated on worker threads; this thread only writes, so memory holds a few parts at any size.
  if (values.format === 'tsv') {
    await writePieces(values.out, generateTsvInParts(spec, rows, partRows, threads));
  } else {
    const writer = new BinaryDatasetWriter(values.out, rows, spec.denseFeatures, spec.tableRows.length);
    for await (const part of generateInParts(spec, rows, partRows, threads)) writer.append(part);
    await writer.finish({ cardinalities: spec.tableRows, encoding: { kind: 'synthetic', zipf, seed }, source: { inputs: [], lines: rows, skipped: {} } });
  }
  const seconds = (Date.now() - started) / 1000;
  out.write(`wrote ${values.out}: ${rows.toLocaleString('en-US')} rows (${values.format}) in ${seconds.toFixed(1)} s (${(rows / seconds * 60 / 1e6).toFixed(1)}M rows/min, ${threads} threads)\n`);
}

export function runInspect(argv: string[], out: NodeJS.WriteStream = process.stdout): void {
  const { positionals, values } = parse(argv, { verify: { type: 'boolean', default: false } });
  if (positionals.length !== 1) throw new UsageError('usage: hotline inspect DATASET_DIR [--verify]');
  const { manifest, data } = readBinaryDataset(positionals[0], values.verify);
  let clicks = 0;
  for (const y of data.labels) clicks += y;
  const bytes = Object.values(manifest.files).reduce((n, f) => n + f.bytes, 0);
  out.write(
    `${positionals[0]}: ${data.rows.toLocaleString('en-US')} rows, ${formatBytes(bytes)}, label rate ${(100 * clicks / data.rows).toFixed(2)}%, ` +
      `encoding ${JSON.stringify(manifest.encoding)}${values.verify ? ', checksums verified' : ''}\n`,
  );
  const { tables, pooled } = skewOfIds(data.categorical, manifest.cardinalities, manifest.categoricalNames);
  out.write('column | cardinality | distinct ids used | lookups on top 1% of ids | on top 10%\n');
  for (const s of tables) {
    out.write(`${s.name} | ${s.rows.toLocaleString('en-US')} | ${s.used.toLocaleString('en-US')} | ${(100 * s.top1).toFixed(1)}% | ${(100 * s.top10).toFixed(1)}%\n`);
  }
  out.write(`all | ${pooled.rows.toLocaleString('en-US')} | | ${(100 * pooled.top1).toFixed(1)}% | ${(100 * pooled.top10).toFixed(1)}%\n`);
}
