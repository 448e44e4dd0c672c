// Issue 11, the property-based check: random mutations of valid inputs (bytes flipped, inserted or deleted; lines cut,
// duplicated or dropped; fields dropped or duplicated; numbers stretched; delimiters changed; CRLF, a BOM, NUL bytes;
// an empty file or one cut mid-line) thrown at every parser and at the dataset loader. Every outcome is either a
// refusal that main turns into exit 2 with one line naming the file, or a dataset that passes `inspect --verify` and
// holds only what the kernels may see; never a crash, a hang or a stack trace. Most cases call the library in this
// process; fewer go through the real CLI. Seeds are fixed: a failure prints fast-check's seed, path and shrunk
// counterexample. HOTLINE_PROPERTY_RUNS=N multiplies every run count, for a longer search.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { CheckpointError } from '../../src/checkpoint/checkpoint-store.ts';
import { runInspect } from '../../src/cli/data-commands.ts';
import { UsageError } from '../../src/cli/options.ts';
import { type Manifest, readBinaryDataset, readManifest, splitBoundaries } from '../../src/data/binary-dataset.ts';
import { readCriteoTsv } from '../../src/data/criteo-tsv.ts';
import type { Dataset } from '../../src/data/dataset.ts';
import { DataError } from '../../src/util/errors.ts';
import { preprocess, type PreprocessOptions } from '../../src/data/preprocess.ts';
import { StreamingSource } from '../../src/data/streaming.ts';
import { generateSynthetic } from '../../src/data/synthetic.ts';
import { BinaryDatasetWriter } from '../../src/data/write-binary.ts';
import { createKernels } from '../../src/device/registry.ts';
import { ArchError } from '../../src/model/arch.ts';
import { describeOsError, isOsError } from '../../src/util/os-error.ts';
import { printable } from '../../src/util/printable.ts';
import { assertRefused, literal, type Run, scratch, tiny } from './cli.ts';
import { columnsOfJagged } from '../helpers.ts';

const scale = Number(process.env.HOTLINE_PROPERTY_RUNS ?? 1);
const runs = (n: number) => Math.max(1, Math.round(n * scale));
const bin = new URL('../../bin/hotline.mjs', import.meta.url).pathname;
let root = '', oneHot = '', multiHot = '';
let cases = 0;
/** A new empty folder for one case (preprocess may leave OUT.partial behind). */
const fresh = () => mkdtempSync(join(root, `${cases++}-`));

// ---- Valid inputs: small files of every format, made here -------------------------------------------------------

/** How a file's lines split into fields: the delimiter, and which fields hold numbers (to stretch). */
interface Layout {
  delimiter: string;
  numeric: number[];
}

interface Source extends Layout {
  name: string;
  file: string;
  /** The --format value; a schema source writes its schema file into dir. */
  format: (dir: string) => string;
  header: boolean;
  text: string;
  gzip?: boolean;
}

const hex = (i: number, t: number) => ((Math.imul(i % (3 + t * 5), 0x9e3779b1) + t) >>> 0).toString(16);
const criteoRows = Array.from({ length: 60 }, (_, i) => [
  String(i % 3 === 0 ? 1 : 0),
  ...Array.from({ length: 13 }, (_, j) => ((i + j) % 7 === 0 ? '' : String(((i * 31 + j * 17) % 900) - (j === 1 ? 3 : 0)))),
  ...Array.from({ length: 26 }, (_, t) => ((i + t) % 11 === 0 ? '' : hex(i, t))),
].join('\t'));
const criteoText = `${criteoRows.join('\n')}\n`;

const avazuColumns = ['C1', 'banner_pos', 'site_id', 'site_domain', 'site_category', 'app_id', 'app_domain', 'app_category', 'device_id',
  'device_ip', 'device_model', 'device_type', 'device_conn_type', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21'];
const avazuText = `id,click,hour,${avazuColumns.join(',')}\n` + Array.from({ length: 40 }, (_, i) =>
  [String(1e18 + i * 7919), String(i % 4 === 0 ? 1 : 0), `1410${21 + (i % 9)}${String(i % 24).padStart(2, '0')}`, ...avazuColumns.map((_, k) => `${(k * 13 + i * 7) % (k + 3)}a`)].join(',') + '\n').join('');

const behaviors = ['pv', 'pv', 'cart', 'pv', 'fav', 'buy'];
const taobaoText = Array.from({ length: 60 }, (_, i) => `${i % 13},${(i * 7) % 29},${i % 5},${behaviors[i % 6]},${1511658000 + i * 3571}\n`).join('');
const movieRows = Array.from({ length: 50 }, (_, i) => [String(i % 11), String((i * 5) % 17), String(0.5 + (i % 10) / 2), String(964982703 + i * 61)]);
const interText = `user_id:token\titem_id:token\trating:float\ttimestamp:float\n${movieRows.map((r) => `${r.join('\t')}\n`).join('')}`;
const ratingsText = `userId,movieId,rating,timestamp\n${movieRows.map((r) => `${r.join(',')}\n`).join('')}`;
const libfmText = Array.from({ length: 60 }, (_, i) => `${[1, -1, 0][i % 3]} ${[0, 1, 2, 3].map((k) => `${k * 100 + ((i * (k + 3)) % 19)}:${k === 3 ? (i % 4) / 2 : 1}`).join(' ')}\n`).join('');

// Two schemas between them cover every schema feature: dense, categorical, multi-hot, both time kinds, both label rules.
const tagsSchema = {
  delimiter: ',', header: true, label: { column: 'clicked', positive: ['yes'], negative: ['no'] }, dense: ['price', 'count'],
  categorical: ['user', 'tags'], multiHot: { tags: '|' }, time: { column: 'ts', kind: 'unix' },
};
const tags = ['a', 'b|c', '', 'a|c|d', 'e'];
const tagsText = `ts,user,tags,price,count,clicked\n${Array.from({ length: 60 }, (_, i) =>
  `${1600000000 + i * 4001},u${i % 9},${tags[i % 5]},${i % 6 === 0 ? '' : ((i * 3.25) % 40).toFixed(2)},${i % 12},${i % 3 ? 'no' : 'yes'}\n`).join('')}`;
const ratedSchema = {
  delimiter: '\t', header: false, columns: ['hour', 'shop', 'score', 'weight', 'genres'], label: { column: 'score', atLeast: 3 },
  dense: ['weight'], categorical: ['shop', 'genres'], multiHot: { genres: ';' }, time: { column: 'hour', kind: 'yymmddhh' },
};
const ratedText = Array.from({ length: 50 }, (_, i) =>
  `1410${21 + (i % 9)}${String(i % 24).padStart(2, '0')}\ts${i % 7}\t${i % 6}\t${(i * 1.5e3).toExponential(2)}\t${['x;y', 'y', '', 'z;x;w'][i % 4]}\n`).join('');

const schemaFormat = (schema: unknown) => (dir: string) => {
  const path = join(dir, 'schema.json');
  writeFileSync(path, JSON.stringify(schema));
  return `schema:${path}`;
};
const preset = (name: string) => () => name;
const criteoNumbers = Array.from({ length: 14 }, (_, j) => j);
const sourceList: Source[] = [
  { name: 'criteo', file: 'day_0', format: preset('criteo'), delimiter: '\t', numeric: criteoNumbers, header: false, text: criteoText },
  { name: 'criteo gzip', file: 'day_0.gz', format: preset('criteo'), delimiter: '\t', numeric: criteoNumbers, header: false, text: criteoText, gzip: true },
  { name: 'avazu', file: 'train.csv', format: preset('avazu'), delimiter: ',', numeric: [1, 2], header: true, text: avazuText },
  { name: 'taobao', file: 'UserBehavior.csv', format: preset('taobao'), delimiter: ',', numeric: [0, 1, 4], header: false, text: taobaoText },
  { name: 'movielens .inter', file: 'ml.inter', format: preset('movielens'), delimiter: '\t', numeric: [2, 3], header: true, text: interText },
  { name: 'movielens ratings.csv', file: 'ratings.csv', format: preset('movielens'), delimiter: ',', numeric: [2, 3], header: true, text: ratingsText },
  { name: 'libfm', file: 'train.libfm', format: preset('libfm'), delimiter: ' ', numeric: [0], header: false, text: libfmText },
  { name: 'schema (unix time, multi-hot, yes/no)', file: 'tags.csv', format: schemaFormat(tagsSchema), delimiter: ',', numeric: [0, 3, 4], header: true, text: tagsText },
  { name: 'schema (yymmddhh, multi-hot, atLeast)', file: 'rated.tsv', format: schemaFormat(ratedSchema), delimiter: '\t', numeric: [0, 2, 3], header: false, text: ratedText },
];
/** Bytes alone: no fields; JSON: its commas split fields (elements and members). */
const bytesOnly: Layout = { delimiter: '\n', numeric: [] }, jsonLayout: Layout = { delimiter: ',', numeric: [] };
/** Counterexamples show a source by its name, not its text. */
const sources = sourceList.map((s) => Object.assign(s, { [fc.toStringMethod]: () => s.name }));

// ---- Mutations: data, so that fast-check prints a counterexample one can read ------------------------------------

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'insert'; at: number; bytes: string | Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  /** The file ends at byte `at` (mid-line, mostly). */
  | { kind: 'cut'; at: number }
  | { kind: 'empty' }
  | { kind: 'crlf' }
  | { kind: 'bom' }
  /** A line dropped, duplicated, or cut at byte `at` (its line end kept). */
  | { kind: 'line'; op: 'drop' | 'duplicate' | 'cut'; line: number; at: number }
  | { kind: 'field'; op: 'drop' | 'duplicate'; line: number; field: number }
  /** A number field's text (of the layout's numeric fields) replaced by a number stretched (many digits, 1e400, signs, '.'). */
  | { kind: 'number'; line: number; field: number; text: string }
  /** The delimiter of one line (or of every line, when line is null) replaced. */
  | { kind: 'delimiter'; line: number | null; to: string };

const digits400 = '1234567890'.repeat(40);
const numberText = fc.oneof(
  fc.constantFrom(digits400, `-${digits400}`, '1e400', '-1e400', '1e-400', '0e400', '1e308', '1.8e308', '9007199254740993', '2147483648',
    '-2147483649', '4294967296', '-0', '+1', '-', '+', '.', '1.', '.5', '1e', 'e5', '1e+', '0x1f', 'NaN', 'Infinity', '-Infinity', '1,5', ' 1', ''),
  // Many digits: past a float32's range from 39 on, past a double's from 309.
  fc.tuple(fc.constantFrom('', '-', '+'), fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 300, max: 420 })),
    fc.constantFrom('', '', '', '.', '.5', 'e400', 'e-400', 'e308', 'e5', 'e-5')).map(([sign, n, tail]) => `${sign}${'9'.repeat(n)}${tail}`),
  fc.string({ unit: fc.constantFrom(...'0123456789+-.eE'), maxLength: 24 }),
);
const specials = ['\0', '\0\0\0\0', '\r', '\n', '\r\n', '\t', ',', ' ', '|', ';', ':', '"', '\ufeff', '\\', 'é', '\u2028'];
const position = fc.nat({ max: 1 << 16 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: position, xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.oneof(fc.constantFrom(...specials), fc.uint8Array({ minLength: 1, maxLength: 6 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: position }),
  fc.record({ kind: fc.constantFrom('empty' as const, 'crlf' as const, 'bom' as const) }),
  fc.record({ kind: fc.constant('line' as const), op: fc.constantFrom('drop' as const, 'duplicate' as const, 'cut' as const), line: fc.nat(), at: position }),
  fc.record({ kind: fc.constant('field' as const), op: fc.constantFrom('drop' as const, 'duplicate' as const), line: fc.nat(), field: fc.nat() }),
  { arbitrary: fc.record({ kind: fc.constant('number' as const), line: fc.nat(), field: fc.nat(), text: numberText }), weight: 4 },
  fc.record({ kind: fc.constant('delimiter' as const), line: fc.option(fc.nat()), to: fc.constantFrom('\t', ',', ';', ' ', '|', ':', '', '\t\t') }),
);
/** Mutations of bytes alone (a gzip stream, a binary file). */
const byteMutation = mutation.filter((m) => ['flip', 'insert', 'delete', 'cut'].includes(m.kind));
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

/** Lines with their line ends, so that a line-wise edit keeps the others as they were. */
const splitLines = (b: Buffer): Buffer[] => {
  const lines: Buffer[] = [];
  for (let at = 0; at < b.length;) {
    const end = b.indexOf(10, at);
    const stop = end < 0 ? b.length : end + 1;
    lines.push(b.subarray(at, stop));
    at = stop;
  }
  return lines;
};

function mutate(b: Buffer, m: Mutation, { delimiter, numeric }: Layout): Buffer {
  const at = (n: number) => n % (b.length + 1);
  switch (m.kind) {
    case 'flip': {
      if (b.length === 0) return b;
      const c = Buffer.from(b);
      c[m.at % b.length] ^= m.xor;
      return c;
    }
    case 'insert': return Buffer.concat([b.subarray(0, at(m.at)), Buffer.from(m.bytes), b.subarray(at(m.at))]);
    case 'delete': return Buffer.concat([b.subarray(0, at(m.at)), b.subarray(at(m.at) + m.length)]);
    case 'cut': return b.subarray(0, at(m.at));
    case 'empty': return Buffer.alloc(0);
    case 'crlf': return Buffer.from(b.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
    case 'bom': return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
  }
  const lines = splitLines(b);
  if (lines.length === 0) return b;
  if (m.kind === 'delimiter' && m.line === null) return Buffer.from(b.toString('latin1').split(delimiter).join(m.to), 'latin1');
  const k = m.line! % lines.length, line = lines[k];
  const text = line.toString('latin1'), ending = /\r?\n$/.exec(text)?.[0] ?? '';
  if (m.kind === 'line') {
    const replaced = m.op === 'drop' ? [] : m.op === 'duplicate' ? [line, line] : [Buffer.from(text.slice(0, m.at % (text.length - ending.length + 1)) + ending, 'latin1')];
    lines.splice(k, 1, ...replaced);
    return Buffer.concat(lines);
  }
  const fields = text.slice(0, text.length - ending.length).split(delimiter);
  if (m.kind === 'delimiter') {
    lines[k] = Buffer.from(fields.join(m.to) + ending, 'latin1');
    return Buffer.concat(lines);
  }
  const f = m.kind === 'number' && numeric.length > 0 ? Math.min(numeric[m.field % numeric.length], fields.length - 1) : m.field % fields.length;
  if (m.kind === 'number') fields[f] = m.text;
  else fields.splice(f, m.op === 'drop' ? 1 : 0, ...(m.op === 'duplicate' ? [fields[f]] : []));
  lines[k] = Buffer.from(fields.join(delimiter) + ending, 'latin1');
  return Buffer.concat(lines);
}

const applied = (text: string | Buffer, list: Mutation[], layout: Layout) =>
  list.reduce<Buffer>((b, m) => mutate(b, m, layout), Buffer.from(text));

// JSON edits (a schema, a manifest): a node reached by `path` (each step picks a child, modulo their count) is
// deleted, replaced, shortened (arrays lose their last element, strings their last character, numbers halve),
// lengthened, or nudged (numbers + delta).
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface JsonEdit {
  path: number[];
  op: 'delete' | 'replace' | 'shorten' | 'lengthen' | 'nudge';
  value: Json;
  delta: number;
}
/** Stands for a number JSON.stringify cannot write: 1e400, -1e400 (parsed as +-Infinity). */
const huge = '\u0001huge', minusHuge = '\u0001-huge';
const jsonValue = fc.constantFrom<Json>(null, true, false, 0, -1, 1, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, huge, minusHuge, '', 'x', '1', '../labels.f32',
  'labels.f32', [], {}, [1], ['a', 'a'], { kind: 'hash' }, 'vocabulary');
const jsonEdit: fc.Arbitrary<JsonEdit> = fc.record({
  path: fc.array(fc.nat({ max: 40 }), { minLength: 1, maxLength: 4 }),
  op: fc.constantFrom('delete', 'replace', 'shorten', 'lengthen', 'nudge'),
  value: jsonValue,
  delta: fc.integer({ min: -3, max: 3 }).filter((d) => d !== 0),
});

function editJson(text: string, edit: JsonEdit): string {
  const holder: Record<string, Json> = { root: JSON.parse(text) as Json };
  let parent: Record<string, Json> | Json[] = holder, key: string | number = 'root';
  for (const step of edit.path) {
    const node: Json = (parent as Record<string, Json>)[key];
    if (typeof node !== 'object' || node === null) break;
    const keys: string[] = Object.keys(node);
    if (keys.length === 0) break;
    parent = node;
    key = Array.isArray(node) ? step % node.length : keys[step % keys.length];
  }
  const node = (parent as Record<string, Json>)[key];
  const set = (v: Json) => ((parent as Record<string, Json>)[key] = v);
  if (edit.op === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (edit.op === 'replace') set(edit.value);
  else if (edit.op === 'nudge') set(typeof node === 'number' ? node + edit.delta : edit.value);
  else if (Array.isArray(node)) {
    if (edit.op === 'shorten') node.pop();
    else node.push(node.at(-1) ?? edit.value);
  } else if (typeof node === 'string') set(edit.op === 'shorten' ? node.slice(0, -1) : `${node}x`);
  else if (typeof node === 'number') set(edit.op === 'shorten' ? Math.floor(node / 2) : node * 10 + 1);
  else if (typeof node === 'object' && node !== null) node.extra = edit.value;
  else set(edit.value);
  return JSON.stringify(holder.root, null, 2)?.replaceAll(`"${huge}"`, '1e400').replaceAll(`"${minusHuge}"`, '-1e400') ?? '';
}

// ---- What every outcome must be ----------------------------------------------------------------------------------

/** The errors main prints as one line `hotline: ...` and exits 2 for. */
const exitsTwo = (e: unknown) => e instanceof DataError || e instanceof UsageError || e instanceof ArchError || e instanceof CheckpointError || isOsError(e);

/** A refusal whose line, as main prints it, names one of `files`; anything else is rethrown (a crash, which
 *  fast-check reports with its stack). */
function assertRefusal(error: unknown, files: string[]): void {
  if (!exitsTwo(error)) throw error;
  const line = printable(isOsError(error) ? describeOsError(error) : (error as Error).message);
  assert.ok(files.some((f) => line.includes(printable(f))), `the message names none of ${files.join(', ')}: ${line}`);
}

/** Runs fn: its result, or null after a refusal naming one of `files`. */
async function outcome<T>(files: string[], fn: () => T | Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (error) {
    assertRefusal(error, files);
    return null;
  }
}

/** What the kernels may be given: labels 0 or 1, finite dense values, ids within their tables, bags well formed. */
function assertSafe(data: Dataset, rows: number): void {
  assert.equal(data.rows, rows);
  assert.equal(data.labels.length, rows);
  assert.ok(data.labels.every((y) => y === 0 || y === 1), 'a label other than 0 or 1');
  assert.equal(data.dense.length, rows * data.denseFeatures);
  assert.ok(data.dense.every(Number.isFinite), 'a dense value that is not finite');
  data.categorical.forEach((ids, t) => {
    const offsets = data.offsets?.[t];
    if (offsets) {
      assert.equal(offsets.length, rows + 1);
      assert.equal(offsets[0], 0);
      assert.ok(offsets.every((o, i) => i === 0 || o >= offsets[i - 1]), `column ${t}: offsets fall`);
      assert.equal(offsets[rows], ids.length);
    } else assert.equal(ids.length, rows);
    assert.ok(ids.every((id) => id >= 0 && id < data.tableRows[t]), `column ${t}: an id outside the table's ${data.tableRows[t]} rows`);
  });
}

const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;

/** A preprocessed dataset passes `inspect --verify`, and its rows and skipped lines account for every line. */
function assertVerified(out: string, m: Manifest, header: boolean): void {
  runInspect([out, '--verify'], sink());
  assertSafe(readBinaryDataset(out, true).data, m.rows);
  const skipped = Object.values(m.source.skipped).reduce((a, b) => a + b, 0);
  assert.equal(m.rows + skipped, m.source.lines - (header ? 1 : 0), `rows ${m.rows} + skipped ${skipped} against ${m.source.lines} lines`);
}

const preprocessOptions = fc.record({
  encoding: fc.oneof(
    fc.record({ kind: fc.constant('vocabulary' as const), minCount: fc.constantFrom(1, 2) }),
    fc.record({ kind: fc.constant('hash' as const), maxIndRange: fc.constantFrom(1, 7, 2 ** 31 - 1) }),
  ),
  chunkBytes: fc.constantFrom(256, 1000, 1 << 16),
  onBadLine: fc.constantFrom('error' as const, 'skip' as const),
  threads: fc.constantFrom(1, 2),
});

/** Writes a source mutated by `list` (then gzipped, and the gzip stream mutated by `compressed`) into a new folder. */
function writeMutated(source: Source, list: Mutation[], compressed: Mutation[] = []): { dir: string; input: string } {
  const dir = fresh(), input = join(dir, source.file);
  const bytes = applied(source.text, list, source);
  writeFileSync(input, source.gzip ? applied(gzipSync(bytes), compressed, bytesOnly) : bytes);
  return { dir, input };
}

type Options = Omit<PreprocessOptions, 'inputs' | 'format' | 'out'>;
const defaults: Options = { encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 256, onBadLine: 'error', threads: 1 };

/** Preprocesses one input into `out` (a new folder by default). */
const preprocessed = (input: string, format: string, o: Partial<Options> = {}, out = join(fresh(), 'ds')) =>
  preprocess({ inputs: [input], format, out, ...defaults, ...o });

async function preprocessOutcome(source: Source, input: string, format: string, o: Options, names: string[]) {
  const out = join(fresh(), 'ds');
  const m = await outcome(names, () => preprocessed(input, format, o, out));
  if (m) assertVerified(out, m, source.header);
}

const check = <T>(property: fc.IAsyncPropertyWithHooks<[T]>, numRuns: number, seed: number) =>
  fc.assert(property, { numRuns: runs(numRuns), seed });

/** The valid datasets the loader's cases damage: one-hot (BinaryDatasetWriter) and multi-hot (a schema CSV). */
before(async () => {
  root = scratch('property');
  const rows = 300, tableRows = [50, 3, 176];
  oneHot = join(root, 'one-hot');
  const writer = new BinaryDatasetWriter(oneHot, rows, 13, tableRows.length);
  writer.append(generateSynthetic({ rows, tableRows, denseFeatures: 13, zipf: 1.1, seed: 5 }));
  await writer.finish({ cardinalities: tableRows, encoding: { kind: 'synthetic', zipf: 1.1, seed: 5 }, source: { inputs: [], lines: rows, skipped: {} } });
  const tagSource = sources[7], { dir, input } = writeMutated(tagSource, []);
  multiHot = join(root, 'multi-hot');
  await preprocessed(input, tagSource.format(dir), {}, multiHot);
});
after(() => rmSync(root, { recursive: true, force: true }));

// ---- In process: the bulk of the cases ---------------------------------------------------------------------------

describe('every parser, in process: a refusal naming the file, or a dataset that verifies', () => {
  for (const [k, source] of sources.entries()) {
    it(source.name, async () => {
      const arbitrary = fc.tuple(mutations, source.gzip ? fc.array(byteMutation, { maxLength: 1 }) : fc.constant<Mutation[]>([]), preprocessOptions);
      await check(fc.asyncProperty(arbitrary, async ([list, compressed, o]) => {
        const { dir, input } = writeMutated(source, list, compressed);
        await preprocessOutcome(source, input, source.format(dir), o, [input]);
      }), 30, 1100 + k);
    });
  }

  it('train --raw-data-file (a Criteo TSV read whole, plain or gzip)', async () => {
    const arbitrary = fc.tuple(fc.constantFrom(sources[0], sources[1]), mutations);
    await check(fc.asyncProperty(arbitrary, async ([source, list]) => {
      const { input } = writeMutated(source, list);
      const data = await outcome([input], () => readCriteoTsv(input));
      if (data) assertSafe(data, data.rows);
    }), 300, 1200);
  });

  it('the schema file itself (its JSON mutated), then the data it describes', async () => {
    const schemaSources = sources.filter((s) => s.name.startsWith('schema'));
    const edit = fc.oneof(fc.record({ json: jsonEdit }), fc.record({ bytes: fc.array(mutation, { minLength: 1, maxLength: 2 }) }));
    const arbitrary = fc.tuple(fc.constantFrom(...schemaSources), fc.array(edit, { minLength: 1, maxLength: 2 }), preprocessOptions);
    await check(fc.asyncProperty(arbitrary, async ([source, edits, o]) => {
      const { dir, input } = writeMutated(source, []);
      const schema = source.format(dir).slice('schema:'.length);
      const text = edits.reduce<Buffer>((t, e) => ('json' in e ? Buffer.from(safeJsonEdit(t.toString('utf8'), e.json)) : applied(t, e.bytes, jsonLayout)), readFileSync(schema));
      writeFileSync(schema, text);
      await preprocessOutcome(source, input, `schema:${schema}`, o, [input, schema]);
    }), 50, 1300);
  });
});

/** A JSON edit, or the text unchanged once a byte mutation left it no JSON. */
function safeJsonEdit(text: string, edit: JsonEdit): string {
  try {
    return editJson(text, edit);
  } catch {
    return text;
  }
}

// ---- The dataset loader ------------------------------------------------------------------------------------------

type FolderMutation =
  | { kind: 'bytes'; file: number; mutation: Mutation }
  /** A 4- or 8-byte value written at element `at` of a file. */
  | { kind: 'poke'; file: number; at: number; value: number; as: 'i32' | 'f32' | 'f64' }
  | { kind: 'manifest'; edit: JsonEdit }
  | { kind: 'extend'; file: number; bytes: Uint8Array }
  /** A file removed, or replaced by a folder. */
  | { kind: 'remove' | 'folder'; file: number };

const folderMutation: fc.Arbitrary<FolderMutation> = fc.oneof(
  fc.record({ kind: fc.constant('bytes' as const), file: fc.nat(), mutation: byteMutation }),
  fc.record({
    kind: fc.constant('poke' as const), file: fc.nat(), at: fc.nat({ max: 4000 }), as: fc.constantFrom('i32' as const, 'f32' as const, 'f64' as const),
    value: fc.constantFrom(-1, 0, 1, 2, 3, 6, 7, 9, 49, 50, 51, 175, 176, 2 ** 31 - 1, -(2 ** 31), 0.5, -0, NaN, Infinity, -Infinity, 1e9, 3.5e38, 2 ** 53),
  }),
  { arbitrary: fc.record({ kind: fc.constant('manifest' as const), edit: jsonEdit }), weight: 3 },
  fc.record({ kind: fc.constant('extend' as const), file: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constantFrom('remove' as const, 'folder' as const), file: fc.nat() }),
);

/** The files of a dataset folder, the manifest first. */
function datasetFiles(dir: string): string[] {
  const m = readManifest(dir);
  const bags = Object.values(m.bags ?? {}).flatMap((b) => [b.ids.path, b.offsets.path]);
  return ['manifest.json', ...Object.values(m.files).map((f) => f.path), ...bags];
}

function damage(dir: string, files: string[], m: FolderMutation): void {
  if (m.kind === 'manifest') {
    const path = join(dir, 'manifest.json');
    if (statSync(path, { throwIfNoEntry: false })?.isFile()) writeFileSync(path, safeJsonEdit(readFileSync(path, 'utf8'), m.edit));
    return;
  }
  const path = join(dir, files[m.file % files.length]);
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return;
  if (m.kind === 'extend') writeFileSync(path, Buffer.concat([readFileSync(path), m.bytes]));
  else if (m.kind === 'bytes') writeFileSync(path, mutate(readFileSync(path), m.mutation, bytesOnly));
  else if (m.kind === 'poke') {
    const bytes = readFileSync(path), value = m.as === 'i32' ? Int32Array.of(m.value) : m.as === 'f32' ? Float32Array.of(m.value) : Float64Array.of(m.value);
    const at = (m.at * value.byteLength) % Math.max(bytes.length, 1);
    if (at + value.byteLength <= bytes.length) bytes.set(new Uint8Array(value.buffer), at);
    writeFileSync(path, bytes);
  } else {
    rmSync(path);
    if (m.kind === 'folder') mkdirSync(path);
  }
}

/** A damaged copy of a valid dataset, with the data files that changed (verify must catch those still named). */
function damagedCopy(valid: string, list: FolderMutation[]): { dir: string; changed: string[] } {
  const dir = join(fresh(), 'ds'), files = datasetFiles(valid);
  cpSync(valid, dir, { recursive: true });
  list.forEach((m) => damage(dir, files, m));
  const changed = files.slice(1).filter((f) => !statSync(join(dir, f), { throwIfNoEntry: false })?.isFile() || !readFileSync(join(dir, f)).equals(readFileSync(join(valid, f))));
  return { dir, changed };
}

/** Streams a dataset's training split through the shuffle buffer (blocks of 64 rows): every batch safe, or a refusal. */
async function streamOutcome(dir: string, m: Manifest, engine: boolean): Promise<boolean> {
  const streamed = await outcome([dir], () => {
    const { trainEnd } = splitBoundaries(m, 'kaggle');
    const source = new StreamingSource(dir, m, 0, trainEnd, 32, 100, 7, engine ? createKernels('auto').lane('loader') : null, 64);
    let rows = 0;
    for (const batch of source.batches(0)) {
      const columns = columnsOfJagged(batch.sparse), offsets = columns.offsets.map((o, t) => (m.bags?.[m.categoricalNames[t]] ? o : null));
      assertSafe({ rows: batch.size, denseFeatures: m.denseNames.length, tableRows: m.cardinalities, dense: batch.dense, categorical: columns.categorical, offsets, labels: batch.labels }, batch.size);
      rows += batch.size;
    }
    assert.equal(rows, trainEnd);
    return true;
  });
  return streamed ?? false;
}

describe('the dataset loader, in process: a damaged folder is refused naming its file, or loads only what is safe', () => {
  for (const [k, which] of ['one-hot', 'multi-hot'].entries()) {
    it(`${which}: load, load with --verify, stream`, async () => {
      const valid = which === 'one-hot' ? oneHot : multiHot;
      await check(fc.asyncProperty(fc.array(folderMutation, { minLength: 1, maxLength: 3 }), async (list) => {
        const { dir, changed } = damagedCopy(valid, list);
        const loaded = await outcome([dir], () => readBinaryDataset(dir));
        if (loaded) assertSafe(loaded.data, loaded.manifest.rows);
        const verified = await outcome([dir], () => readBinaryDataset(dir, true));
        if (verified) assert.deepEqual(changed.filter((f) => datasetFiles(dir).includes(f)), [], 'verify passed on files that changed');
        assert.ok(!verified || loaded, 'verify passed where the plain load refused');
        const m = await outcome([dir], () => readManifest(dir));
        if (!m) return;
        for (const engine of [false, true]) {
          const streamed = await streamOutcome(dir, m, engine);
          assert.ok(streamed || !loaded, 'the whole dataset loads but its training split does not stream');
        }
      }), 200, 1400 + k);
    });
  }
});

// ---- Through the real CLI: exit codes and stderr, in fewer cases -------------------------------------------------

/** Runs hotline in a child process (a hang past `timeout` ms ends it: exit null, reported as such). */
function hotline(args: string[], timeout = 60_000): Promise<Run & { signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { timeout, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
}

/** Exit 0 with nothing on stderr, or exit 2 with one line naming one of `files`; never a signal (a crash or a hang). */
function assertExit(r: Run & { signal: NodeJS.Signals | null }, files: string[]): boolean {
  assert.equal(r.signal, null, `killed by ${r.signal} (a crash, or a hang past the time limit)\nstderr: ${r.stderr}`);
  if (r.status === 0) {
    assert.equal(r.stderr, '', 'exit 0 with text on stderr');
    return true;
  }
  assert.doesNotMatch(r.stderr.trimEnd(), /[\0-\x08\x0a-\x1f\x7f]/, `a control character on stderr: ${JSON.stringify(r.stderr)}`);
  assertRefused(r, new RegExp(files.map((f) => literal(f).source).join('|')));
  return false;
}

describe('through the real CLI: exit 2 and one line naming the file, or exit 0 and a dataset that verifies', { concurrency: 2 }, () => {
  const cliOptions = fc.record({ onBadLine: fc.constantFrom('error', 'skip'), chunk: fc.constantFrom('256', '1KiB', '64MiB') });
  const families: [string, Source[]][] = [
    ['criteo, plain and gzip', sources.slice(0, 2)],
    ['avazu, taobao, movielens', sources.slice(2, 6)],
    ['libfm', sources.slice(6, 7)],
    ['schema data', sources.slice(7)],
  ];
  for (const [k, [family, members]] of families.entries()) {
    it(`preprocess: ${family}`, async () => {
      await check(fc.asyncProperty(fc.tuple(fc.constantFrom(...members), mutations, cliOptions), async ([source, list, o]) => {
        const { dir, input } = writeMutated(source, list), out = join(fresh(), 'ds');
        const r = await hotline(['preprocess', input, '--out', out, '--format', source.format(dir), '--on-bad-line', o.onBadLine, '--chunk-size', o.chunk, '--threads', '1']);
        if (assertExit(r, [input])) assertVerified(out, readManifest(out), source.header);
      }), 12, 1500 + k);
    });
  }

  it('preprocess: the schema file mutated', async () => {
    const schemaSources = sources.slice(7);
    await check(fc.asyncProperty(fc.tuple(fc.constantFrom(...schemaSources), jsonEdit), async ([source, edit]) => {
      const { dir, input } = writeMutated(source, []), schema = source.format(dir).slice('schema:'.length), out = join(fresh(), 'ds');
      writeFileSync(schema, editJson(readFileSync(schema, 'utf8'), edit));
      const r = await hotline(['preprocess', input, '--out', out, '--format', `schema:${schema}`, '--threads', '1']);
      if (assertExit(r, [input, schema])) assertVerified(out, readManifest(out), source.header);
    }), 8, 1600);
  });

  it('train --data-generation dataset --raw-data-file', async () => {
    await check(fc.asyncProperty(fc.tuple(fc.constantFrom(sources[0], sources[1]), mutations), async ([source, list]) => {
      const { input } = writeMutated(source, list);
      const r = await hotline(['train', '--data-generation', 'dataset', '--raw-data-file', input, ...tiny, '--num-batches', '3', '--mini-batch-size', '8', '--run-dir', '']);
      assertExit(r, [input]);
    }), 8, 1700);
  });

  it('inspect and train --dataset (loaded, and streamed with --shuffle-buffer) on a damaged folder', async () => {
    const arbitrary = fc.tuple(fc.constantFrom('one-hot', 'multi-hot'), fc.array(folderMutation, { minLength: 1, maxLength: 2 }), fc.boolean());
    await check(fc.asyncProperty(arbitrary, async ([which, list, streamed]) => {
      const { dir } = damagedCopy(which === 'one-hot' ? oneHot : multiHot, list);
      assertExit(await hotline(['inspect', dir]), [dir]);
      const train = ['train', '--dataset', dir, ...tiny, '--mini-batch-size', '16', '--run-dir', '', ...(streamed ? ['--shuffle-buffer', '64'] : ['--num-batches', '3'])];
      assertExit(await hotline(train), [dir]);
    }), 10, 1800);
  });
});

// ---- Counterexamples the properties found, kept by name ----------------------------------------------------------

describe('regressions: counterexamples the properties found', () => {
  it('inspect on a dataset hashed into 2^31 - 1 ids per table answers in a second (was: minutes and gigabytes, a counter per table row)', async () => {
    const { input } = writeMutated(sources[0], []), out = join(fresh(), 'ds');
    await preprocessed(input, 'criteo', { encoding: { kind: 'hash', maxIndRange: 2 ** 31 - 1 } }, out);
    const r = await hotline(['inspect', out], 30_000);
    assert.equal(r.status, 0, `exit ${r.status} (${r.signal}): ${r.stderr}`);
    assert.match(r.stdout, /^C1 \| 2,147,483,647 \| 3 \| /m);
  });

  it('bad bytes a message quotes are escaped: a NUL in a header, in a label (was: printed raw)', async () => {
    const nul: Mutation[] = [{ kind: 'insert', at: 0, bytes: '\0' }];
    const tags = writeMutated(sources[7], nul);
    await assert.rejects(preprocessed(tags.input, sources[7].format(tags.dir)), (e: Error) => printable(e.message) === `${tags.input}: no column 'ts' (columns: \\x00ts, user, tags, price, count, clicked)`);
    const criteo = writeMutated(sources[0], nul);
    assert.throws(() => readCriteoTsv(criteo.input), (e: Error) => printable(e.message) === `${criteo.input}:1: field label: expected 0 or 1, got '\\x001'`);
  });

  it('a manifest.json that is no JSON: one line on stderr, JSON\'s excerpt of its line ends escaped (was: three lines)', async () => {
    const { dir } = damagedCopy(multiHot, [{ kind: 'bytes', file: 0, mutation: { kind: 'insert', at: 0, bytes: Uint8Array.of(0) } }]);
    const r = await hotline(['inspect', dir]);
    assertRefused(r, literal(`${join(dir, 'manifest.json')}: not valid JSON (Unexpected token '\\x00', "\\x00{\\n  "form"`));
  });

  it('a manifest whose "files" lists one more is refused (was: a TypeError trace from inspect and --verify)', () => {
    const { dir } = damagedCopy(oneHot, [{ kind: 'manifest', edit: { path: [9], op: 'lengthen', value: null, delta: 1 } }]);
    assert.equal(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).files.extra, null);
    assert.throws(() => readBinaryDataset(dir, true), (e: Error) => e instanceof DataError && e.message === `${join(dir, 'manifest.json')}: "files.extra": unknown file (a dataset has labels, dense and categorical)`);
  });

  it('a Criteo integer past a double\'s range is refused by preprocess too (was: stored as +Inf by the native parser)', async () => {
    const { input } = writeMutated(sources[0], [{ kind: 'number', line: 0, field: 1, text: '9'.repeat(309) }]);
    await assert.rejects(preprocessed(input, 'criteo', { encoding: { kind: 'hash', maxIndRange: 1 } }), (e: Error) => e instanceof DataError && e.message === `${input}:1: field I1: the integer '${'9'.repeat(40)}...' is too large (not a finite number)`);
  });
});
