// The WebGPU device against the CPU oracle: DLRM training on the GPU (lavapipe in CI) gives the CPU's parameters,
// across batch sizes that make it rebuild its buffers, through a checkpoint's sync and under the hotline pipeline.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { batchesOf } from '../src/data/dataset.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import type { StorageSpec } from '../src/embedding/storage.ts';
import { HostTables } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { GpuDlrm } from '../src/model/gpu-dlrm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { policyContext } from '../src/policies/context.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { createPolicy, type PolicyName, type PolicyOptions } from '../src/policies/registry.ts';
import { defaultStaleness } from '../src/policies/slipstream.ts';
import { rowChanges } from '../src/popularity/staleness.ts';
import { bytesPerRow } from '../src/embedding/planner.ts';
import { assertClose, gpuSkipReason, openGpuForTests, randomArray } from './helpers.ts';
import { Rng } from '../src/util/rng.ts';
import { rowSegments } from '../src/tensor/segments.ts';
import { TypeScriptKernels } from '../src/kernels/typescript.ts';
import { hotline } from './reliability/cli.ts';

const gpu = await openGpuForTests();
after(() => gpu?.dispose());
const arch = { bottomMlp: [13, 24, 8], topMlp: [20, 1], embeddingDim: 8, tableRows: [300, 40, 900, 7], interaction: 'dot' as const };
const data = generateSynthetic({ rows: 600, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.2, seed: 11 });
const cpuDevice = deviceFor('auto', 2), { kernels } = cpuDevice;
const tolerance = 1e-5;

function trained(model: Dlrm, optimizer: OptimizerName, sizes: number[]): { model: Dlrm; home: HostTables; opt: Optimizer } {
  const opt = new Optimizer({ name: optimizer, lr: 0.05, eps: 1e-8, initialAccumulator: 0.01 });
  const home = new HostTables(kernels, model.tables, 4), state = opt.rowState;
  const tier = new MemoryTier('host', kernels, home.weights, state && home.rowWiseStates(state.initial), home.dim);
  const stepper = new Stepper(model, opt);
  for (const size of sizes) for (const b of batchesOf(data, size, null)) stepper.on(b, tier);
  model.syncToHost(opt.denseRule);
  return { model, home, opt };
}

type Trained = { model: Dlrm; home: { weights: Float32Array[] } };

function assertSame(a: Trained, b: Trained, what: string): void {
  const bp = b.model.denseParams();
  a.model.denseParams().forEach((p, i) => assertClose(p.value, bp[i].value, tolerance, `${what} ${p.name}`));
  a.home.weights.forEach((w, t) => assertClose(w, b.home.weights[t], tolerance, `${what} table ${t}`));
}

describe('webgpu device', { skip: gpu ? false : gpuSkipReason }, () => {
  for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
    it(`trains as the CPU does, its buffers growing from batch 50 to 200 (${optimizer})`, () => {
      const sizes = [50, 200];
      const cpu = trained(new Dlrm(kernels, arch, 4), optimizer, sizes), onGpu = trained(new GpuDlrm(gpu!, arch, 4), optimizer, sizes);
      assertSame(cpu, onGpu, optimizer);
      const first = cpu.model.denseParams()[0].value, initial = new Dlrm(kernels, arch, 4).denseParams()[0].value;
      assert.ok(first.some((v, i) => v !== initial[i]), 'training moved the parameters');
    });
  }

  it('a checkpoint-style sync: parameters and Adagrad state carried to a new model continue the same run', () => {
    const whole = trained(new GpuDlrm(gpu!, arch, 4), 'adagrad', [100, 100]);
    const part = trained(new GpuDlrm(gpu!, arch, 4), 'adagrad', [100]);
    const resumed = new GpuDlrm(gpu!, arch, 4), opt = new Optimizer(part.opt.config);
    resumed.denseParams().forEach((p, i) => p.value.set(part.model.denseParams()[i].value));
    const saved = part.opt.denseRule;
    assert.ok(saved.name === 'adagrad');
    for (const p of part.model.denseParams()) opt.restoreDenseState(p.name, saved.state(p).slice());
    resumed.syncFromHost();
    const state = opt.rowState!, tier = new MemoryTier('host', kernels, part.home.weights, part.home.rowWiseStates(state.initial), part.home.dim);
    const stepper = new Stepper(resumed, opt);
    for (const b of batchesOf(data, 100, null)) stepper.on(b, tier);
    resumed.syncToHost(opt.denseRule);
    assertSame(whole, { model: resumed, home: part.home }, 'resumed');
  });

  it('the hotline policy (popular inputs, the pipeline, the host lane) trains on it as on the CPU', () => {
    const run = (model: Dlrm) => {
      const opt = new Optimizer({ name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
      const ctx = policyContext(model instanceof GpuDlrm ? gpu! : cpuDevice, model, opt, new DatasetSource(data, 64, false, 4, Infinity));
      const policy = new HotlinePolicy(ctx, {
        budgetBytes: 120 * bytesPerRow(8, 0), learnBatches: 2, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 1,
      });
      for (const b of policy.schedule(ctx.source, 0, 0)) policy.step(b);
      policy.settle();
      model.syncToHost(opt.denseRule);
      return { model, home: ctx.home };
    };
    assertSame(run(new Dlrm(kernels, arch, 4)), run(new GpuDlrm(gpu!, arch, 4)), 'hotline');
  });

  for (const accumulate of [false, true]) {
    it(`pools jagged multi-hot bags (empty ones too) from a device table as the oracle does (accumulate ${accumulate})`, () => {
      const rng = new Rng(3, 1), rows = 500, dim = 8, tables = 3, bags = 37, layout = { bags, dim, stride: 4 * dim, slot0: dim };
      const table = randomArray(rng, rows * dim), lengths = Array.from({ length: tables * bags }, () => rng.int(4));
      const offsets = Int32Array.from([0, ...lengths.map(((sum) => (l: number) => (sum += l))(0))]);
      const ids = Int32Array.from({ length: offsets.at(-1)! }, () => rng.int(rows));
      const jagged = { tables, bags, ids, offsets }, start = randomArray(rng, bags * layout.stride);
      const want = start.slice();
      new TypeScriptKernels().embeddingForward(Array(tables).fill(table), jagged, layout, want, accumulate);
      const w = gpu!.alloc('f32', [table.length]), i = gpu!.alloc('i32', [ids.length]), o = gpu!.alloc('i32', [offsets.length]), out = gpu!.alloc('f32', [start.length]);
      gpu!.upload(table, w);
      gpu!.upload(ids, i);
      gpu!.upload(offsets, o);
      gpu!.upload(start, out);
      const program = gpu!.compile({
        arenaFloats: start.length, inputs: [], outputs: [{ slot: 0, tensor: out.id, floats: start.length }],
        kernels: [{ kernel: 'embeddingPool', weights: w.id, ids: i.id, offsets: o.id, out: out.id, tables, bags: { perInput: 1 }, dim, stride: layout.stride, slot0: dim, accumulate }],
      });
      program.run(bags);
      assertClose(program.arena, want, 1e-6, 'pooled');
      for (const t of [w, i, o, out]) gpu!.free(t);
    });
  }

  for (const optimizer of ['sgd', 'rowwise-adagrad'] as const) {
    it(`updates each distinct row once from its lookups' merged gradient as the oracle does (${optimizer})`, () => {
      const rng = new Rng(5, 1), rows = 300, dim = 12, tables = 2, bags = 50, layout = { bags, dim, stride: 3 * dim, slot0: dim };
      const lengths = Array.from({ length: tables * bags }, () => rng.int(5));
      const offsets = Int32Array.from([0, ...lengths.map(((sum) => (l: number) => (sum += l))(0))]);
      // Repeated rows within a table (they merge); each table its own rows, as slots of a compact tier are.
      const tableOf = (q: number) => (q < offsets[bags] ? 0 : 1);
      const ids = Int32Array.from({ length: offsets.at(-1)! }, (_, q) => tableOf(q) * 150 + ((rng.int(40) * 7) % 150));
      const jagged = { tables, bags, ids, offsets }, grad = randomArray(rng, bags * layout.stride), table = randomArray(rng, rows * dim);
      const state = Float32Array.from({ length: rows }, () => 0.5 + rng.next());
      const want = table.slice(), wantState = state.slice();
      // The oracle with every table the same array: one device table holds all tables' rows.
      new TypeScriptKernels().embeddingUpdate(Array(tables).fill(want), jagged, layout, grad, { optimizer, lr: 0.1, eps: 1e-8, states: Array(tables).fill(wantState) });
      const seg = rowSegments(jagged);
      assert.ok(seg.rows.length < ids.length, 'some rows repeat');
      const tensors = [table, state, grad].map((a) => { const t = gpu!.alloc('f32', [a.length]); gpu!.upload(a, t); return t; });
      const ints = [seg.rows, seg.starts, seg.lookups].map((a) => { const t = gpu!.alloc('i32', [a.length]); gpu!.upload(a, t); return t; });
      const program = gpu!.compile({
        arenaFloats: rows * dim + rows, inputs: [],
        outputs: [{ slot: 0, tensor: tensors[0].id, floats: rows * dim }, { slot: rows * dim, tensor: tensors[1].id, floats: rows }],
        kernels: [{
          kernel: 'rowUpdate', weights: tensors[0].id, state: tensors[1].id, grad: tensors[2].id, rows: ints[0].id, starts: ints[1].id, lookups: ints[2].id,
          segments: seg.rows.length, dim, stride: layout.stride, slot0: dim, bags: { perInput: 1 }, adagrad: optimizer === 'rowwise-adagrad', lr: 0.1, eps: 1e-8,
        }],
      });
      program.run(bags);
      assertClose(program.arena.subarray(0, rows * dim), want, 1e-5, 'rows');
      assertClose(program.arena.subarray(rows * dim, rows * dim + rows), wantState, 1e-5, 'row states');
      assert.ok(want.some((v, i) => v !== table[i]), 'the update moved rows');
      for (const t of [...tensors, ...ints]) gpu!.free(t);
    });
  }

  it('a device tier copies rows in and out (with their state, in chunks of 16 rows) and measures how far they moved as the CPU does', () => {
    const rng = new Rng(8, 1), rows = 70, dim = arch.embeddingDim, tier = new GpuDlrm(gpu!, arch, 4).deviceTier(rows, { initial: 0.1 }, 16);
    const all = Int32Array.from({ length: rows }, (_, i) => i), none = new Int32Array(rows);
    const values = randomArray(rng, rows * dim), states = randomArray(rng, rows);
    tier.writeRows(none, all, values, states);
    const some = Int32Array.of(5, 0, 69, 33, 16, 15, 64, 47, 48, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14), got = new Float32Array(some.length * dim), gotState = new Float32Array(some.length);
    tier.readRows(none, some, got, gotState);
    some.forEach((r, i) => {
      assert.deepEqual(got.subarray(i * dim, (i + 1) * dim), values.subarray(r * dim, (r + 1) * dim));
      assert.equal(gotState[i], states[r]);
    });
    const meter = tier.changeMeter(), moved = values.map((v, i) => v + (i % 3 === 0 ? rng.next() * 1e-2 : 0));
    meter.mark();
    assert.deepEqual(meter.marked(), values);
    tier.writeRows(none, all, moved, null);
    for (const relative of [false, true]) assertClose(meter.since(relative), rowChanges(values, moved, dim, relative), 1e-6, `change (relative ${relative})`);
    assert.ok(meter.since(false).some((c) => c > 0), 'rows moved');
    meter.mark(values);
    assertClose(meter.since(false), rowChanges(values, moved, dim, false), 1e-6, 'change from a restored mark');
    meter.clear();
    tier.release();
  });

  // The device tier: pools and updates inside the step's program, row copies at every tier sync and snapshot.
  const policyData = generateSynthetic({ rows: 1500, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.3, seed: 12 });
  const staleness = { ...defaultStaleness, startHotBatch: 2, windowShare: 0.15, minSamples: 30, sampleRate: 0.05, targetDrop: 0.3, band: 0.2 };
  const options: PolicyOptions = {
    seed: 1, staleness, fae: { budgetBytes: 150 * bytesPerRow(8, 1), samplingRate: 0.5, quota: 'global', schedule: 'adaptive', initialBlock: 2 },
    hotline: { learnBatches: 3, learnSamplingRate: 1, relearnEvery: 20, pipeline: true },
  };
  for (const name of ['device-only', 'fae', 'slipstream', 'hotline+slipstream'] as PolicyName[]) {
    it(`the ${name} policy trains on the device tier as on the CPU (row-wise Adagrad)`, () => {
      const run = (model: Dlrm) => {
        const opt = new Optimizer({ name: 'adagrad', lr: 0.05, eps: 1e-8, initialAccumulator: 0.01 });
        const ctx = policyContext(model instanceof GpuDlrm ? gpu! : cpuDevice, model, opt, new DatasetSource(policyData, 32, true, 4, Infinity));
        const policy = createPolicy(name, ctx, options);
        for (const b of policy.schedule(ctx.source, 0, 0)) policy.step(b);
        policy.settle();
        model.syncToHost(opt.denseRule);
        return { model, home: ctx.home, counters: policy.counters() };
      };
      const cpu = run(new Dlrm(kernels, arch, 4)), onGpu = run(new GpuDlrm(gpu!, arch, 4));
      assertSame(cpu, onGpu, name);
      assert.deepEqual(onGpu.counters, cpu.counters);
      if (name.includes('slipstream')) assert.ok(cpu.counters.skippedInputs > 0, 'inputs were skipped');
      const initial = new HostTables(kernels, new Dlrm(kernels, arch, 4).tables, 4);
      assert.ok(cpu.home.weights[0].some((v, i) => v !== initial.weights[0][i]), 'the tables trained');
    });
  }

  it('hotline on the device tier, the tables on the ssd behind host memory, trains as on the CPU with the tables in memory', () => {
    const run = (model: Dlrm, storage: StorageSpec) => {
      const opt = new Optimizer({ name: 'adagrad', lr: 0.05, eps: 1e-8, initialAccumulator: 0.01 });
      const ctx = policyContext(model instanceof GpuDlrm ? gpu! : cpuDevice, model, opt, new DatasetSource(policyData, 32, true, 4, Infinity), null, storage);
      const policy = createPolicy('hotline', ctx, options);
      for (const b of policy.schedule(ctx.source, 0, 0)) policy.step(b);
      policy.settle();
      model.syncToHost(opt.denseRule);
      const tier = ctx.home.tier(opt.rowState, null);
      const weights = arch.tableRows.map((n, t) => {
        const into = new Float32Array(n * arch.embeddingDim);
        tier.readRows(new Int32Array(n).fill(t), Int32Array.from({ length: n }, (_, r) => r), into, null);
        return into;
      });
      ctx.home.release();
      return { model, home: { weights }, report: policy.report() };
    };
    const cpu = run(new Dlrm(kernels, arch, 4), { kind: 'memory' });
    const onGpu = run(new GpuDlrm(gpu!, arch, 4), {
      kind: 'ssd', dir: mkdtempSync(join(tmpdir(), 'hotline-gpu-ssd-')), readAhead: 2, hostBudget: 300 * bytesPerRow(8, 1), hostCache: 'placed',
      io: { engine: 'threads', queueDepth: 8 },
    });
    assertSame(cpu, onGpu, 'hotline over the ssd');
    assert.ok(Number(onGpu.report.hostRows) > 0, 'rows in host memory');
  });

  it('hotline train --device webgpu trains and says where', () => {
    const r = hotline(['train', '--device', 'webgpu', '--num-batches', '4', '--mini-batch-size', '32', '--arch-embedding-size', '50-60-70',
      '--arch-sparse-feature-size', '8', '--arch-mlp-bot', '13-16-8', '--arch-mlp-top', '16-1', '--run-dir', '']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^device: webgpu \(/m);
    assert.match(r.stdout, /trained 128 samples/);
  });
});
