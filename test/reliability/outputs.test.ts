// Every output is the old state or the complete new one (issue 11, section 3): preprocess reuses OUT.partial only
// for the same job, gen writes atomically, a run directory or an output being written is locked, logs are never
// padded on resume, and no temporary file ends up inside a finished dataset.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { criteoTsvBytes } from '../../src/data/formats/criteo-writer.ts';
import { preprocess } from '../../src/data/preprocess.ts';
import { jobDifference, type JobOptions, jobRecord } from '../../src/data/preprocess-job.ts';
import { generateSynthetic } from '../../src/data/synthetic.ts';
import { BinaryDatasetWriter } from '../../src/data/write-binary.ts';
import { RunDir } from '../../src/train/run-dir.ts';
import { Lock, LockError } from '../../src/util/lock.ts';

const bin = new URL('../../bin/hotline.mjs', import.meta.url).pathname;
const temp = (label: string) => mkdtempSync(join(tmpdir(), `hotline-${label}-`));
const hotline = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

/** A Criteo TSV of `rows` generated rows. */
function tsv(path: string, rows: number, seed: number): string {
  writeFileSync(path, criteoTsvBytes(generateSynthetic({ rows, tableRows: [30, 7, 500, 3, ...Array(22).fill(11)], denseFeatures: 13, zipf: 1.2, seed })));
  return path;
}

function start(args: string[]): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
  return { child, exited: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
}

/** Polls `ready` (false while the files it looks at are missing or moving) every few milliseconds. */
function when(ready: () => boolean, action: () => void): () => void {
  const poll = setInterval(() => {
    let yes = false;
    try {
      yes = ready();
    } catch {
      // not there yet
    }
    if (yes) {
      clearInterval(poll);
      action();
    }
  }, 3);
  return () => clearInterval(poll);
}

/** Runs `hotline args` and SIGKILLs it once `ready()` holds; fails if it ends first. */
async function killWhen(args: string[], ready: () => boolean): Promise<void> {
  const { child, exited } = start(args);
  const stop = when(ready, () => child.kill('SIGKILL'));
  const { code, signal } = await exited;
  stop();
  assert.equal(signal, 'SIGKILL', `hotline ${args.join(' ')} ended (code ${code}) before it could be killed`);
}

const count = (dir: string, suffix: string) => readdirSync(dir).filter((f) => f.endsWith(suffix)).length;

/** Two datasets with the same files, byte for byte. */
function assertSameDataset(dir: string, reference: string): void {
  assert.deepEqual(readdirSync(dir).sort(), readdirSync(reference).sort());
  for (const f of readdirSync(reference)) assert.ok(readFileSync(join(dir, f)).equals(readFileSync(join(reference, f))), `${f} differs from a clean run's`);
}

describe('preprocess reuses OUT.partial only for the same job', () => {
  const preprocessArgs = (input: string, out: string, ...flags: string[]) => ['preprocess', input, '--out', out, '--chunk-size', '4KB', ...flags];

  /** Kills a run of `killed` once `ready(OUT.partial)`, reruns `rerun` into the same folder, and checks it says
   *  `expected` and gives what a clean run of `rerun` gives. */
  async function killAndRerun(killed: string[], rerun: string[], ready: (work: string) => boolean, expected: (out: string) => string) {
    const root = temp('reuse'), out = join(root, 'out'), clean = join(root, 'clean');
    const withOut = (args: string[], o: string) => args.map((a) => (a === 'OUT' ? o : a));
    await killWhen(withOut(killed, out), () => ready(`${out}.partial`));
    assert.ok(!existsSync(out));
    const r = hotline(withOut(rerun, out));
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith(`${expected(out)}\n`), r.stdout);
    assert.equal(hotline(withOut(rerun, clean)).status, 0);
    assertSameDataset(out, clean);
    return out;
  }
  const someChunks = (work: string) => count(join(work, 'chunks'), '.rows.json') >= 20;

  it('a different input starts over (not 2,005 rows from a 2,000-row file)', async () => {
    const dir = temp('inputs'), first = tsv(join(dir, 'first.txt'), 2100, 5), second = tsv(join(dir, 'second.txt'), 2000, 2);
    const out = await killAndRerun(preprocessArgs(first, 'OUT'), preprocessArgs(second, 'OUT'), someChunks,
      (o) => `${o}.partial was started with inputs ${first}, now ${second}: starting over`);
    assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).rows, 2000);
  });

  it('a changed --chunk-size starts over (not 68 rows from 2,000 lines)', async () => {
    const input = tsv(join(temp('chunks'), 'day.txt'), 2000, 2);
    const out = await killAndRerun(preprocessArgs(input, 'OUT'), [...preprocessArgs(input, 'OUT'), '--chunk-size', '16KB'], someChunks,
      (o) => `${o}.partial was started with --chunk-size 4000, now 16000: starting over`);
    assert.equal(JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')).rows, 2000);
  });

  it('--min-count 5 after a kill in pass 2 starts over (not min-count-1 ids under a manifest saying 5)', async () => {
    const input = tsv(join(temp('min-count'), 'day.txt'), 2000, 2);
    await killAndRerun(preprocessArgs(input, 'OUT'), preprocessArgs(input, 'OUT', '--min-count', '5'), (work) => existsSync(join(work, 'vocab.f64')),
      (o) => `${o}.partial was started with --min-count 1, now 5: starting over`);
  });

  it('names what differs: a schema\'s content, the encoding, an input rewritten in place (even at the same size and time); a partial without a record', async () => {
    const dir = temp('job'), schema = join(dir, 's.json'), input = join(dir, 'in.txt');
    writeFileSync(schema, '{"label": "a"}');
    writeFileSync(input, 'x'.repeat(100));
    const job = (format = `schema:${schema}`, encoding: JobOptions['encoding'] = { kind: 'vocabulary', minCount: 1 }) =>
      jobRecord({ inputs: [input], format, encoding, chunkBytes: 1000, onBadLine: 'error' });
    const was = job(), sha = (text: string) => createHash('sha256').update(text).digest('hex');
    assert.equal(jobDifference(was, job()), null);
    writeFileSync(schema, '{"label": "b"}');
    assert.equal(jobDifference(was, job()), `--format schema:${schema} (SHA-256 ${sha('{"label": "a"}')}), now schema:${schema} (SHA-256 ${sha('{"label": "b"}')})`);
    assert.equal(jobDifference(job('criteo'), job('criteo', { kind: 'hash', maxIndRange: 97 })), '--min-count 1, now --max-ind-range 97');
    const { mtime } = statSync(input);
    writeFileSync(input, 'y'.repeat(120));
    utimesSync(input, mtime, new Date(mtime.getTime() + 1000));
    assert.equal(jobDifference(was, job()), `${input} of 100 bytes modified ${mtime.toISOString()}, now 120 bytes modified ${new Date(mtime.getTime() + 1000).toISOString()}`);
    writeFileSync(input, 'y'.repeat(100));
    utimesSync(input, mtime, mtime);
    const short = (text: string) => sha(text).slice(0, 12);
    assert.equal(jobDifference(was, { ...job(), options: was.options }), `${input} whose first and last 64 KiB have SHA-256 ${short('x'.repeat(100))} and ${short('x'.repeat(100))}, now ${short('y'.repeat(100))} and ${short('y'.repeat(100))}`);

    const out = join(dir, 'ds'), data = tsv(join(dir, 'day.txt'), 300, 3), warnings: string[] = [];
    mkdirSync(`${out}.partial`);
    writeFileSync(join(`${out}.partial`, 'labels.f32'), 'from another writer');
    await preprocess({ inputs: [data], out, encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 20_000, onBadLine: 'error', threads: 1, warn: (m) => warnings.push(m) });
    assert.deepEqual(warnings, [`${out}.partial has no record of the job that started it: starting over`]);
    await preprocess({ inputs: [data], out: join(dir, 'clean'), encoding: { kind: 'vocabulary', minCount: 1 }, chunkBytes: 20_000, onBadLine: 'error', threads: 1 });
    assertSameDataset(out, join(dir, 'clean'));
  });

  it('--threads does not shape the output: the same bytes with 1 and 2 threads', async () => {
    const dir = temp('threads'), input = tsv(join(dir, 'day.txt'), 3000, 7);
    for (const encoding of [{ kind: 'vocabulary' as const, minCount: 2 }, { kind: 'hash' as const, maxIndRange: 97 }]) {
      const run = (threads: number) => preprocess({ inputs: [input], out: join(dir, `${encoding.kind}-${threads}`), encoding, chunkBytes: 20_000, onBadLine: 'error', threads });
      await run(1);
      await run(2);
      assertSameDataset(join(dir, `${encoding.kind}-2`), join(dir, `${encoding.kind}-1`));
    }
  });
});

describe('no temporary file ends up inside a finished dataset', () => {
  it('preprocess killed at many points, with a killed writer\'s temporaries left behind each time, ends with exactly the dataset\'s files', async () => {
    const root = temp('leftovers'), input = tsv(join(root, 'day.txt'), 2000, 2), out = join(root, 'out'), work = `${out}.partial`;
    const args = ['preprocess', input, '--out', out, '--chunk-size', '4KB'];
    const points: ((w: string) => boolean)[] = [
      (w) => count(join(w, 'chunks'), '.rows.json') >= 20,
      (w) => existsSync(join(w, 'vocab.f64')),
      (w) => count(w, '.done') >= 4,
      (w) => count(w, '.done') >= 12,
    ];
    for (const ready of points) {
      await killWhen(args, () => ready(work));
      // What a kill inside writeFileAtomic leaves.
      for (const name of ['vocab.f64', 'column-20.done', 'manifest.json', join('chunks', '0-3.rows.json')]) writeFileSync(join(work, `${name}.tmp-99999`), 'half');
    }
    const r = hotline(args);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /starting over/, 'the same job resumes');
    assert.equal(hotline(['preprocess', input, '--out', join(root, 'clean'), '--chunk-size', '4KB']).status, 0);
    assert.deepEqual(readdirSync(out).sort(), ['categorical.i32', 'dense.f32', 'labels.f32', 'manifest.json', 'vocab.f64']);
    assertSameDataset(out, join(root, 'clean'));
    assert.deepEqual(readdirSync(root).sort(), ['clean', 'day.txt', 'out'], 'no lock or partial left beside it');
  });

  it('BinaryDatasetWriter keeps only the dataset\'s files', async () => {
    const out = join(temp('writer'), 'ds'), data = generateSynthetic({ rows: 100, tableRows: [5, 7], denseFeatures: 2, zipf: 1.1, seed: 1 });
    const writer = new BinaryDatasetWriter(out, 100, 2, 2);
    writer.append(data);
    writeFileSync(join(`${out}.partial`, 'labels.f32.tmp-99999'), 'half');
    await writer.finish({ cardinalities: [5, 7], encoding: { kind: 'synthetic', zipf: 1.1, seed: 1 }, source: { inputs: [], lines: 100, skipped: {} } });
    assert.deepEqual(readdirSync(out).sort(), ['categorical.i32', 'dense.f32', 'labels.f32', 'manifest.json']);
  });
});

describe('gen --format tsv', () => {
  it('refuses an existing --out as binary gen does, leaving it as it was', () => {
    const dir = temp('gen-exists'), file = join(dir, 'mine.tsv'), folder = join(dir, 'mine');
    writeFileSync(file, 'precious\n');
    mkdirSync(folder);
    const r = hotline(['gen', '--format', 'tsv', '--rows', '100', '--out', file]), b = hotline(['gen', '--rows', '100', '--out', folder]);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, `hotline: ${file}: already exists; remove it or choose another --out\n`);
    assert.equal(b.stderr, `hotline: ${folder}: already exists; remove it or choose another --out\n`);
    assert.equal(readFileSync(file, 'utf8'), 'precious\n');
  });

  it('killed part-way leaves no file under the final name; a rerun writes it whole', async () => {
    const dir = temp('gen-kill'), file = join(dir, 'train.tsv');
    const args = ['gen', '--format', 'tsv', '--rows', '400000', '--max-table-rows', '1000', '--threads', '1', '--out', file];
    await killWhen(args, () => statSync(`${file}.partial`).size > 0);
    assert.ok(!existsSync(file), 'a kill leaves nothing under the final name');
    const r = hotline(args);
    assert.equal(r.status, 0, r.stderr);
    const bytes = readFileSync(file);
    let lines = 0;
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) lines++;
    assert.equal(lines, 400000);
    assert.equal(bytes.at(-1), 10);
    assert.deepEqual(readdirSync(dir), ['train.tsv']);
  });
});

describe('locks', () => {
  const holder = (pid: number, command: string) => new RegExp(`in use by process ${pid} \\(${command}, since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\); wait for it to finish or stop it\\n$`);

  /** Starts `first`, runs `second` once `held()` holds, kills the first; returns the second's result. */
  async function whileHeld(first: string[], held: () => boolean, second: string[]) {
    const { child, exited } = start(first);
    let stop = () => {};
    await Promise.race([new Promise<void>((resolve) => (stop = when(held, resolve))), exited.then(() => assert.fail('the first process ended before it held the lock'))]);
    stop();
    const r = hotline(second);
    child.kill('SIGKILL');
    assert.equal((await exited).signal, 'SIGKILL', 'the first process was still running');
    return { r, pid: child.pid! };
  }

  it('a second preprocess or gen of one output is refused, naming the holder', async () => {
    const dir = temp('lock-out'), input = tsv(join(dir, 'day.txt'), 6000, 2), out = join(dir, 'out');
    const args = ['preprocess', input, '--out', out, '--chunk-size', '4KB'];
    const p = await whileHeld(args, () => count(join(`${out}.partial`, 'chunks'), '.rows.json') > 0, args);
    assert.equal(p.r.status, 2);
    assert.match(p.r.stderr, new RegExp(`^hotline: ${out}: `));
    assert.match(p.r.stderr, holder(p.pid, `hotline ${args.join(' ')}`));
    assert.ok(!existsSync(join(out, 'out.lock')) && existsSync(`${out}.lock`), 'the lock lies beside the output');

    const gen = ['gen', '--rows', '2000000', '--max-table-rows', '1000', '--threads', '1', '--out', join(dir, 'gen')];
    const g = await whileHeld(gen, () => existsSync(join(dir, 'gen.partial')), gen);
    assert.equal(g.r.status, 2);
    assert.match(g.r.stderr, holder(g.pid, `hotline ${gen.join(' ')}`));
  });

  it('two train --resume of one run: the second is refused; after a kill, the next one takes the lock over and the logs hold each line once', async () => {
    const root = temp('lock-run');
    // 24 epochs of 223 steps: the resumed run trains for some seconds, long enough for a second one to start.
    const train = ['train', '--data-generation', 'synthetic', '--data-size', '30000', '--max-table-rows', '3000', '--arch-mlp-bot', '13-64-16', '--arch-mlp-top', '64-1',
      '--arch-sparse-feature-size', '16', '--mini-batch-size', '128', '--threads', '1', '--print-freq', '1000', '--test-fraction', '0.05', '--nepochs', '24',
      '--checkpoint-every', '500', '--run-dir', root];
    await killWhen(train, () => existsSync(join(root, readdirSync(root)[0], 'checkpoints', 'step-0000000500')));
    const run = join(root, readdirSync(root)[0]), resume = ['train', '--resume', run];
    // The killed run's lock is taken over; the resumed run holds it while it trains.
    const { r, pid } = await whileHeld(resume, () => readFileSync(join(run, 'hotline.lock'), 'utf8').includes('--resume'), resume);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^hotline: ${run}: `));
    assert.match(r.stderr, holder(pid, `hotline train --resume ${run}`));
    const last = hotline(resume);
    assert.equal(last.status, 0, last.stderr);
    const lines = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; step: number });
    const steps = lines.filter((l) => l.kind === 'train').map((l) => l.step), total = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8')).steps;
    assert.deepEqual(steps, Array.from({ length: Math.floor(total / 100) }, (_, i) => 100 * (i + 1)).concat(total % 100 ? [total] : []), 'every train line once, in order');
    assert.ok(!existsSync(join(run, 'hotline.lock')), 'released at exit');
  });

  it('a lock on another host is refused with how to clear it; one whose PID now names another process is taken over', () => {
    const dir = temp('lock-unit'), file = join(dir, 'x.lock');
    writeFileSync(file, JSON.stringify({ pid: 4242, host: 'elsewhere', command: 'hotline train --resume runs/x', startedAt: '2026-12-01T22:01:03Z' }));
    assert.throws(() => Lock.acquire(file, 'runs/x'), (e: Error) => e instanceof LockError && e.message ===
      `runs/x: in use by process 4242 on host elsewhere (hotline train --resume runs/x, since 2026-12-01T22:01:03Z); wait for it to finish or stop it, or remove ${file} if it no longer runs`);
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(file, JSON.stringify({ pid: process.pid, host: hostname(), command: 'hotline gen', startedAt: '2026-12-01T22:01:03Z', boot, pidStart: '1' }));
    const lock = Lock.acquire(file, 'x');
    assert.throws(() => Lock.acquire(file, 'x'), { message: new RegExp(`^x: in use by process ${process.pid} `) });
    lock.release();
    assert.ok(!existsSync(file));
    assert.deepEqual(readdirSync(dir), [], 'no temporary left');
  });
});

describe('logs on resume', () => {
  const lines = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

  it('a log shorter than the checkpoint recorded is reported and never padded; a cut line is cut back', () => {
    const dir = temp('logs'), run = new RunDir(dir), warnings: string[] = [];
    for (let step = 1; step <= 3; step++) run.append('metrics.jsonl', { kind: 'train', step });
    run.append('events.jsonl', { step: 1, event: 'resume' });
    const sizes = run.syncedLogSizes(), metrics = join(dir, 'metrics.jsonl'), events = join(dir, 'events.jsonl');
    truncateSync(metrics, sizes['metrics.jsonl'] - 5); // a power loss took the end of the last line
    run.append('events.jsonl', { step: 2, event: 'after the checkpoint' });
    run.truncateLogs(sizes, (m) => warnings.push(m));
    const kept = Buffer.byteLength('{"kind":"train","step":1}\n{"kind":"train","step":2}\n');
    assert.deepEqual(warnings, [`${metrics}: ${sizes['metrics.jsonl'] - 5} bytes, the checkpoint recorded ${sizes['metrics.jsonl']} (lines are lost; not padded); cut back to its last complete line (${kept} bytes)`]);
    assert.deepEqual(lines(readFileSync(metrics, 'utf8')), [{ kind: 'train', step: 1 }, { kind: 'train', step: 2 }]);
    assert.deepEqual(lines(readFileSync(events, 'utf8')), [{ step: 1, event: 'resume' }], 'lines after the checkpoint are cut');

    warnings.length = 0;
    run.truncateLogs({ 'metrics.jsonl': 10, 'events.jsonl': sizes['events.jsonl'] }, (m) => warnings.push(m));
    assert.deepEqual(warnings, [`${metrics}: byte 10, where the checkpoint ends it, is inside a line; cut back to its last complete line (0 bytes)`]);
    assert.equal(statSync(metrics).size, 0);
  });

  it('train --resume with a damaged log says so, and the run\'s report still writes; a killed report leaves only whole files', async () => {
    const root = temp('resume-log');
    const train = ['train', '--data-generation', 'synthetic', '--data-size', '30000', '--max-table-rows', '3000', '--arch-mlp-bot', '13-16-8', '--arch-mlp-top', '16-1',
      '--arch-sparse-feature-size', '8', '--mini-batch-size', '128', '--threads', '1', '--print-freq', '10', '--test-fraction', '0.05', '--num-batches', '200',
      '--checkpoint-every', '100', '--run-dir', root];
    assert.equal(hotline(train).status, 0);
    const run = join(root, readdirSync(root)[0]), metrics = join(run, 'metrics.jsonl'), size = statSync(metrics).size;
    truncateSync(metrics, Math.floor(size / 2));
    const r = hotline(['train', '--resume', run]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`hotline: ${metrics}: ${Math.floor(size / 2)} bytes, the checkpoint recorded ${size} \\(lines are lost; not padded\\); cut back to its last complete line \\(\\d+ bytes\\)\\n`));
    const text = readFileSync(metrics, 'utf8');
    assert.ok(!text.includes('\0') && text.endsWith('\n'));
    lines(text);

    const report = hotline(['report', run, '--out', join(run, 'report')]);
    assert.equal(report.status, 0, report.stderr);
    const killed = join(run, 'killed-report');
    await killWhen(['report', run, '--out', killed], () => count(killed, '.png') >= 1);
    for (const f of readdirSync(killed).filter((n) => !n.includes('.tmp-'))) {
      const bytes = readFileSync(join(killed, f));
      if (f.endsWith('.svg')) assert.ok(bytes.toString().trimEnd().endsWith('</svg>'), `${f} is cut`);
      else if (f.endsWith('.png')) assert.ok(bytes.subarray(-8).equals(Buffer.from('49454e44ae426082', 'hex')), `${f} is cut`);
      else assert.fail(`${f}: unexpected`);
    }
  });
});
