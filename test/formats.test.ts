// Non-Criteo sources: presets on the real samples in ../shared/data (skipped when absent) and on generated
// rows, a declarative schema, and their bad-input messages.
import assert from 'node:assert/strict';
import { bagOf } from '../src/tensor/jagged.ts';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readBinaryDataset } from '../src/data/binary-dataset.ts';
import { DataError } from '../src/util/errors.ts';
import { readZipEntry } from '../src/data/formats/zip.ts';
import { preprocess, type PreprocessOptions } from '../src/data/preprocess.ts';

const shared = new URL('../../shared/data/', import.meta.url).pathname;
const real = (path: string) => (existsSync(join(shared, path)) ? false : `needs ../shared/data/${path}`);
const dir = () => mkdtempSync(join(tmpdir(), 'hotline-formats-'));

/** Preprocesses one file of a format (small chunks, so every file spans several). */
function preprocessed(format: string, path: string, options: Partial<PreprocessOptions> = {}) {
  return preprocess({
    inputs: [path], format, out: join(dir(), 'ds'), encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 1 << 16, onBadLine: 'error', threads: 2, ...options,
  });
}

/** Preprocesses a source and reads it back; checks labels and that each column's ids stand for one raw value each. */
async function roundTrip(format: string, path: string, rawColumns: (fields: string[]) => string[], label: (fields: string[]) => number, lines: string[][]) {
  const out = join(dir(), 'ds');
  await preprocessed(format, path, { out });
  const { data } = readBinaryDataset(out, true);
  assert.equal(data.rows, lines.length);
  assert.deepEqual(Array.from(data.labels), lines.map(label));
  const raw = lines.map(rawColumns);
  raw[0].forEach((_, t) => {
    const meaning = new Map<number, string>();
    data.categorical[t].forEach((id, r) => {
      if (meaning.has(id)) assert.equal(meaning.get(id), raw[r][t], `column ${t} row ${r}`);
      meaning.set(id, raw[r][t]);
    });
    assert.equal(meaning.size, new Set(raw.map((x) => x[t])).size, `column ${t}: one id per distinct value`);
  });
  return data;
}

const textLines = (text: string, skipHeader: boolean) => text.split('\n').filter((l) => l.length > 0).slice(skipHeader ? 1 : 0);

describe('sources', () => {
  it('Taobao UserBehavior (real)', { skip: real('taobao_userbehavior_head96k') }, async () => {
    const path = join(shared, 'taobao_userbehavior_head96k/UserBehavior_head.csv');
    const lines = textLines(readFileSync(path, 'utf8'), false).map((l) => l.split(','));
    const hour = (f: string[]) => String(new Date(Number(f[4]) * 1000).getUTCHours());
    await roundTrip('taobao', path, (f) => [f[0], f[1], f[2], hour(f)], (f) => (['cart', 'fav', 'buy'].includes(f[3]) ? 1 : 0), lines);
  });

  it('MovieLens 100k atomic files and the latest-small zip (real)', { skip: real('movielens_100k') || real('movielens_latest_small') }, async () => {
    const inter = join(shared, 'movielens_100k/ml-100k.inter');
    const a = textLines(readFileSync(inter, 'utf8'), true).map((l) => l.split('\t'));
    await roundTrip('movielens', inter, (f) => [f[0], f[1]], (f) => (Number(f[2]) >= 4 ? 1 : 0), a);
    const zip = join(shared, 'movielens_latest_small/ml-latest-small.zip');
    const csv = readZipEntry(zip, 'ratings.csv');
    assert.equal(csv.length, 2483723);
    const b = textLines(csv.toString('utf8'), true).map((l) => l.split(','));
    await roundTrip('movielens', zip, (f) => [f[0], f[1]], (f) => (Number(f[2]) >= 4 ? 1 : 0), b);
  });

  it('libFM: Frappe and iPinYou (real)', { skip: real('frappe_nfm') || real('ipinyou_2997_deepctr') }, async () => {
    for (const file of ['frappe_nfm/frappe.test.libfm', 'ipinyou_2997_deepctr/train.fm.txt']) {
      const path = join(shared, file);
      const lines = textLines(readFileSync(path, 'utf8'), false).map((l) => l.trim().split(/\s+/));
      await roundTrip('libfm', path, (f) => f.slice(1).map((x) => x.split(':')[0]), (f) => (Number(f[0]) > 0 ? 1 : 0), lines);
    }
  });

  it('Taobao, MovieLens and libFM on generated rows', async () => {
    const d = dir(), n = 300, pick = (i: number, k: number) => (i * 7919 + k * 104729) % 23;
    const behaviors = ['pv', 'pv', 'pv', 'cart', 'fav', 'buy'];
    const taobao = Array.from({ length: n }, (_, i) => [`${pick(i, 1)}`, `${pick(i, 2)}`, `${pick(i, 3) % 5}`, behaviors[i % 6], `${1511658000 + i * 3600}`]);
    writeFileSync(join(d, 'ub.csv'), taobao.map((f) => `${f.join(',')}\n`).join(''));
    const hour = (f: string[]) => String(new Date(Number(f[4]) * 1000).getUTCHours());
    await roundTrip('taobao', join(d, 'ub.csv'), (f) => [f[0], f[1], f[2], hour(f)], (f) => (['cart', 'fav', 'buy'].includes(f[3]) ? 1 : 0), taobao);
    const ratings = Array.from({ length: n }, (_, i) => [`${pick(i, 4)}`, `${pick(i, 5)}`, `${1 + (i % 5)}.0`, `${964982703 + i}`]);
    writeFileSync(join(d, 'ratings.csv'), `userId,movieId,rating,timestamp\n${ratings.map((f) => `${f.join(',')}\n`).join('')}`);
    await roundTrip('movielens', join(d, 'ratings.csv'), (f) => [f[0], f[1]], (f) => (Number(f[2]) >= 4 ? 1 : 0), ratings);
    const fm = Array.from({ length: n }, (_, i) => [i % 3 === 0 ? '1' : '-1', ...[0, 1, 2].map((k) => `${100 * k + pick(i, k)}:1`)]);
    writeFileSync(join(d, 'data.libfm'), fm.map((f) => `${f.join(' ')}\n`).join(''));
    await roundTrip('libfm', join(d, 'data.libfm'), (f) => f.slice(1).map((x) => x.split(':')[0]), (f) => (Number(f[0]) > 0 ? 1 : 0), fm);
  });

  it('Avazu (generated rows): hour-of-day and weekday from YYMMDDHH', async () => {
    const header = 'id,click,hour,C1,banner_pos,site_id,site_domain,site_category,app_id,app_domain,app_category,device_id,device_ip,device_model,device_type,device_conn_type,C14,C15,C16,C17,C18,C19,C20,C21';
    const row = (i: number, click: number, hour: string) => [String(i), String(click), hour, ...Array.from({ length: 21 }, (_, k) => `v${(i * (k + 1)) % 5}`)].join(',');
    const rows = [row(1, 1, '14102100'), row(2, 0, '14102123'), row(3, 1, '14102201'), row(4, 0, '14102100')];
    const path = join(dir(), 'avazu.csv');
    writeFileSync(path, `${header}\n${rows.join('\n')}\n`);
    const lines = rows.map((r) => r.split(','));
    // 2014-10-21 was a Tuesday (weekday 2), 2014-10-22 a Wednesday (3).
    const derived = (f: string[]) => [...f.slice(3), f[2].slice(6), f[2].slice(0, 6) === '141021' ? '2' : '3'];
    await roundTrip('avazu', path, derived, (f) => Number(f[1]), lines);
    writeFileSync(path, `${header}\n${row(5, 0, '14133100')}\n`);
    await assert.rejects(preprocessed('avazu', path), (e: Error) => e instanceof DataError && e.message === `${path}:2: field hour: expected YYMMDDHH, got '14133100'`);
  });

  it('any CSV through a JSON schema, with errors naming file, line and field', async () => {
    const d = dir();
    const schema = join(d, 'schema.json'), path = join(d, 'data.tsv');
    writeFileSync(schema, JSON.stringify({ delimiter: '\t', header: true, label: { column: 'clicked', positive: ['yes'], negative: ['no'] }, dense: ['price'], categorical: ['shop', 'item'] }));
    writeFileSync(path, 'shop\titem\tprice\tclicked\ns1\ti1\t3.5\tyes\ns2\ti1\t\tno\ns1\ti2\t7\tno\n');
    const data = await roundTrip(`schema:${schema}`, path, (f) => [f[0], f[1]], (f) => (f[3] === 'yes' ? 1 : 0), textLines(readFileSync(path, 'utf8'), true).map((l) => l.split('\t')));
    assert.deepEqual(Array.from(data.dense, (v) => Number(v.toFixed(5))), [Math.log1p(3.5), 0, Math.log1p(7)].map((v) => Number(v.toFixed(5))));
    writeFileSync(path, 'shop\titem\tprice\tclicked\ns1\ti1\tcheap\tyes\n');
    await assert.rejects(preprocessed(`schema:${schema}`, path), (e: Error) => e.message === `${path}:2: field price: expected a number, got 'cheap'`);
    writeFileSync(path, 'shop\titem\tprice\tclicked\ns1\ti1\t3\n');
    await assert.rejects(preprocessed(`schema:${schema}`, path), (e: Error) => e.message === `${path}:2: expected 4 fields, found 3`);
    // --on-bad-line skip counts the line by reason instead.
    writeFileSync(path, 'shop\titem\tprice\tclicked\ns1\ti1\t3\ns2\ti2\t1\tyes\n');
    const skipping = await preprocessed(`schema:${schema}`, path, { onBadLine: 'skip' });
    assert.equal(skipping.rows, 1);
    assert.deepEqual(skipping.source.skipped, { 'field count': 1 });
    writeFileSync(schema, JSON.stringify({ delimiter: ',,', header: true }));
    await assert.rejects(preprocessed(`schema:${schema}`, path), (e: Error) => e.message === `${schema}: "delimiter": must be one ASCII character other than a line end, got ",,"`);
  });
});

describe('multi-hot features', () => {
  it('a schema list column is preprocessed into bags with offsets, read back, batched and trained on', async () => {
    const d = dir();
    const schema = join(d, 'schema.json'), path = join(d, 'movies.csv');
    writeFileSync(schema, JSON.stringify({ delimiter: ',', header: true, label: { column: 'liked', positive: ['1'], negative: ['0'] }, dense: [], categorical: ['user', 'genres'], multiHot: { genres: '|' } }));
    const genres = ['drama', 'comedy', 'noir', 'sci-fi', 'horror'];
    const lines = Array.from({ length: 3000 }, (_, i) => {
      const bag = genres.filter((_, g) => (i * 7 + g * 3) % (g + 2) === 0); // 0 to 5 genres, some rows none
      return [`u${i % 37}`, bag.join('|'), String((i * 13) % 3 === 0 ? 1 : 0)];
    });
    writeFileSync(path, `user,genres,liked\n${lines.map((l) => l.join(',')).join('\n')}\n`);
    const out = join(d, 'ds');
    const m = await preprocessed(`schema:${schema}`, path, { out, chunkBytes: 4096 }); // many chunks
    assert.deepEqual(Object.keys(m.bags ?? {}), ['genres']);
    const { data } = readBinaryDataset(out, true);
    const offsets = data.offsets![1]!;
    assert.equal(data.offsets![0], null);
    assert.deepEqual(Array.from(data.labels), lines.map((l) => Number(l[2])));
    const meaning = new Map<number, string>();
    lines.forEach((l, r) => {
      const bag = l[1] === '' ? [] : l[1].split('|');
      assert.equal(offsets[r + 1] - offsets[r], bag.length, `row ${r} bag size`);
      bag.forEach((g, k) => {
        const id = data.categorical[1][offsets[r] + k];
        assert.equal(meaning.get(id) ?? g, g, `id ${id} stands for one genre`);
        meaning.set(id, g);
      });
    });
    assert.equal(meaning.size, genres.filter((g) => lines.some((l) => l[1].split('|').includes(g))).length);

    // Batches carry the bags (shuffled and in order), and the rows' split keeps them.
    const { batchesOf, sliceRows } = await import('../src/data/dataset.ts');
    const order = Int32Array.from({ length: 100 }, (_, i) => (i * 53) % 3000);
    const [batch] = batchesOf(data, 100, order);
    order.forEach((r, i) => {
      assert.deepEqual(Array.from(bagOf(batch.sparse, 1, i)), Array.from(data.categorical[1].subarray(offsets[r], offsets[r + 1])));
    });
    const tail = sliceRows(data, 2000, 3000);
    assert.deepEqual(Array.from(tail.categorical[1].subarray(tail.offsets![1]![10], tail.offsets![1]![11])), Array.from(data.categorical[1].subarray(offsets[2010], offsets[2011])));

    // The streaming loader (a shuffle buffer over blocks) gives every row once per epoch, with its bag.
    const { StreamingSource } = await import('../src/data/streaming.ts');
    const { createKernels } = await import('../src/device/registry.ts');
    const rowText = (label: number, user: number, bag: ArrayLike<number>) => `${label}:${user}:${Array.from(bag).join('|')}`;
    const expected = lines.map((_, r) => rowText(data.labels[r], data.categorical[0][r], data.categorical[1].subarray(offsets[r], offsets[r + 1]))).sort();
    const streamed: string[] = [];
    for (const b of new StreamingSource(out, m, 0, 3000, 64, 500, 3, createKernels('auto').lane('loader'), 256).batches(0)) {
      for (let i = 0; i < b.size; i++) streamed.push(rowText(b.labels[i], bagOf(b.sparse, 0, i)[0], bagOf(b.sparse, 1, i)));
    }
    assert.deepEqual(streamed.sort(), expected);

    // Training takes it whole, under every policy (FAE's hot inputs are those whose every bag is hot).
    const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
    const train = (policy: string, split = ['--split', 'random']) => spawnSync(process.execPath, [bin, 'train', '--dataset', out, ...split, '--policy', policy,
      '--arch-mlp-bot', '1-8', '--arch-mlp-top', '8-1', '--arch-sparse-feature-size', '8', '--mini-batch-size', '64', '--learn-batches', '5', '--run-dir', ''], { encoding: 'utf8' });
    for (const r of [train('baseline'), train('hotline'), train('fae'), train('baseline', ['--split', 'kaggle', '--shuffle-buffer', '500'])]) {
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /test AUC 0\.\d+/);
    }
  });
});
