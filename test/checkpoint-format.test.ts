// The checkpoint format (version 2): tensors keep their shapes under module-derived names, as a PyTorch state dict
// would hold them, and tools/read_checkpoint.py reads them with numpy alone. Short runs of a small model: two
// identical baseline runs, one with another seed, and a Hotline run (bit-identical to the baseline in the model);
// resume refuses a model of another shape and a checkpoint of another version.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { crc32 } from 'node:zlib';
import { SafetensorsFile, writeSafetensors } from '../src/checkpoint/safetensors.ts';
import { assertRefused, hotline, literal, scratch } from './reliability/cli.ts';

const python = '/usr/bin/python3';
const tool = new URL('../tools/read_checkpoint.py', import.meta.url).pathname;
// Runs of separate processes are compared bit for bit: they must compute with the same GEMM (each process otherwise
// times its own against OpenBLAS and may keep either when they are near).
process.env.HOTLINE_GEMM ??= 'own';
const withoutNumpy = spawnSync(python, ['-c', 'import numpy']).status !== 0 && `${python} with numpy is missing: tools/read_checkpoint.py is not run`;

const flags = [
  '--data-generation', 'synthetic', '--data-size', '6000', '--max-table-rows', '500', '--zipf', '1.2', '--arch-mlp-bot', '13-32-8',
  '--arch-mlp-top', '16-1', '--arch-sparse-feature-size', '8', '--mini-batch-size', '64', '--threads', '1', '--print-freq', '1000',
  '--optimizer', 'adagrad', '--learning-rate', '0.05', '--num-batches', '40', '--checkpoint-every', '20',
];

/** Trains with `extra` flags; returns the run directory. */
function train(extra: string[]): string {
  const root = scratch('format');
  const r = hotline(['train', ...flags, ...extra, '--run-dir', root]);
  assert.equal(r.status, 0, r.stderr);
  return join(root, readdirSync(root)[0]);
}

const checkpointOf = (run: string, step: number) => join(run, 'checkpoints', `step-${String(step).padStart(10, '0')}`);

interface Listing {
  path: string;
  tensors: Record<string, { dtype: string; shape: number[]; crc32: string }>;
}
interface Comparison {
  equal: boolean;
  tensors: Record<string, { equal: boolean; maxAbsDiff?: number }>;
  onlyInA: string[];
  onlyInB: string[];
}

/** Runs the tool with --json; returns its exit code and what it printed. */
function readCheckpoint<T>(args: string[]): { status: number | null; out: T } {
  const r = spawnSync(python, [tool, ...args, '--json'], { encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 1, `read_checkpoint.py exited ${r.status}: ${r.stderr}`);
  return { status: r.status, out: JSON.parse(r.stdout) as T };
}

/** The names and shapes a run's model checkpoint must hold, from its arch alone (torch.nn.Linear: weight [out, in]). */
function expectedShapes(run: string): Record<string, number[]> {
  const { arch } = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
  const tables: number[] = arch.tableRows, dim: number = arch.embeddingDim, shapes: Record<string, number[]> = {};
  const mlp = (module: string, widths: number[]) => widths.slice(1).forEach((out, l) => {
    shapes[`${module}.${l}.weight`] = [out, widths[l]];
    shapes[`${module}.${l}.bias`] = [out];
  });
  mlp('bottom_mlp', arch.bottomMlp);
  mlp('top_mlp', [dim + ((tables.length + 1) * tables.length) / 2, ...arch.topMlp]); // the dot interaction's width
  for (const [name, shape] of Object.entries(shapes)) shapes[`optimizer.${name}.adagrad_state`] = shape;
  tables.forEach((rows, t) => {
    shapes[`embeddings.table${t + 1}.weight`] = [rows, dim];
    shapes[`embeddings.table${t + 1}.adagrad_state`] = [rows];
  });
  return shapes;
}

describe('checkpoint format', { skip: withoutNumpy }, () => {
  let a = '', b = '', otherSeed = '', hot = '';
  before(() => {
    [a, b, otherSeed] = [[], [], ['--seed', '7']].map(train);
    hot = train(['--policy', 'hotline', '--learn-batches', '10', '--relearn-every', '15', '--hot-budget', '256KiB']);
  });

  it('names tensors by module and keeps their shapes; numpy and the TypeScript reader read the same bytes', () => {
    const { status, out } = readCheckpoint<Listing>([a]);
    assert.equal(status, 0);
    assert.equal(out.path, join(checkpointOf(a, 40), 'state.safetensors'), 'a run directory stands for its newest checkpoint');
    const shapes = Object.fromEntries(Object.entries(out.tensors).map(([name, t]) => [name, t.shape]));
    assert.deepEqual(shapes, expectedShapes(a));
    const file = new SafetensorsFile(out.path);
    for (const [name, t] of Object.entries(out.tensors)) {
      assert.equal(t.dtype, 'F32', name);
      assert.deepEqual(file.tensors.get(name)!.shape, t.shape, name);
      const data = file.read(name);
      assert.equal(crc32(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)).toString(16).padStart(8, '0'), t.crc32, name);
    }
  });

  it('gives policy tensors their natural shapes: the learner counts one per row of its table', () => {
    const { out } = readCheckpoint<Listing>([hot]), { arch } = JSON.parse(readFileSync(join(hot, 'config.json'), 'utf8'));
    arch.tableRows.forEach((rows: number, t: number) => assert.deepEqual(out.tensors[`policy.learner.${t}`]?.shape, [rows], `learner ${t}`));
    const slots = out.tensors['policy.placement.tableOfSlot'].shape;
    assert.ok(slots[0] > 0, 'a hot set was chosen');
    assert.deepEqual(out.tensors['policy.placement.rowOfSlot'].shape, slots);
  });

  it('--compare: identical runs are equal, another seed or another step differs in every model tensor', () => {
    const same = readCheckpoint<Comparison>([a, '--compare', b]);
    assert.equal(same.status, 0);
    assert.deepEqual(Object.keys(same.out.tensors).sort(), Object.keys(expectedShapes(a)).sort());
    for (const [name, t] of Object.entries(same.out.tensors)) assert.equal(t.maxAbsDiff, 0, name);
    for (const other of [otherSeed, checkpointOf(a, 20)]) {
      const differ = readCheckpoint<Comparison>([a, '--compare', other]);
      assert.equal(differ.status, 1, other);
      for (const [name, t] of Object.entries(differ.out.tensors)) assert.ok(!t.equal && t.maxAbsDiff! > 0, `${name} equal to ${other}'s`);
    }
  });

  it('--compare: Hotline ends with the baseline\'s parameters bit for bit; its policy tensors are its own', () => {
    const model = readCheckpoint<Comparison>([hot, '--compare', a, '--exclude', 'policy.']);
    assert.equal(model.status, 0);
    assert.equal(Object.keys(model.out.tensors).length, Object.keys(expectedShapes(a)).length);
    const whole = readCheckpoint<Comparison>([hot, '--compare', a]);
    assert.equal(whole.status, 1);
    assert.ok(whole.out.onlyInA.length > 0 && whole.out.onlyInA.every((n) => n.startsWith('policy.')), whole.out.onlyInA.join(', '));
    assert.deepEqual(whole.out.onlyInB, []);
  });

  it('--compare takes matching NaNs and infinities as equal, not a NaN against a number or another shape; --atol', async () => {
    const dir = scratch('compare'), write = async (name: string, values: number[], shape = [2, 2]) => {
      await writeSafetensors(join(dir, name), new Map([['w', { data: Float32Array.from(values), shape }], ['n', { data: Int32Array.from([7]), shape: [1] }]]));
      return join(dir, name);
    };
    const base = await write('base', [1, NaN, Infinity, -2]);
    const compare = (other: string, ...options: string[]) => readCheckpoint<Comparison>([base, '--compare', other, ...options]);
    assert.equal(compare(await write('same', [1, NaN, Infinity, -2])).status, 0);
    const near = await write('near', [1.25, NaN, Infinity, -2]);
    assert.deepEqual(compare(near).out.tensors.w, { equal: false, maxAbsDiff: 0.25 });
    assert.equal(compare(near, '--atol', '0.25').status, 0);
    assert.deepEqual(compare(await write('nan', [1, 0, Infinity, -2])).out.tensors.w, { equal: false, why: 'a NaN where the other holds a number' });
    assert.deepEqual(compare(await write('inf', [1, NaN, -Infinity, -2])).out.tensors.w, { equal: false, why: 'an infinity against another value' });
    assert.deepEqual(compare(await write('shape', [1, NaN, Infinity, -2], [4])).out.tensors.w, { equal: false, why: 'F32[2, 2] vs F32[4]' });
    // A damaged file is refused in one line, exit code 2.
    truncateSync(near, statSync(near).size - 1);
    const r = spawnSync(python, [tool, near], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^read_checkpoint\.py: .*near: \d+ bytes, the header describes \d+\n$/);
  });
});

describe('resume of a checkpoint', () => {
  let run = '';
  before(() => (run = train([])));

  it('refuses a model of another shape, naming the file, the tensor and both shapes', () => {
    const path = join(run, 'config.json'), config = readFileSync(path, 'utf8'), parsed = JSON.parse(config);
    writeFileSync(path, JSON.stringify({ ...parsed, options: { ...parsed.options, 'arch-mlp-bot': '13-16-8' } }));
    const file = join(checkpointOf(run, 40), 'state.safetensors');
    assertRefused(hotline(['train', '--resume', run]), literal(`${file}: tensor "bottom_mlp.0.weight" is F32[32, 13], expected F32[16, 13]`));
    writeFileSync(path, config);
  });

  it('refuses a checkpoint of another format version, saying which it found and which it reads', () => {
    const checkpoint = checkpointOf(run, 40), manifest = join(checkpoint, 'checkpoint.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/"version": 2,/, '"version": 1,'));
    assertRefused(hotline(['train', '--resume', run]), literal(`${checkpoint}: checkpoint format version 1; this hotline reads version 2`));
    assert.deepEqual(readdirSync(join(run, 'checkpoints')), ['step-0000000020', 'step-0000000040'], 'a sound checkpoint is not set aside');
  });
});
