// The data pipeline: Criteo TSV parsing, preprocessing to a dataset (vocabulary and hashing, plain and gzip),
// loading, bad input, and resuming a killed preprocessing run.
import assert from 'node:assert/strict';
import { bagOf } from '../src/tensor/jagged.ts';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { daySplits, kaggleSplits, randomSplits, readBinaryDataset, splitBoundaries } from '../src/data/binary-dataset.ts';
import { readCriteoTsv } from '../src/data/criteo-tsv.ts';
import { criteoTsvBytes, hexKey } from '../src/data/formats/criteo-writer.ts';
import { DataError } from '../src/util/errors.ts';
import { preprocess } from '../src/data/preprocess.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { criteoSampleAvailable, criteoSamplePath } from '../src/train/criteo-sample.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'hotline-data-'));
const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
const rows = [30, 7, 500, 3, ...Array(22).fill(11)];

function generatedTsv(n = 3000) {
  const data = generateSynthetic({ rows: n, tableRows: rows, denseFeatures: 13, zipf: 1.2, seed: 2 });
  const path = join(dir(), 'train.txt');
  writeFileSync(path, criteoTsvBytes(data));
  return { data, path };
}

/** Checks a dataset against its source rows: labels, dense, and ids that number the same values consistently. */
function assertSameRows(out: string, data: ReturnType<typeof generateSynthetic>) {
  const { data: read, manifest } = readBinaryDataset(out, true);
  assert.equal(read.rows, data.rows);
  assert.deepEqual(read.labels, data.labels);
  read.dense.forEach((v, i) => assert.ok(Math.abs(v - data.dense[i]) < 1e-5, `dense ${i}`));
  read.categorical.forEach((ids, t) => {
    const seen = new Map<number, number>();
    ids.forEach((id, r) => {
      const source = data.categorical[t][r];
      if (seen.has(id)) assert.equal(seen.get(id), source, `column ${t}: id ${id} stands for two values`);
      seen.set(id, source);
      assert.ok(id >= 0 && id < manifest.cardinalities[t]);
    });
  });
  return { read, manifest };
}

describe('preprocess', () => {
  it('round-trips generated rows through Criteo TSV, vocabulary ids by descending frequency', async () => {
    const { data, path } = generatedTsv();
    const out = join(dir(), 'ds');
    const manifest = await preprocess({ inputs: [path], out, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 50_000, onBadLine: 'error', threads: 2 });
    const { read } = assertSameRows(out, data);
    assert.equal(manifest.source.lines, 3000);
    for (const ids of read.categorical) {
      const counts = new Map<number, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const byId = [...counts].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
      for (let i = 1; i < byId.length; i++) assert.ok(byId[i - 1] >= byId[i], 'id 0 is the hottest, and so on');
    }
    const splits = kaggleSplits(read, readBinaryDataset(out).manifest);
    assert.equal(splits.train.rows + splits.validation.rows + splits.test.rows, read.rows);
    // dlrm: np.array_split(rows, 7), the first 6 parts train; np.array_split(last, 2) gives test, then validation.
    const arraySplit = (n: number, k: number) => Array.from({ length: k }, (_, i) => Math.floor(n / k) + (i < n % k ? 1 : 0));
    const parts = arraySplit(read.rows, 7), [testRows, validationRows] = arraySplit(parts[6], 2);
    assert.deepEqual([splits.train.rows, splits.test.rows, splits.validation.rows], [read.rows - parts[6], testRows, validationRows]);
    assert.deepEqual(splits.test.labels, read.labels.subarray(read.rows - parts[6], read.rows - parts[6] + testRows), 'the test set is the first half');
    for (const rows of [7, 13, 20, 3001]) {
      const m = { ...readBinaryDataset(out).manifest, rows };
      const p = arraySplit(rows, 7), [t] = arraySplit(p[6], 2);
      assert.deepEqual(splitBoundaries(m, 'kaggle'), { trainEnd: rows - p[6], testStart: rows - p[6], testEnd: rows - p[6] + t }, `${rows} rows`);
    }
    const random = randomSplits(read, 0.2, 4);
    assert.equal(random.train.rows + random.validation.rows + random.test.rows, read.rows);
    assert.ok(Math.abs(random.validation.rows + random.test.rows - 600) < 90, `held out ${random.validation.rows + random.test.rows}`);
    const labels = (d: typeof read) => Array.from(d.labels).reduce((a, b) => a + b, 0);
    assert.equal(labels(random.train) + labels(random.validation) + labels(random.test), labels(read), 'every row lands in exactly one split');
  });

  it('splits by day: one input file per day, the last held out', async () => {
    const days = [generatedTsv(700), generatedTsv(500), generatedTsv(300)];
    const out = join(dir(), 'days');
    const m = await preprocess({ inputs: days.map((d) => d.path), out, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 30_000, onBadLine: 'error', threads: 2 });
    assert.deepEqual(m.source.rowsPerInput, [700, 500, 300]);
    const { data, manifest } = readBinaryDataset(out);
    const s = daySplits(data, manifest);
    assert.equal(s.train.rows, 1200);
    assert.deepEqual([s.validation.rows, s.test.rows], [150, 150]);
  });

  it('hashes modulo --max-ind-range, maps rare values to one id, and reads gzip', async () => {
    const { data, path } = generatedTsv(1500);
    const gz = `${path}.gz`;
    writeFileSync(gz, gzipSync(readFileSync(path)));
    const hashed = join(dir(), 'hashed');
    const m = await preprocess({ inputs: [gz], out: hashed, encoding: { kind: 'hash', maxIndRange: 97 }, chunkBytes: 40_000, onBadLine: 'error', threads: 2 });
    assert.deepEqual(m.cardinalities, Array(26).fill(97));
    const { data: read } = readBinaryDataset(hashed);
    read.categorical.forEach((ids, t) => ids.forEach((id, r) => assert.equal(id, parseInt(hexKey(t, data.categorical[t][r]), 16) % 97)));
    const rare = join(dir(), 'rare');
    const mr = await preprocess({ inputs: [path], out: rare, encoding: { kind: 'vocabulary', minCount: 5 }, chunkBytes: 40_000, onBadLine: 'error', threads: 2 });
    const { data: rr } = readBinaryDataset(rare);
    rr.categorical.forEach((ids, t) => {
      const counts = new Map<number, number>();
      for (const v of data.categorical[t]) counts.set(v, (counts.get(v) ?? 0) + 1);
      ids.forEach((id, r) => {
        if ((counts.get(data.categorical[t][r]) ?? 0) < 5) assert.equal(id, mr.cardinalities[t] - 1, 'rare values share the last id');
      });
    });
  });

  it('reads the real Criteo sample like the in-memory reader', { skip: criteoSampleAvailable() ? false : 'needs ../shared/data/criteo_kaggle_head10k' }, async () => {
    const out = join(dir(), 'kaggle');
    const m = await preprocess({ inputs: [criteoSamplePath], out, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 300_000, onBadLine: 'error', threads: 2 });
    const reference = readCriteoTsv(criteoSamplePath);
    const { data } = readBinaryDataset(out, true);
    assert.equal(m.rows, 10000);
    assert.deepEqual(data.labels, reference.labels);
    assert.deepEqual(data.dense, reference.dense);
    reference.categorical.forEach((ids, t) => assert.equal(m.cardinalities[t], new Set(ids).size + 1, 'distinct values (missing counts as one) + the rare id'));
    data.categorical.forEach((ids, t) => ids.forEach((id, r) => assert.equal(id === m.cardinalities[t] - 1, false, `row ${r}`)));
  });

  it('a kill -9 in the middle, then a rerun, gives output byte-identical to an uninterrupted run', async () => {
    const { path } = generatedTsv(20000);
    const whole = join(dir(), 'whole'), resumed = join(dir(), 'resumed');
    const args = (out: string) => [bin, 'preprocess', path, '--out', out, '--chunk-size', '20KB'];
    assert.equal(spawnSync(process.execPath, args(whole)).status, 0);
    const child = spawn(process.execPath, args(resumed), { stdio: 'ignore' });
    const work = `${resumed}.partial`;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => { // killed in pass 2, after 5 of the 26 columns
        const done = existsSync(work) ? readdirSync(work).filter((f) => f.endsWith('.done')).length : 0;
        if (done >= 5) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
      child.on('exit', () => {
        clearInterval(poll);
        reject(new Error('the run finished before it could be killed'));
      });
    });
    await new Promise((resolve) => child.on('exit', resolve));
    assert.ok(!existsSync(resumed), 'nothing half-written is ever taken for complete');
    assert.equal(spawnSync(process.execPath, args(resumed)).status, 0);
    for (const f of ['labels.f32', 'dense.f32', 'categorical.i32', 'manifest.json']) {
      const a = readFileSync(join(whole, f)), b = readFileSync(join(resumed, f));
      if (f === 'manifest.json') assert.equal(b.toString().replaceAll(resumed, whole), a.toString());
      else assert.ok(a.equals(b), `${f} differs`);
    }
  });
});


describe('bad input', () => {
  const good = ['1', ...Array(13).fill('3'), ...Array(26).fill('a1b2c3d4')].join('\t');
  const cases: [string, string | Uint8Array, string | null][] = [
    ['wrong field count', `${good}\n${good}\t7\n`, ':2: expected 40 tab-separated fields, found 41'],
    ['non-numeric integer', `${good.replace('\t3\t', '\t3x\t')}\n`, ":1: field I1: expected an integer, got '3x'"],
    ['bad label', `2${good.slice(1)}\n`, ":1: field label: expected 0 or 1, got '2'"],
    ['bad hex', `${good.replace('a1b2c3d4', 'a1b2c3g4')}\n`, ":1: field C1: expected a hex hash of up to 8 digits, got 'a1b2c3g4'"],
    ['overlong hex', `${good.replace('a1b2c3d4', 'a1b2c3d4e')}\n`, ":1: field C1: expected a hex hash of up to 8 digits, got 'a1b2c3d4e'"],
    ['overlong line', `${good}\n${'9'.repeat(70000)}\n`, ':2: line is longer than 65536 bytes'],
    ['truncated last line', `${good}\n${good.slice(0, 50)}`, ':2: the last line is cut short: 17 of 40 fields'],
    ['empty file', '', ': the file is empty'],
    ['CRLF line ends (accepted)', `${good}\r\n${good}\r\n`, null],
    ['a UTF-8 BOM (accepted)', `\ufeff${good}\n`, null],
  ];
  for (const [name, content, message] of cases) {
    it(name, async () => {
      const path = join(dir(), 'bad.txt');
      writeFileSync(path, content);
      const run = preprocess({ inputs: [path], out: join(dir(), 'o'), encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 1 << 20, onBadLine: 'error', threads: 2 });
      if (message === null) {
        assert.equal((await run).rows, content.toString().split('\n').filter((l) => l.length > 0).length);
      } else {
        await assert.rejects(run, (e: Error) => e instanceof DataError && e.message === `${path}${message}`);
      }
    });
  }

  it('gzip corruption', async () => {
    const path = join(dir(), 'bad.txt.gz');
    const gz = gzipSync(Buffer.from(`${good}\n`.repeat(2000)));
    writeFileSync(path, gz.subarray(0, gz.length - 40));
    await assert.rejects(
      preprocess({ inputs: [path], out: join(dir(), 'o'), encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 1 << 20, onBadLine: 'error', threads: 2 }),
      (e: Error) => e instanceof DataError && e.message.startsWith(`${path}: gzip data is corrupt after `),
    );
  });

  it('--on-bad-line skip counts the skipped lines by reason', async () => {
    const path = join(dir(), 'mixed.txt');
    writeFileSync(path, `${good}\n${good}\tx\n${good.replace('\t3\t', '\t-\t')}\n${good}\n`);
    const m = await preprocess({ inputs: [path], out: join(dir(), 'o'), encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 1 << 20, onBadLine: 'skip', threads: 2 });
    assert.equal(m.rows, 2);
    assert.deepEqual(m.source.skipped, { 'field count': 1, integer: 1 });
  });

  it('the command line reports bad data in one line without a stack trace', () => {
    const path = join(dir(), 'bad.txt');
    writeFileSync(path, `${good.replace('a1b2c3d4', 'zz')}\n`);
    const r = spawnSync(process.execPath, [bin, 'preprocess', path, '--out', join(dir(), 'o')], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `hotline: ${path}:1: field C1: expected a hex hash of up to 8 digits, got 'zz'\n`);
  });
});

describe('streaming loader', () => {
  it('streams every row once per epoch through a seeded shuffle buffer, in bounded blocks', async () => {
    const { StreamingSource } = await import('../src/data/streaming.ts');
    const { readRowRange } = await import('../src/data/binary-dataset.ts');
    const { BinaryDatasetWriter } = await import('../src/data/write-binary.ts');
    const data = generateSynthetic({ rows: 1000, tableRows: rows, denseFeatures: 13, zipf: 1.2, seed: 2 });
    for (let r = 0; r < 1000; r++) data.dense[r * 13] = r; // each row's identity
    const out = join(dir(), 'stream');
    const writer = new BinaryDatasetWriter(out, data.rows, data.denseFeatures, data.categorical.length);
    writer.append(data);
    const m = await writer.finish({ cardinalities: data.tableRows, encoding: { kind: 'synthetic', zipf: 1.2, seed: 2 }, source: { inputs: [], lines: 1000, skipped: {} } });
    const slice = readRowRange(out, m, 100, 140);
    assert.deepEqual(slice.labels, data.labels.subarray(100, 140));
    assert.deepEqual(slice.categorical[2], data.categorical[2].subarray(100, 140));
    const { createKernels } = await import('../src/device/registry.ts');
    const engines = [null, createKernels('auto').lane('loader'), createKernels('typescript').lane('loader')];
    const order = (epoch: number, buffer: number, engine = engines[0]) => {
      const seen: number[] = [];
      for (const b of new StreamingSource(out, m, 0, 900, 64, buffer, 5, engine, 128).batches(epoch)) {
        for (let i = 0; i < b.size; i++) {
          const r = b.dense[i * 13];
          seen.push(r);
          assert.equal(b.labels[i], data.labels[r]);
          assert.equal(bagOf(b.sparse, 7, i)[0], data.categorical[7][r]);
        }
      }
      return seen;
    };
    for (const buffer of [50, 2000]) {
      const a = order(0, buffer);
      assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 900 }, (_, i) => i), 'each training row exactly once');
      assert.notDeepEqual(a, [...a].sort((x, y) => x - y), 'shuffled');
      assert.deepEqual(order(0, buffer), a, 'deterministic for a seed and epoch');
      for (const engine of engines.slice(1)) assert.deepEqual(order(0, buffer, engine), a, 'blocks prefetched on the loader lane');
      assert.notDeepEqual(order(1, buffer), a, 'a new order each epoch');
    }
  });
});
