// Checkpoints: the safetensors files, the store's checks and rotation, and exact resume after SIGKILL for
// the baseline and every policy (the resumed run's final parameters equal an uninterrupted run's, bit for bit).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { CheckpointStore } from '../src/checkpoint/checkpoint-store.ts';
import { SafetensorsFile, writeSafetensors } from '../src/checkpoint/safetensors.ts';
import type { ShapedTensor } from '../src/util/tensors.ts';
import { literal } from './reliability/cli.ts';
import { listAdapters } from '../src/device/webgpu/adapters.ts';
import { gpuSkipReason } from './helpers.ts';

const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname;
// An uninterrupted run is compared bit for bit with a killed and resumed one: separate processes, which must compute
// with the same GEMM. Each process otherwise times its own against OpenBLAS and may keep the other one when they are
// near (a resumed run keeps its own run's choice; the uninterrupted run is another run).
process.env.HOTLINE_GEMM ??= 'own';
const temp = (label: string) => mkdtempSync(join(tmpdir(), `hotline-${label}-`));

describe('safetensors', () => {
  it('round-trips every dtype and shape and checks the header against the file size', async () => {
    const path = join(temp('st'), 'a.safetensors');
    const tensors = new Map<string, ShapedTensor>([
      ['f32', { data: Float32Array.from([1.5, -2, Math.PI, 0, 1, 2]), shape: [2, 3] }], ['f64', { data: Float64Array.from([1e-300, -0]), shape: [2] }],
      ['i32', { data: Int32Array.from([-7, 2 ** 31 - 1]), shape: [1, 2, 1] }], ['u32', { data: Uint32Array.from([2 ** 32 - 1]), shape: [] }],
      ['u8', { data: Uint8Array.from([1, 2, 3, 4, 5]), shape: [5] }], ['empty', { data: new Float32Array(0), shape: [0, 16] }],
    ]);
    const { bytes } = await writeSafetensors(path, tensors, { note: 'test' });
    assert.equal(statSync(path).size, bytes);
    const file = new SafetensorsFile(path);
    assert.equal(file.metadata.note, 'test');
    for (const [name, t] of tensors) {
      assert.deepEqual(file.tensors.get(name)!.shape, t.shape, name);
      assert.deepEqual(file.read(name), t.data, name);
    }
    // The data starts 8-byte aligned, as the format asks.
    const headerLength = Number(readFileSync(path).readBigUInt64LE());
    assert.equal((8 + headerLength) % 8, 0);
    // A shape other than the caller's is refused, naming the file, the tensor and both shapes.
    assert.throws(() => file.readInto('f32', new Float32Array(6), [3, 2]), literal(`${path}: tensor "f32" is F32[2, 3], expected F32[3, 2]`));
    assert.throws(() => file.readInto('f32', new Float32Array(6), [6]), /tensor "f32" is F32\[2, 3\], expected F32\[6\]/);
    assert.throws(() => file.readInto('u8', new Float32Array(5), [5]), /tensor "u8" is U8\[5\], expected F32\[5\]/);
    await assert.rejects(writeSafetensors(path, new Map([['w', { data: new Float32Array(6), shape: [4, 2] }]])), /tensor "w": shape \[4, 2\] does not hold its 6 elements/);
    truncateSync(path, bytes - 1);
    assert.throws(() => new SafetensorsFile(path), /the header describes/);
    // A header whose shape does not fill its byte range is refused on open.
    const json = Buffer.from(JSON.stringify({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path, Buffer.concat([head, json, Buffer.alloc(8)]));
    assert.throws(() => new SafetensorsFile(path), literal(`${path}: tensor "x" spans 8 bytes, its shape F32[3] needs 12`));
  });
});

describe('checkpoint store', () => {
  const state = (v: number) => new Map([['w', { data: Float32Array.from([v, v + 1]), shape: [2] }]]);

  it('keeps the newest checkpoints, ignores partial ones and refuses damaged ones with the reason', async () => {
    const dir = temp('store'), store = new CheckpointStore(dir, 2);
    for (const step of [10, 20, 30]) await store.save(step, { step }, state(step));
    assert.deepEqual(store.list(), ['step-0000000020', 'step-0000000030']);
    writeFileSync(join(dir, 'step-0000000040.partial'), 'a crash while writing'); // never taken for a checkpoint
    const warnings: string[] = [];
    assert.equal((await store.latest((m) => warnings.push(m)))?.manifest.step, 30);
    assert.equal(warnings.length, 0);

    // A flipped byte: the checksum catches it, and the one before is used.
    const newest = join(dir, 'step-0000000030', 'state.safetensors'), bytes = readFileSync(newest);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(newest, bytes);
    const used = (await store.latest((m) => warnings.push(m)))!;
    assert.equal(used.manifest.step, 20);
    assert.deepEqual(used.tensors.read('w'), Float32Array.from([20, 21]));
    assert.match(warnings[0], /checkpoint step-0000000030 refused: .*state\.safetensors: SHA-256 does not match the manifest \(corrupted\); set aside/);
    assert.ok(existsSync(join(dir, 'step-0000000030.refused')));

    // A truncated file and a broken manifest are refused too; with nothing sound left, there is no checkpoint.
    truncateSync(join(dir, 'step-0000000020', 'state.safetensors'), 10);
    await store.save(25, { step: 25 }, state(25));
    writeFileSync(join(dir, 'step-0000000025', 'checkpoint.json'), '{"format": "hotline-checkpoint", ');
    warnings.length = 0;
    assert.equal(await store.latest((m) => warnings.push(m)), null);
    assert.match(warnings[0], /step-0000000025 refused: .*checkpoint\.json: unreadable/);
    assert.match(warnings[1], /step-0000000020 refused: .*10 bytes, the manifest says \d+ \(truncated or overwritten\)/);
  });
});

/** Flags shared by every resume run: a small model on a skewed synthetic set, 1 thread (bit-exact). */
const base = [
  '--data-generation', 'synthetic', '--data-size', '60000', '--max-table-rows', '3000', '--zipf', '1.2', '--arch-mlp-bot', '13-64-16',
  '--arch-mlp-top', '64-1', '--arch-sparse-feature-size', '16', '--mini-batch-size', '128', '--threads', '1', '--print-freq', '1000',
  '--hot-budget', '1MiB', '--test-fraction', '0.05',
];

function runDirIn(root: string): string | null {
  const [dir] = existsSync(root) ? readdirSync(root) : [];
  return dir ? join(root, dir) : null;
}

/** Starts a run and SIGKILLs it as soon as the checkpoint of `killAfter` steps exists. */
async function runAndKill(args: string[], root: string, killAfter: number): Promise<string> {
  const child = spawn(process.execPath, [bin, 'train', ...args, '--run-dir', root], { stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const target = `step-${String(killAfter).padStart(10, '0')}`;
  let dir: string | null = null;
  const poll = setInterval(() => {
    dir ??= runDirIn(root);
    if (dir && existsSync(join(dir, 'checkpoints', target))) child.kill('SIGKILL');
  }, 2);
  const { code, signal } = await exited;
  clearInterval(poll);
  assert.equal(signal, 'SIGKILL', `the run ended (code ${code}) before it could be killed after step ${killAfter}`);
  return runDirIn(root)!;
}

async function finalTensors(dir: string): Promise<SafetensorsFile> {
  const store = new CheckpointStore(join(dir, 'checkpoints'), 1);
  return (await store.open(store.list().at(-1)!)).tensors;
}

/** The train lines of metrics.jsonl without their timings (losses and the policy's counters). */
function trainLosses(dir: string): string[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))
    .filter((m) => m.kind === 'train').map((m) => `${m.step}:${m.samples}:${m.loss}:${m.skippedInputs}:${m.popularInputs}`);
}

const cases: ResumeCase[] = [
  { policy: 'baseline', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05'], damage: 'flip' },
  { policy: 'fae', flags: ['--fae-schedule', 'adaptive', '--optimizer', 'adagrad', '--learning-rate', '0.05'] },
  { policy: 'slipstream', flags: ['--stale-start', '20', '--stale-window', '0.05', '--stale-reevaluate', '60', '--learning-rate', '0.5'] },
  // The checkpoint comes before the popular set is chosen: the learner's counts and sampler are restored.
  { policy: 'hotline', flags: ['--hot-budget', '128KiB', '--learn-batches', '230', '--learn-sampling-rate', '0.5', '--learning-rate', '0.2'], damage: 'truncate' },
  { policy: 'hotline+slipstream', flags: ['--learn-batches', '20', '--relearn-every', '90', '--stale-start', '30', '--stale-reevaluate', '50', '--stale-window', '0.05', '--learning-rate', '0.5'] },
  // Tables on the SSD: the undo logs roll the files back (over two checkpoints' logs when the newest is refused).
  { policy: 'baseline', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05'], damage: 'flip', ssd: true },
  { policy: 'fae', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05', '--hot-budget', '128KiB', '--host-budget', '512KiB'], ssd: true },
  { policy: 'hotline', flags: ['--hot-budget', '128KiB', '--host-budget', '512KiB', '--learn-batches', '230', '--learning-rate', '0.2'], ssd: true },
];

type ResumeCase = { policy: string; flags: string[]; damage?: 'flip' | 'truncate'; ssd?: boolean };

/** The run's ssd table files (rows and state), by name. */
function tableFiles(dir: string): Map<string, Buffer> {
  const tables = join(dir, 'tables');
  return new Map(readdirSync(tables).filter((n) => /^table\d+\.(rows|state)$/.test(n)).sort().map((n) => [n, readFileSync(join(tables, n))]));
}

/** Trains `steps` steps whole, and again killed after 2 x `every` then resumed: the same parameters, logs and AUC. */
async function checkResume(c: ResumeCase, flags: string[], every: number, steps: number): Promise<void> {
  const args = [...flags, '--policy', c.policy, ...c.flags, '--num-batches', String(steps), '--checkpoint-every', String(every), ...(c.ssd ? ['--storage', 'ssd'] : [])];
  const whole = temp('whole'), killed = temp('killed');
  const full = spawnSync(process.execPath, [bin, 'train', ...args, '--run-dir', whole], { encoding: 'utf8' });
  assert.equal(full.status, 0, full.stderr);
  const dir = await runAndKill(args, killed, 2 * every);
  if (c.damage) {
    const file = join(dir, 'checkpoints', `step-${String(2 * every).padStart(10, '0')}`, 'state.safetensors');
    if (c.damage === 'truncate') truncateSync(file, statSync(file).size - 4096);
    else {
      const bytes = readFileSync(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0x40;
      writeFileSync(file, bytes);
    }
  }
  const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', dir], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  const from = c.damage ? every : 2 * every;
  assert.match(resumed.stdout, new RegExp(`resumed from .*step-${String(from).padStart(10, '0')} at step ${from}`));
  if (c.damage) assert.match(resumed.stdout, c.damage === 'flip' ? /refused: .*SHA-256 does not match/ : /refused: .*bytes, the manifest says/);

  const a = await finalTensors(runDirIn(whole)!), b = await finalTensors(dir);
  const names = [...a.tensors.keys()].filter((n) => !n.startsWith('policy.'));
  assert.ok(names.some((n) => n.startsWith('embeddings.')) !== Boolean(c.ssd) && names.some((n) => n.startsWith('bottom_mlp.')));
  if (c.ssd) {
    const want = tableFiles(runDirIn(whole)!), got = tableFiles(dir);
    assert.deepEqual([...got.keys()], [...want.keys()]);
    assert.ok(want.size >= 26, 'every table has its file');
    for (const [name, bytes] of want) assert.ok(got.get(name)!.equals(bytes), `${name} differs after resume`);
  }
  assert.deepEqual([...b.tensors.keys()].filter((n) => !n.startsWith('policy.')), names);
  for (const name of names) assert.ok(Buffer.from(a.read(name).buffer).equals(Buffer.from(b.read(name).buffer)), `${name} differs after resume`);
  // The logs hold every line once: what the killed run wrote after its checkpoint was cut and written again.
  assert.deepEqual(trainLosses(dir), trainLosses(runDirIn(whole)!));
  const summaryA = JSON.parse(readFileSync(join(runDirIn(whole)!, 'summary.json'), 'utf8'));
  const summaryB = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8'));
  assert.equal(summaryB.steps, steps);
  assert.equal(summaryB.test.auc, summaryA.test.auc);
  if (c.policy.includes('slipstream')) assert.ok(summaryB.policy.skippedInputs > 0, 'the run should skip stale inputs');
}

describe('resume after SIGKILL', () => {
  const every = 100, steps = 4 * every; // kill after 2 checkpoints; resume trains the other half
  for (const c of cases) {
    it(`${c.policy}${c.ssd ? ' (tables on the ssd)' : ''}: ${steps / 2} steps, kill -9, resume = ${steps} steps uninterrupted${c.damage ? ` (newest checkpoint ${c.damage === 'flip' ? 'corrupted' : 'truncated'})` : ''}`,
      () => checkResume(c, base, every, steps));
  }

  it('SIGTERM stops a run at the end of a step with a checkpoint, and resume finishes it exactly', async () => {
    const args = [...base, '--num-batches', String(steps), '--checkpoint-every', String(every)];
    const whole = temp('whole'), stopped = temp('stopped');
    assert.equal(spawnSync(process.execPath, [bin, 'train', ...args, '--run-dir', whole]).status, 0);
    const child = spawn(process.execPath, [bin, 'train', ...args, '--run-dir', stopped], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const poll = setInterval(() => {
      const dir = runDirIn(stopped);
      if (dir && existsSync(join(dir, 'checkpoints', `step-${String(every).padStart(10, '0')}`))) {
        clearInterval(poll);
        child.kill('SIGTERM');
      }
    }, 2);
    assert.equal(await exited, 0);
    const at = Number(/stopped at step (\d+) and checkpointed/.exec(stdout)?.[1]);
    assert.ok(at >= every && at < steps, stdout);
    const dir = runDirIn(stopped)!;
    assert.ok(existsSync(join(dir, 'checkpoints', `step-${String(at).padStart(10, '0')}`)));
    assert.ok(!existsSync(join(dir, 'summary.json')), 'a stopped run has no summary yet');
    const resumed = spawnSync(process.execPath, [bin, 'train', '--resume', dir], { encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`at step ${at}\\n`));
    const a = await finalTensors(runDirIn(whole)!), b = await finalTensors(dir);
    for (const name of a.tensors.keys()) assert.ok(Buffer.from(a.read(name).buffer).equals(Buffer.from(b.read(name).buffer)), `${name} differs`);
  });

  it('refuses --resume with other options, or without a sound checkpoint', () => {
    const r = spawnSync(process.execPath, [bin, 'train', '--resume', 'x', '--seed', '3'], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /other options are not taken/);
    const none = temp('none');
    const r2 = spawnSync(process.execPath, [bin, 'train', '--resume', none], { encoding: 'utf8' });
    assert.equal(r2.status, 2);
    assert.match(r2.stderr, /no config\.json, not a hotline run directory/);
  });
});

// On the GPU: the device tier's rows and deferred updates, Slipstream's snapshot on the device and the dense state
// come back through the checkpoint as on the CPU (lavapipe is slow: a small model and few steps).
const gpuBase = [
  '--device', 'webgpu', '--data-generation', 'synthetic', '--data-size', '8000', '--max-table-rows', '2000', '--zipf', '1.2',
  '--arch-mlp-bot', '13-16-8', '--arch-mlp-top', '16-1', '--arch-sparse-feature-size', '8', '--mini-batch-size', '64', '--threads', '1',
  '--print-freq', '1000', '--hot-budget', '2MiB', '--test-fraction', '0.05',
];
const gpuCases: ResumeCase[] = [
  { policy: 'fae', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05'] },
  { policy: 'hotline+slipstream', flags: ['--learn-batches', '10', '--learn-sampling-rate', '1', '--stale-start', '3', '--stale-reevaluate', '12', '--stale-window', '0.1', '--learning-rate', '0.5'] },
];
const adapters = await listAdapters();
describe('resume after SIGKILL on the GPU', { skip: adapters instanceof Error || adapters.length === 0 ? gpuSkipReason : false }, () => {
  for (const c of gpuCases) it(`${c.policy} on webgpu: 20 steps, kill -9, resume = 40 steps uninterrupted`, () => checkResume(c, gpuBase, 10, 40));
});

// TBSM: a dataset of sequences (gen --format taobao, preprocess --format taobao-tbsm), a small tower; the time series
// layer's parameters and Adagrad states come back through the checkpoint with the tower's.
describe('resume after SIGKILL: TBSM', () => {
  const dir = temp('tbsm'), csv = join(dir, 'events.csv'), dataset = join(dir, 'dataset');
  // In a hook: a suite's body runs while other suites' tests wait on their runs, and would stall their polling.
  before(() => {
    for (const args of [['gen', '--format', 'taobao', '--users', '2000', '--items', '5000', '--categories', '100', '--events', '200000', '--out', csv],
      ['preprocess', csv, '--format', 'taobao-tbsm', '--out', dataset]]) {
      const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });
  const tbsmBase = [
    '--dataset', dataset, '--arch-sparse-feature-size', '8', '--arch-mlp-bot', '1-8', '--arch-mlp-top', '8-6', '--tsl-mlp', '6',
    '--arch-mlp', '12-1', '--mini-batch-size', '64', '--threads', '1', '--print-freq', '1000', '--hot-budget', '64KiB',
  ];
  const tbsmCases: ResumeCase[] = [
    { policy: 'baseline', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05', '--tsl-num-heads', '2'], damage: 'flip' },
    { policy: 'fae', flags: ['--optimizer', 'adagrad', '--learning-rate', '0.05'] },
    { policy: 'hotline', flags: ['--learn-batches', '30', '--optimizer', 'adagrad', '--learning-rate', '0.05'] },
  ];
  for (const c of tbsmCases) it(`TBSM ${c.policy}: 40 steps, kill -9, resume = 80 steps uninterrupted`, () => checkResume(c, tbsmBase, 20, 80));
});
