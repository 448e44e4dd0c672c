// Tables past Node's 4 GiB Buffer limit and past 2^31 floats: natively mapped storage, 64-bit row offsets in every
// native path (inline kernels, lanes, the bounds check), the counter-based init past 2^30 floats, and checkpoint
// slices at byte offsets past 4 GiB. Skipped without the addon or without ~10 GiB of free memory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SafetensorsFile, writeSafetensors } from '../src/checkpoint/safetensors.ts';
import { randomRows } from '../src/data/random.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { bytesPerRow } from '../src/embedding/planner.ts';
import { streamKey, uniformAt } from '../src/util/counter-hash.ts';
import { CpuDevice } from '../src/device/cpu-device.ts';
import { loadAddon, NativeKernels, setBoundsCheck } from '../src/kernels/native.ts';
import { TypeScriptKernels } from '../src/kernels/typescript.ts';
import type { SlotLayout, SparseUpdate } from '../src/kernels/kernels.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { policyContext } from '../src/policies/context.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { type Jagged, jaggedOf, tableBags } from '../src/tensor/jagged.ts';
import { formatBytes } from '../src/util/bytes.ts';
import { Rng } from '../src/util/rng.ts';
import { assertClose, randomArray } from './helpers.ts';

const GiB = 2 ** 30, dim = 16;
const addon = loadAddon();
const skip = addon instanceof Error ? addon.message
  : freemem() < 10 * GiB ? `a 6 GiB table needs ~10 GiB of free memory, this machine has ${formatBytes(freemem())}` : false;
const oracle = new TypeScriptKernels();
const dir = mkdtempSync(join(tmpdir(), 'hotline-big-table-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Rows [from, to) of a table. */
const rowsOf = (w: Float32Array, from: number, to: number) => w.subarray(from * dim, to * dim);

/** Row r of table `stream`'s initial values, from the TypeScript oracle's counter-based hash at the row's global index. */
function initialRow(seed: number, stream: number, bound: number, row: number): Float32Array {
  const key = streamKey(seed, stream);
  return Float32Array.from({ length: dim }, (_, j) => -bound + 2 * bound * uniformAt(key, row * dim + j));
}

describe('a table larger than 4 GiB', { skip }, () => {
  const native = new NativeKernels(addon as Exclude<typeof addon, Error>);

  it('trains: a 6 GiB table of 100M rows on random data, on the host lane; rows never looked up keep their initial values', async () => {
    const arch: DlrmArch = { bottomMlp: [13, 32, dim], topMlp: [32, 1], embeddingDim: dim, tableRows: [100_000_000, 10], interaction: 'dot' };
    const seed = 5, batch = 128, steps = 10, big = arch.tableRows[0], boundary = (4 * GiB) / (dim * 4);
    native.setThreads(2);
    const data = randomRows(arch.tableRows, 13, batch * steps, seed);
    // Rows around the 4 GiB boundary and the last row are looked up for sure, in the batches after learning.
    [boundary - 1, boundary, boundary + 1, big - 1].forEach((row, i) => (data.categorical[0][batch * steps - 1 - i] = row));
    const lookedUp = new Set(data.categorical[0]);
    const model = new Dlrm(native, arch, seed);
    const optimizer = new Optimizer({ name: 'sgd', lr: 0.5, eps: 1e-10, initialAccumulator: 0 });
    const source = new DatasetSource(data, batch, false, seed, steps);
    const ctx = policyContext(new CpuDevice('cpu-native', native), model, optimizer, source);
    const table = ctx.home.weights[0];
    assert.equal(table.byteLength, big * dim * 4);
    assert.ok(table.byteLength > 4 * GiB);
    // Watched: every row looked up, and windows at the start, at 2 GiB, at 4 GiB and at the end, mostly never looked up.
    const windows = [0, 2 ** 25, boundary - 64, big - 128].flatMap((from) => Array.from({ length: 128 }, (_, i) => from + i));
    const watched = [...new Set([...lookedUp, ...windows])];
    const before = new Map(watched.map((row) => [row, rowsOf(table, row, row + 1).slice()]));
    for (const [row, values] of before) assert.deepEqual(values, initialRow(seed, 0, Math.sqrt(1 / big), row), `row ${row} starts as the oracle's init`);

    const policy = new HotlinePolicy(ctx, {
      budgetBytes: 64 * bytesPerRow(dim, 0), learnBatches: 3, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed,
    });
    for (const b of policy.schedule(source, 0, 0)) policy.step(b);
    policy.settle();
    const report = policy.report();
    assert.equal(report.inputs, (steps - 3) * batch, 'every input after learning went through the pipeline');
    assert.ok(Number(report.popularInputShare) < 0.5 && Number(report.gatherSeconds) > 0, 'most inputs were gathered on the host lane');

    let changed = 0;
    for (const [row, values] of before) {
      const now = rowsOf(table, row, row + 1);
      if (lookedUp.has(row)) {
        assert.notDeepEqual(now, values, `row ${row} was looked up, so SGD moved it`);
        changed++;
      } else {
        assert.deepEqual(now, values, `row ${row} was never looked up`);
      }
    }
    assert.equal(changed, lookedUp.size);
    assert.ok(watched.length - changed > 400, 'the windows hold rows never looked up');

    // A checkpoint's slices at byte offsets past 4 GiB: the last rows written, then read over rows past the boundary.
    const last = rowsOf(table, big - 4096, big), path = join(dir, 'rows.safetensors');
    await writeSafetensors(path, new Map([['rows', { data: last, shape: [4096, dim] }]]));
    const target = rowsOf(table, boundary + 4096, boundary + 8192);
    new SafetensorsFile(path).readInto('rows', target, [4096, dim]);
    assert.deepEqual(target, last);
  });

  it('pools and updates rows past 2^31 floats as the oracle does, inline and on a lane, and the bounds check counts its rows', () => {
    // 2^27 + 32 rows of 16: 8 GiB + 2 KiB, mapped but never touched except the last 64 rows (they straddle 2^31 floats).
    const rows = 2 ** 27 + 32, lo = rows - 64, bags = 40;
    const table = native.allocateTable(rows * dim), states = native.allocateTable(rows);
    assert.ok(table.length > 2 ** 31);
    const window = rowsOf(table, lo, rows), windowStates = states.subarray(lo);
    native.fillUniform(window, 3, 0, -1, 1);
    windowStates.fill(0.1);
    const ref = window.slice(), refStates = windowStates.slice();
    const rng = new Rng(11);
    const local: number[] = [], offsets = new Int32Array(bags + 1);
    for (let b = 0; b < bags; b++) {
      for (let p = rng.int(4); p >= 0; p--) local.push(rng.int(64));
      offsets[b + 1] = local.length;
    }
    local[0] = 63; // the last row
    const ids: Jagged = jaggedOf(bags, [Int32Array.from(local, (r) => lo + r)], [offsets]);
    const refIds: Jagged = jaggedOf(bags, [Int32Array.from(local)], [offsets]);
    const layout: SlotLayout = { bags, dim, stride: dim + 8, slot0: 8 };
    const pooled = () => {
      const want = new Float32Array(bags * layout.stride), got = want.slice();
      oracle.embeddingForward([ref], refIds, layout, want);
      native.embeddingForward([table], ids, layout, got);
      return { want, got };
    };
    const { want, got } = pooled();
    assertClose(got, want, 1e-7, 'forward');
    const grad = randomArray(rng, bags * layout.stride);
    const sgd: SparseUpdate = { optimizer: 'sgd', lr: 0.3, eps: 1e-10, states: null };
    const adagrad = (s: Float32Array): SparseUpdate => ({ optimizer: 'rowwise-adagrad', lr: 0.3, eps: 1e-10, states: [s] });
    oracle.embeddingUpdate([ref], refIds, layout, grad, sgd);
    native.embeddingUpdate([table], ids, layout, grad, sgd);
    assertClose(window, ref, 1e-6, 'SGD update');
    oracle.embeddingUpdate([ref], refIds, layout, grad, adagrad(refStates));
    native.embeddingUpdate([table], ids, layout, grad, adagrad(states));
    assertClose(window, ref, 1e-6, 'row-wise Adagrad update');
    assertClose(windowStates, refStates, 1e-6, 'row-wise Adagrad state');

    const lane = native.lane('big-table'), bagsOf = tableBags(ids);
    const gathered = new Float32Array(bags * layout.stride);
    lane.wait(lane.gather([table], bagsOf, layout, gathered));
    const early = gathered.slice();
    assert.deepEqual(early, pooled().got, 'a lane gather pools as the inline kernel');
    oracle.embeddingUpdate([ref], refIds, layout, grad, sgd);
    lane.wait(lane.update([table], bagsOf, layout, grad, sgd));
    assertClose(window, ref, 1e-6, 'SGD update on the lane');
    // Refetch after the update, naming two of its rows (the last one among them): only the bags reading them are pooled again.
    const touched = Int32Array.of(lo + 63, lo + 5), fresh = pooled().got;
    const stale = Array.from({ length: bags }, (_, b) => local.slice(offsets[b], offsets[b + 1]).some((r) => r === 63 || r === 5));
    const refetched = lane.wait(lane.refetch([table], bagsOf, layout, gathered, [touched]));
    assert.equal(refetched.count, stale.filter(Boolean).length, 'the bags that read a touched row');
    stale.forEach((isStale, b) => {
      const bag = (a: Float32Array) => a.subarray(b * layout.stride, (b + 1) * layout.stride);
      assert.deepEqual(bag(gathered), bag(isStale ? fresh : early), `bag ${b} ${isStale ? 'refetched' : 'left as gathered'}`);
    });

    const was = setBoundsCheck(true);
    try {
      const out = new Float32Array(layout.stride);
      const one = (row: number) => jaggedOf(1, [Int32Array.of(row)]);
      native.embeddingForward([table], one(rows - 1), { ...layout, bags: 1 }, out);
      assert.throws(() => native.embeddingForward([table], one(rows), { ...layout, bags: 1 }, out), {
        message: `hotline native: table 0: id ${rows} at lookup 0 is outside its ${rows} rows`,
      });
    } finally {
      setBoundsCheck(was ?? false);
    }
  });
});
