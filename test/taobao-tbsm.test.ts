/**
 * preprocess --format taobao-tbsm against a plain recomputation of TBSM's rules (split, windows, counts by regime,
 * padding, ids by frequency), its resume after a kill, its bad-line errors, and gen --format taobao's planted signal.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runGen, runPreprocess } from '../src/cli/data-commands.ts';
import { trainConfigFrom } from '../src/cli/train-config.ts';
import { partSplits, readBinaryDataset, readManifest } from '../src/data/binary-dataset.ts';
import { Rng } from '../src/util/rng.ts';

const head = '/work/shared/data/taobao_userbehavior_head96k/UserBehavior_head.csv';
const bin = join(import.meta.dirname, '..', 'bin', 'hotline.mjs');
const root = mkdtempSync(join(tmpdir(), 'hotline-tbsm-'));
after(() => rmSync(root, { recursive: true, force: true }));
const quiet = { write: () => true } as unknown as NodeJS.WriteStream;
let serial = 0;
const fresh = (name: string) => join(root, `${name}-${serial++}`);

async function preprocessTo(input: string | string[], extra: string[] = []): Promise<string> {
  const out = fresh('ds');
  await runPreprocess([...[input].flat(), '--out', out, '--format', 'taobao-tbsm', '--threads', '1', ...extra], quiet);
  return out;
}

interface Event { user: number; item: number; category: number; time: number }

/** The reference: the file's events, ids by descending count (ties by value), and each user's events by time. */
function reference(csv: string) {
  const events: Event[] = csv.trim().split('\n').map((line) => {
    const [user, item, category, , time] = line.split(',').map(Number);
    return { user, item, category, time };
  });
  const idsBy = (key: 'user' | 'item' | 'category') => {
    const counts = new Map<number, number>();
    for (const e of events) counts.set(e[key], (counts.get(e[key]) ?? 0) + 1);
    const order = [...counts].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    return new Map(order.map(([v], id) => [v, id]));
  };
  const ids = { user: idsBy('user'), item: idsBy('item'), category: idsBy('category') };
  const itemCategory = new Map<number, number>();
  for (const e of events) if (!itemCategory.has(ids.item.get(e.item)!)) itemCategory.set(ids.item.get(e.item)!, ids.category.get(e.category)!);
  const byUser = new Map<number, { items: number[]; categories: number[]; times: number[] }>();
  events.map((e, order) => ({ ...e, order })).sort((a, b) => a.time - b.time || a.order - b.order).forEach((e) => {
    const u = ids.user.get(e.user)!;
    if (!byUser.has(u)) byUser.set(u, { items: [], categories: [], times: [] });
    const h = byUser.get(u)!;
    h.items.push(ids.item.get(e.item)!);
    h.categories.push(ids.category.get(e.category)!);
    h.times.push(e.time);
  });
  const lastTimes = [...byUser.values()].map((h) => h.times.at(-1)!).sort((a, b) => a - b);
  const split = lastTimes[Math.floor(0.7 * lastTimes.length)];
  return { ids, byUser, split, itemCategory, items: ids.item.size, categories: ids.category.size };
}

const points = (events: number, perUser: number) => Math.min(perUser, [0, 1, 3, 6][Math.floor((Math.min(events, 200) - 1) / 10)] ?? perUser);

/** Checks every row of a dataset against the reference recomputation. */
function checkAgainstReference(dir: string, csv: string, tsLength: number, perUser: number) {
  const ref = reference(csv), { manifest: m, data } = readBinaryDataset(dir, true), width = tsLength + 1;
  assert.deepEqual(m.categoricalNames, ['user', 'item', 'category']);
  assert.deepEqual(m.sequence, { events: width, tsLength, pointsPerUser: perUser });
  assert.deepEqual(m.cardinalities, [ref.ids.user.size + 1, ref.items + 1, ref.categories + 1]);
  const pad = { item: ref.items, category: ref.categories };
  // Expected parts: every train user gives points pos + neg (and one of each for validation), every test user one row.
  const expected = { train: 0, validation: 0, test: 0 };
  for (const [, h] of ref.byUser) {
    if (h.times.at(-1)! > ref.split) expected.test++;
    else {
      expected.train += 2 * points(h.items.length, perUser);
      expected.validation += 2 * points(h.items.length, 1);
    }
  }
  assert.deepEqual(m.parts, expected);
  for (let j = 0; j < width; j++) assert.equal(data.dense[j], Math.fround(j / width));
  assert.ok(data.dense.every((v, i) => v === Math.fround((i % width) / width)), 'dense values are the window positions');
  const { train, validation, test } = partSplits(data, m);
  const bag = (d: typeof data, t: number, r: number) => [...d.categorical[t].subarray(d.offsets![t]![r], d.offsets![t]![r + 1])];
  let previousUser = -1;
  const rowsOfUser = new Map<number, number>();
  for (const [part, d] of [['train', train], ['validation', validation]] as const) {
    previousUser = -1;
    for (let r = 0; r < d.rows; r++) {
      const users = bag(d, 0, r), items = bag(d, 1, r), cats = bag(d, 2, r), user = users[0];
      assert.equal(items.length, width);
      assert.ok(users.every((u) => u === user), 'one user per row');
      assert.ok(user >= previousUser, `${part} rows in user order`);
      previousUser = user;
      if (part === 'train') rowsOfUser.set(user, (rowsOfUser.get(user) ?? 0) + 1);
      const h = ref.byUser.get(user)!, recent = { items: h.items.slice(-200), categories: h.categories.slice(-200) };
      const L = recent.items.length, positive = d.labels[r] === 1, history = positive ? width : tsLength;
      // The window's real events are one run of the user's recent events ending at or before L - 2; padding before them.
      const real = items.slice(0, history).filter((i) => i !== pad.item).length;
      assert.ok(items.slice(0, history - real).every((i) => i === pad.item) && cats.slice(0, history - real).every((c) => c === pad.category), 'padding first');
      const matches = [];
      for (let end = 0; end <= L - 2; end++) {
        const first = end - history + 1;
        const ok = items.slice(0, history).every((item, j) => (first + j < 0 ? item === pad.item : item === recent.items[first + j] && cats[j] === recent.categories[first + j]));
        if (ok) matches.push(end);
      }
      assert.ok(matches.length > 0, `${part} row ${r}: its window is a run of user ${user}'s events before the last`);
      if (!positive) {
        assert.ok(!h.items.includes(items[tsLength]), 'a negative candidate is no item of the user');
        assert.equal(cats[tsLength], ref.itemCategory.get(items[tsLength]), "the candidate's category is its item's");
      }
    }
  }
  for (const [user, n] of rowsOfUser) assert.equal(n, 2 * points(ref.byUser.get(user)!.items.length, perUser), `user ${user}: rows by regime`);
  let negatives = 0;
  for (let r = 0; r < test.rows; r++) {
    const user = bag(test, 0, r)[0], items = bag(test, 1, r), cats = bag(test, 2, r), h = ref.byUser.get(user)!;
    assert.ok(h.times.at(-1)! > ref.split, 'test rows are test users');
    const L = h.items.length;
    items.slice(0, tsLength).forEach((item, j) => assert.equal(item, L - 1 - tsLength + j < 0 ? pad.item : h.items[L - 1 - tsLength + j]));
    if (test.labels[r] === 1) assert.equal(items[tsLength], h.items[L - 1]);
    else {
      negatives++;
      assert.notEqual(items[tsLength], h.items[L - 1]);
      assert.equal(cats[tsLength], ref.itemCategory.get(items[tsLength]));
    }
  }
  return { m, data, negatives, test };
}

/** A seeded CSV of users with 1 to 260 events (ties in time included) over a few items. */
function handCsv(seed: number, users = 60): string {
  const rng = new Rng(seed), lines: string[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + rng.int(u % 5 === 0 ? 260 : 60);
    let time = 1_511_600_000 + rng.int(100_000);
    for (let e = 0; e < n; e++) {
      const item = 1 + rng.int(400);
      lines.push(`${1000 + u},${item},${item % 17},${['pv', 'buy'][rng.int(2)]},${time}`);
      if (rng.next() < 0.8) time += rng.int(5000);
    }
  }
  // Shuffled lines: the preprocess orders each user's events by time, ties by file order.
  const order = new Rng(seed + 1).permutation(lines.length);
  return `${Array.from(order, (i) => lines[i]).join('\n')}\n`;
}

describe('preprocess --format taobao-tbsm', () => {
  it('makes the samples TBSM makes from a hand-written file, row by row', async () => {
    const csv = handCsv(5), input = join(root, 'hand.csv');
    writeFileSync(input, csv);
    const dir = await preprocessTo(input, ['--ts-length', '8', '--points-per-user', '7']);
    const { m, data, negatives, test } = checkAgainstReference(dir, csv, 8, 7);
    assert.ok(m.parts!.train > 0 && m.parts!.test > 0);
    const trainLabels = data.labels.subarray(0, m.parts!.train);
    assert.equal(trainLabels.reduce((a, b) => a + b, 0), m.parts!.train / 2, 'one negative per positive');
    assert.ok(negatives > 0 && negatives < test.rows, 'test candidates are positive or negative');
  });

  it('follows the rules on the real head, reading several and gzipped inputs the same', { skip: !existsSync(head) && `${head} is absent` }, async () => {
    const csv = readFileSync(head, 'utf8');
    const dir = await preprocessTo(head);
    const { m, data } = checkAgainstReference(dir, csv, 20, 10);
    const ones = data.labels.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(ones / m.rows - 0.5) < 0.02, `labels about half positive (${ones} of ${m.rows})`);
    // The same events split over two files (one gzipped) give the same bytes.
    const lines = csv.trim().split('\n'), half = Math.floor(lines.length / 2), a = join(root, 'a.csv'), b = join(root, 'b.csv.gz');
    writeFileSync(a, `${lines.slice(0, half).join('\n')}\n`);
    const { gzipSync } = await import('node:zlib');
    writeFileSync(b, gzipSync(`${lines.slice(half).join('\n')}\n`));
    const split = await preprocessTo([a, b]);
    for (const name of ['labels.f32', 'bags-1.ids.i32', 'bags-2.ids.i32', 'vocab.f64']) assert.deepEqual(readFileSync(join(split, name)), readFileSync(join(dir, name)), name);
  });

  it('gives the same bytes whatever the chunk and partition sizes, and caps the training users', async () => {
    const csv = handCsv(9, 80), input = join(root, 'parts.csv');
    writeFileSync(input, csv);
    const one = await preprocessTo(input), many = await preprocessTo(input, ['--chunk-size', '2KiB', '--partition-events', '500']);
    for (const name of readdirSync(one)) if (name !== 'manifest.json') assert.deepEqual(readFileSync(join(many, name)), readFileSync(join(one, name)), name);
    const capped = readManifest(await preprocessTo(input, ['--num-train-pts', '3', '--num-val-pts', '2']));
    assert.ok(capped.parts!.train <= 3 * 20 && capped.parts!.validation <= 4, JSON.stringify(capped.parts));
    assert.ok(capped.parts!.train < readManifest(one).parts!.train);
  });

  it('resumes a killed run to the bytes of an uninterrupted one', async () => {
    const input = join(root, 'resume.csv');
    await runGen(['--format', 'taobao', '--out', input, '--events', '400000', '--users', '4000', '--seed', '3'], quiet);
    const args = [input, '--format', 'taobao-tbsm', '--threads', '1', '--chunk-size', '256KiB', '--partition-events', '40000'];
    const whole = fresh('whole');
    await runPreprocess([...args, '--out', whole], quiet);
    const out = fresh('killed');
    for (const marker of ['chunks/20.json', 'spill.json', 'partitions/3.done']) {
      const child = spawn(process.execPath, [bin, 'preprocess', ...args, '--out', out], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      while (!existsSync(join(`${out}.partial`, marker)) && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGKILL');
      await exited;
      assert.ok(!existsSync(out), `killed after ${marker}: no output yet`);
    }
    await runPreprocess([...args, '--out', out], quiet);
    for (const name of readdirSync(whole)) assert.deepEqual(readFileSync(join(out, name)), readFileSync(join(whole, name)), name);
  });

  it('names the file, line and field of a bad line, or counts them by reason', async () => {
    const good = '1,2,3,pv,1511600000';
    const cases: [string, RegExp][] = [
      ['1,2,3,pv', /bad\.csv:2: expected 5 fields, found 4/],
      ['1,x2,3,pv,1511600000', /bad\.csv:2: field item: expected a whole number id, got 'x2'/],
      ['1,2,-3,pv,1511600000', /bad\.csv:2: field category: expected a whole number id, got '-3'/],
      ['1,2,3,click,1511600000', /bad\.csv:2: field behavior: expected pv, cart, fav or buy, got 'click'/],
      ['1,2,3,pv,17e8', /bad\.csv:2: field timestamp: expected Unix seconds/],
      ['1,2,3,pv,99999999999', /bad\.csv:2: field timestamp: expected Unix seconds/],
    ];
    for (const [line, message] of cases) {
      const folder = fresh('bad'), file = join(folder, 'bad.csv');
      mkdirSync(folder);
      writeFileSync(file, `${good}\n${line}\n${good}\n`);
      await assert.rejects(preprocessTo(file), message, line);
    }
    const input = join(root, 'skip.csv');
    writeFileSync(input, `${handCsv(2, 20)}${cases.map(([line]) => line).join('\n')}\n`);
    const m = readManifest(await preprocessTo(input, ['--on-bad-line', 'skip']));
    assert.deepEqual(m.source.skipped, { 'field count': 1, id: 2, behavior: 1, timestamp: 2 });
  });

  it('refuses a manifest whose parts or sequence do not fit its rows', async () => {
    const input = join(root, 'manifest.csv');
    writeFileSync(input, handCsv(4, 30));
    const dir = await preprocessTo(input), path = join(dir, 'manifest.json'), original = readFileSync(path, 'utf8');
    const m = JSON.parse(original);
    writeFileSync(path, JSON.stringify({ ...m, parts: { ...m.parts, test: m.parts.test + 1 } }));
    assert.throws(() => readManifest(dir), /"parts": the parts hold \d+ rows, the dataset \d+/);
    writeFileSync(path, JSON.stringify({ ...m, sequence: { ...m.sequence, events: 5 } }));
    assert.throws(() => readManifest(dir), /"sequence": expected/);
    writeFileSync(path, JSON.stringify({ ...m, denseTransform: 'log' }));
    assert.throws(() => readManifest(dir), /"denseTransform": expected "log1p" or "none"/);
    writeFileSync(path, original);
    const data = trainConfigFrom(['--dataset', dir]).data;
    assert.ok(data.kind === 'binary' && data.split === 'parts', 'a dataset with parts splits by them unless told');
    const kaggle = trainConfigFrom(['--dataset', dir, '--split', 'kaggle']).data;
    assert.ok(kaggle.kind === 'binary' && kaggle.split === 'kaggle');
  });
});

describe('gen --format taobao', () => {
  it('writes the same file for a seed, and its samples carry the planted signal', async () => {
    const a = fresh('gen.csv'), b = fresh('gen.csv');
    for (const out of [a, b]) await runGen(['--format', 'taobao', '--out', out, '--events', '200000', '--users', '2000', '--items', '20000', '--categories', '200'], quiet);
    assert.deepEqual(readFileSync(a), readFileSync(b));
    const lines = readFileSync(a, 'utf8').trim().split('\n');
    assert.equal(lines.length, 200_000);
    assert.ok(lines.filter((l) => l.includes(',pv,')).length > 0.8 * lines.length, 'mostly pv');
    const { manifest: m, data } = readBinaryDataset(await preprocessTo(a));
    const { train } = partSplits(data, m), width = m.sequence!.events;
    // The share of rows whose candidate category appears in the history: far higher for positives.
    const inHistory = [0, 0], count = [0, 0];
    for (let r = 0; r < train.rows; r++) {
      const cats = train.categorical[2].subarray(r * width, (r + 1) * width), y = train.labels[r];
      count[y]++;
      if (cats.subarray(0, width - 1).includes(cats[width - 1])) inHistory[y]++;
    }
    const [negative, positive] = [inHistory[0] / count[0], inHistory[1] / count[1]];
    assert.ok(positive > 0.7 && positive > negative + 0.4, `candidate category in history: positives ${positive.toFixed(2)}, negatives ${negative.toFixed(2)}`);
    const perUser = new Map<string, number>();
    for (const l of lines) perUser.set(l.split(',')[0], (perUser.get(l.split(',')[0]) ?? 0) + 1);
    const lengths = [...perUser.values()];
    assert.ok(lengths.filter((n) => n > 40).length > 0.3 * lengths.length && lengths.some((n) => n <= 10), 'long and short users');
  });
});
