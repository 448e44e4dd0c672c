// TBSM's numerics: every parameter's and every event's embedding gradient against central differences of the
// loss (each variant of the time series layer), and the native kernels against the TypeScript oracle.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Batch } from '../src/data/batch.ts';
import { createKernels } from '../src/device/registry.ts';
import { HostTables } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import type { Kernels } from '../src/kernels/kernels.ts';
import { bceWithLogits } from '../src/model/loss.ts';
import type { DenseRule } from '../src/model/model.ts';
import type { TbsmArch } from '../src/model/tbsm/tbsm-arch.ts';
import { headLengths } from '../src/model/tbsm/tbsm-arch.ts';
import { Tbsm } from '../src/model/tbsm/tbsm.ts';
import { jaggedOf } from '../src/tensor/jagged.ts';
import type { Dataset } from '../src/data/dataset.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StorageSpec } from '../src/embedding/storage.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { deviceFor } from '../src/device/registry.ts';
import { bytesPerRow } from '../src/embedding/planner.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { BaselinePolicy } from '../src/policies/baseline.ts';
import { policyContext } from '../src/policies/context.ts';
import { FaePolicy } from '../src/policies/fae.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { defaultStaleness, stalenessFor } from '../src/policies/slipstream.ts';
import type { Policy, PolicyContext } from '../src/policies/policy.ts';
import { Rng } from '../src/util/rng.ts';
import { assertClose, differenceQuotients, gpuSkipReason, openGpuForTests } from './helpers.ts';
import { GpuDlrm } from '../src/model/gpu-dlrm.ts';
import { createPolicy, type PolicyName } from '../src/policies/registry.ts';

const tableRows = [6, 9, 4];

function arch(over: Partial<TbsmArch> = {}): TbsmArch {
  return {
    tower: { bottomMlp: [1, 4], topMlp: [5, 4], embeddingDim: 4, tableRows, interaction: 'dot' },
    tsLength: 4, heads: 1, sequential: false, project: true, inner: 'def', mechanism: 'mlp', attentionMlp: [3], headMlp: [6, 1],
    ...over,
  };
}

/** n sequences of tsLength + 1 events: one id per event and table, the event's position as its dense feature. */
function sequences(a: TbsmArch, n: number, seed: number): Batch {
  const rng = new Rng(seed), events = a.tsLength + 1;
  const columns = tableRows.map((rows) => Int32Array.from({ length: n * events }, () => rng.int(rows)));
  const offsets = tableRows.map(() => Int32Array.from({ length: n + 1 }, (_, b) => b * events));
  return {
    size: n,
    dense: Float32Array.from({ length: n * events }, (_, i) => (i % events) / events),
    sparse: jaggedOf(n, columns, offsets),
    labels: Float32Array.from({ length: n }, (_, b) => b % 2),
  };
}

/** A TBSM whose event vectors are mostly positive (the tower's last biases raised): a ReLU on every top layer
 *  otherwise zeroes most components of so small a tower, and the projection then has little to differentiate. */
function tbsmOnHost(kernels: Kernels, a: TbsmArch, seed = 2): { model: Tbsm; home: HostTables; tier: MemoryTier } {
  const model = new Tbsm(kernels, a, seed), home = new HostTables(kernels, model.tables, seed);
  model.tower.top.layers.at(-1)!.bias.fill(0.5);
  return { model, home, tier: new MemoryTier('host', kernels, home.weights, null, home.dim) };
}

/** The loss of the batch from its pooled buffer as the tiers fill it (the parameters as they are now). */
function lossOf(model: Tbsm, tier: MemoryTier, batch: Batch, pooled?: Float32Array): number {
  const buffer = model.forwardDense(batch);
  if (pooled) buffer.set(pooled);
  else tier.pool(model.bags(batch.sparse), model.layout(batch.size), buffer);
  const logits = model.forwardOutput(buffer);
  return bceWithLogits(logits, batch.labels, batch.size, new Float32Array(batch.size));
}

/** Gradients without an update: Adagrad at rate 0 leaves them in every parameter's grad. */
const noUpdate: DenseRule = { name: 'adagrad', lr: 0, eps: 1, state: (p) => new Float32Array(p.value.length) };

function gradients(model: Tbsm, tier: MemoryTier, batch: Batch): { dense: Map<string, Float32Array>; pooled: Float32Array; dPooled: Float32Array } {
  const buffer = model.forwardDense(batch);
  tier.pool(model.bags(batch.sparse), model.layout(batch.size), buffer);
  const pooled = buffer.slice();
  model.learn(buffer, batch.labels, noUpdate);
  return { dense: new Map(model.denseParams().map((p) => [p.name, p.grad.slice()])), pooled, dPooled: model.embeddingGrad().slice() };
}

const h = 5e-3;

/** Each element within 0.3% of the largest difference quotient, or within float32's noise on a difference of
 *  losses near 0.7 (about 1e-7 / h): the three-head variant's tower gradients are about 1e-4. */
function assertMatchesDifferences(analytic: ArrayLike<number>, numeric: Float64Array, what: string): void {
  const scale = numeric.reduce((m, v) => Math.max(m, Math.abs(v)), 0), allowed = 3e-3 * scale + 1e-5;
  for (let i = 0; i < numeric.length; i++) {
    assert.ok(Math.abs(analytic[i] - numeric[i]) <= allowed, `${what}[${i}]: ${analytic[i]} against the difference quotient ${numeric[i]}`);
  }
}

const numeric = (x: Float32Array, at: number[], loss: () => number) => differenceQuotients(x, at, loss, h);

const variants: [string, Partial<TbsmArch>][] = [
  ['def inner, mlp attention, one head (the authors\' Taobao model)', {}],
  ['ind inner, mul attention, two sequential heads', { inner: 'ind', mechanism: 'mul', heads: 2, sequential: true }],
  ['dot inner, mlp attention, three heads, no projection', { inner: 'dot', heads: 3, project: false }],
];

describe('TBSM gradients against finite differences', () => {
  const kernels = createKernels('typescript');
  for (const [name, over] of variants) {
    it(name, () => {
      const a = arch(over), { model, tier } = tbsmOnHost(kernels, a), batch = sequences(a, 3, 7);
      const { dense, pooled, dPooled } = gradients(model, tier, batch);
      for (const p of model.denseParams()) {
        const all = Array.from({ length: p.value.length }, (_, i) => i);
        assertMatchesDifferences(dense.get(p.name)!, numeric(p.value, all, () => lossOf(model, tier, batch)), p.name);
      }
      // The embedding slots (the bottom MLP's slot of each event is overwritten by the forward pass).
      const { stride, slot0, dim } = model.layout(batch.size), slots: number[] = [];
      for (let e = 0; e < batch.size * (a.tsLength + 1); e++) for (let i = slot0; i < stride; i++) slots.push(e * stride + i);
      const want = numeric(pooled, slots, () => lossOf(model, tier, batch, pooled));
      assertMatchesDifferences(slots.map((i) => dPooled[i]), want, `the ${slots.length / dim} events' embedding gradients`);
    });
  }
});

describe('TBSM model', () => {
  it('pools one bag per event: the inputs\' ids in order, each alone', () => {
    const a = arch(), model = new Tbsm(createKernels('typescript'), a, 1), batch = sequences(a, 2, 3), bags = model.bags(batch.sparse);
    assert.equal(bags.bags, 2 * (a.tsLength + 1));
    assert.deepEqual([...bags.ids], [...batch.sparse.ids]);
    assert.deepEqual([...bags.offsets], Array.from({ length: bags.ids.length + 1 }, (_, i) => i));
    assert.equal(model.bags(batch.sparse), bags, 'cached per batch');
    const short = jaggedOf(2, tableRows.map(() => new Int32Array(2)));
    assert.throws(() => model.bags(short), /TBSM takes 5 ids per input and table/);
  });

  it("Slipstream's alpha applies to each table's sequence of a TBSM input, to all lookups of a DLRM one", () => {
    const k = createKernels('typescript');
    assert.equal(stalenessFor(defaultStaleness, new Tbsm(k, arch(), 1)).groups, 3);
    assert.equal(stalenessFor(defaultStaleness, new Tbsm(k, arch(), 1).tower).groups, 1);
  });

  it('sequential heads take the last events as tbsm rounds them (half to even)', () => {
    assert.deepEqual(headLengths(arch({ tsLength: 20, heads: 3, sequential: true })), [20, 13, 7]);
    assert.deepEqual(headLengths(arch({ tsLength: 20, heads: 8, sequential: true })), [20, 18, 15, 12, 10, 8, 5, 2]);
    assert.deepEqual(headLengths(arch({ tsLength: 20, heads: 2 })), [20, 20]);
  });

  it('the native kernels train as the TypeScript oracle does (3 Adagrad steps)', () => {
    const a = arch({ heads: 2 }), rule = (): DenseRule => {
      const states = new Map<string, Float32Array>();
      return { name: 'adagrad', lr: 0.05, eps: 1e-10, state: (p) => states.get(p.name) ?? states.set(p.name, new Float32Array(p.value.length)).get(p.name)! };
    };
    const runs = (['typescript', 'auto'] as const).map((k) => {
      const { model, tier } = tbsmOnHost(createKernels(k), a), r = rule(), losses: number[] = [];
      for (let s = 0; s < 3; s++) {
        const batch = sequences(a, 8, 20 + s), buffer = model.forwardDense(batch);
        tier.pool(model.bags(batch.sparse), model.layout(batch.size), buffer);
        losses.push(model.learn(buffer, batch.labels, r));
      }
      return { losses, params: model.denseParams() };
    });
    assertClose(runs[1].losses, runs[0].losses, 1e-5, 'losses');
    runs[0].params.forEach((p, i) => assertClose(runs[1].params[i].value, p.value, 1e-5, p.name));
  });
});

/** Skewed sequences in memory, as Taobao's: each row's bag in a table holds its events' ids; the first table is the
 *  user, the same in every event; the others' ids are a power of a uniform (a few hot rows). */
function sequenceDataset(rows: number, events: number, sizes: number[], seed: number): Dataset {
  const rng = new Rng(seed), skewed = (n: number) => Math.floor(n * rng.next() ** 8);
  const users = Int32Array.from({ length: rows }, () => skewed(sizes[0]));
  return {
    rows, denseFeatures: events, tableRows: sizes,
    dense: Float32Array.from({ length: rows * events }, (_, i) => (i % events) / events),
    categorical: sizes.map((n, t) => Int32Array.from({ length: rows * events }, (_, i) => (t === 0 ? users[Math.floor(i / events)] : skewed(n)))),
    offsets: sizes.map(() => Int32Array.from({ length: rows + 1 }, (_, r) => r * events)),
    labels: Float32Array.from({ length: rows }, () => (rng.next() < 0.5 ? 1 : 0)),
  };
}

describe('TBSM under the policies', () => {
  const a = arch({ tower: { bottomMlp: [1, 8], topMlp: [8, 6], embeddingDim: 8, tableRows: [300, 2000, 40], interaction: 'dot' } });
  const data = sequenceDataset(32 * 40, a.tsLength + 1, a.tower.tableRows, 5);

  function train(make: (ctx: PolicyContext, source: DatasetSource) => Policy, storage: StorageSpec = { kind: 'memory' }) {
    const device = deviceFor('native', 2), model = new Tbsm(device.kernels, a, 9);
    const opt = new Optimizer({ name: 'adagrad', lr: 0.05, eps: 1e-10, initialAccumulator: 0 });
    const source = new DatasetSource(data, 32, true, 9, 40), ctx = policyContext(device, model, opt, source, null, storage), policy = make(ctx, source);
    const losses: number[] = [];
    for (const batch of policy.schedule(source, 0, 0)) losses.push(Number(policy.step(batch).loss));
    policy.settle();
    const tier = ctx.home.tier(opt.rowState, null), weights = a.tower.tableRows.map((rows, t) => {
      const into = new Float32Array(rows * 8);
      tier.readRows(new Int32Array(rows).fill(t), Int32Array.from({ length: rows }, (_, r) => r), into, null);
      return into;
    });
    ctx.home.release();
    return { model, home: { weights }, policy, losses };
  }

  it('Hotline trains the baseline\'s parameters bit for bit (each event\'s bag is one id, filled by one tier)', () => {
    const base = train((ctx) => new BaselinePolicy(ctx));
    const hot = train((ctx) => new HotlinePolicy(ctx, {
      budgetBytes: 200 * bytesPerRow(8, 1), learnBatches: 8, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 1,
    }));
    const share = Number(hot.policy.report().popularInputShare);
    assert.ok(share > 0.05 && share < 0.95, `popular input share ${share}: an input is popular only when its whole history is`);
    assert.deepEqual(hot.losses, base.losses);
    base.model.denseParams().forEach((p, i) => assert.deepEqual(hot.model.denseParams()[i].value, p.value, p.name));
    base.home.weights.forEach((w, t) => assert.deepEqual(hot.home.weights[t], w, `table ${t}`));
    assert.ok(base.losses.at(-1)! < base.losses[0], 'it learns');
  });

  const fae = (budgetRows: number) => (ctx: PolicyContext, source: DatasetSource) =>
    new FaePolicy(ctx, source, { budgetBytes: budgetRows * bytesPerRow(8, 1), samplingRate: 1, quota: 'global', schedule: 'adaptive', seed: 9 });

  it('FAE: an input is hot when its whole history is; with every row hot it trains the baseline\'s parameters bit for bit', () => {
    const run = train(fae(150)), policy = run.policy as FaePolicy, placement = policy.placement;
    const hot = new Set(policy.hotInputs), events = a.tsLength + 1;
    for (let r = 0; r < data.rows; r++) {
      let all = true;
      data.categorical.forEach((column, t) => {
        for (let e = 0; e < events; e++) {
          const slot = placement.slotOf[t][column[r * events + e]];
          all &&= slot >= 0 && slot < placement.rowsIn(0);
        }
      });
      assert.equal(hot.has(r), all, `row ${r}`);
    }
    assert.ok(hot.size > 0.05 * data.rows && hot.size < 0.95 * data.rows, `${hot.size} hot inputs of ${data.rows}`);
    const base = train((ctx) => new BaselinePolicy(ctx)), everyRowHot = train(fae(a.tower.tableRows.reduce((x, y) => x + y)));
    assert.equal((everyRowHot.policy as FaePolicy).hotInputs.length, data.rows);
    assert.deepEqual(everyRowHot.losses, base.losses);
    base.home.weights.forEach((w, t) => assert.deepEqual(everyRowHot.home.weights[t], w, `table ${t}`));
  });

  it('on the SSD (host memory in front, read ahead) baseline and Hotline train the bits they train in memory', () => {
    const ssd = (hostBudget: number): StorageSpec => ({
      kind: 'ssd', dir: mkdtempSync(join(tmpdir(), 'hotline-tbsm-ssd-')), readAhead: 2, hostBudget, hostCache: 'placed', io: { engine: 'threads', queueDepth: 8 },
    });
    const hotline = (ctx: PolicyContext) => new HotlinePolicy(ctx, {
      budgetBytes: 200 * bytesPerRow(8, 1), learnBatches: 8, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 1,
    });
    for (const [name, make] of [['baseline', (ctx: PolicyContext) => new BaselinePolicy(ctx)], ['hotline', hotline]] as const) {
      const inMemory = train(make), onSsd = train(make, ssd(300 * bytesPerRow(8, 1)));
      assert.deepEqual(onSsd.losses, inMemory.losses, name);
      inMemory.home.weights.forEach((w, t) => assert.deepEqual(onSsd.home.weights[t], w, `${name} table ${t}`));
    }
  });

  it("Slipstream on FAE skips hot inputs by the authors' TBSM rule (alpha stale lookups in each sequence)", () => {
    const staleness = { ...defaultStaleness, startHotBatch: 2, windowShare: 0.2, band: 0.02, alpha: 4, minSamples: 50 };
    const run = train((ctx, source) => new FaePolicy(ctx, source, {
      budgetBytes: 400 * bytesPerRow(8, 1), samplingRate: 1, quota: 'global', schedule: 'adaptive', seed: 9, staleness,
    }));
    const report = run.policy.report() as { stalenessDecisions: { inBand: boolean; dropShare: number }[]; skippedInputs: number };
    const policy = run.policy as FaePolicy, decision = report.stalenessDecisions[0];
    assert.ok(run.losses.every(Number.isFinite));
    assert.ok(decision?.inBand && Math.abs(decision.dropShare - 0.3) <= 0.02 + 1e-9, `a decision in TBSM's band: ${JSON.stringify(report)}`);
    assert.ok(report.skippedInputs > 0 && policy.skipped.length === report.skippedInputs);
    assert.ok(policy.skipped.every((r) => policy.hotInputs.includes(r)), 'only hot inputs are skipped');
  });
});

describe('hotline train on a dataset of sequences', () => {
  const bin = new URL('../bin/hotline.mjs', import.meta.url).pathname, dir = mkdtempSync(join(tmpdir(), 'hotline-tbsm-cli-'));
  const csv = join(dir, 'events.csv'), dataset = join(dir, 'dataset');
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
  before(() => {
    for (const args of [['gen', '--format', 'taobao', '--users', '3000', '--items', '20000', '--categories', '200', '--events', '300000', '--out', csv],
      ['preprocess', csv, '--format', 'taobao-tbsm', '--out', dataset]]) assert.equal(run(...args).status, 0);
  });
  const train = (...flags: string[]) => run('train', '--dataset', dataset, '--optimizer', 'adagrad', '--learning-rate', '0.05', '--mini-batch-size', '128',
    '--arch-sparse-feature-size', '8', '--arch-mlp-bot', '1-8', '--arch-mlp-top', '8-6', '--tsl-mlp', '6', '--arch-mlp', '12-1', '--run-dir', '', ...flags);
  const auc = (out: string) => Number(/test AUC ([\d.]+)/.exec(out)?.[1]);

  it('trains TBSM by default (the parts split), learns the planted preferences, and Hotline gives the same AUC', () => {
    const base = train(), hot = train('--policy', 'hotline', '--hot-budget', '256KiB', '--learn-batches', '20');
    for (const r of [base, hot]) assert.equal(r.status, 0, r.stderr);
    assert.match(base.stdout, /TBSM: tower bottom 1-8, top \.\.\.-8-6 \(z 6\), 3 tables/);
    assert.ok(auc(base.stdout) > 0.65, `test AUC ${auc(base.stdout)}`);
    assert.equal(auc(hot.stdout), auc(base.stdout));
    const dlrm = train('--model', 'dlrm', '--arch-mlp-top', '8-1');
    assert.equal(dlrm.status, 0, dlrm.stderr);
    assert.ok(auc(base.stdout) > auc(dlrm.stdout) + 0.05, `TBSM ${auc(base.stdout)} against a DLRM that sums each sequence ${auc(dlrm.stdout)}`);
  });

  it('refuses what does not fit the data, in one line', () => {
    const other = train('--ts-length', '10');
    assert.equal(other.status, 2);
    assert.match(other.stderr, /--ts-length 10: the dataset's samples hold 20 events of history \(preprocess it again with --ts-length 10\)/);
    const criteo = run('train', '--model', 'tbsm', '--data-generation', 'synthetic', '--data-size', '1000', '--run-dir', '');
    assert.equal(criteo.status, 2);
    assert.match(criteo.stderr, /--model tbsm trains on sequences: give --dataset DIR made by hotline preprocess --format taobao-tbsm/);
    const head = train('--arch-mlp', '12-2');
    assert.equal(head.status, 2);
    assert.match(head.stderr, /--arch-mlp must end in 1/);
  });
});

// On WebGPU the tower's programs carry a device tier's pools and updates: every policy trains TBSM there as on the CPU.
const gpu = await openGpuForTests();
describe('TBSM on WebGPU under the policies', { skip: gpu ? false : gpuSkipReason }, () => {
  after(() => gpu?.dispose());
  const a = arch({ tower: { bottomMlp: [1, 8], topMlp: [8, 6], embeddingDim: 8, tableRows: [300, 2000, 40], interaction: 'dot' } });
  const data = sequenceDataset(32 * 12, a.tsLength + 1, a.tower.tableRows, 6), cpu = deviceFor('native', 2);
  const options = {
    seed: 3, staleness: { ...defaultStaleness, startHotBatch: 2, windowShare: 0.2, minSamples: 20 },
    fae: { budgetBytes: 300 * bytesPerRow(8, 1), samplingRate: 1, quota: 'global' as const, schedule: 'adaptive' as const },
    hotline: { learnBatches: 3, learnSamplingRate: 1, relearnEvery: 0, pipeline: true },
  };
  for (const name of ['baseline', 'fae', 'hotline', 'hotline+slipstream'] as PolicyName[]) {
    it(`${name} trains on the GPU (its device tier) as on the CPU`, () => {
      const run = (onGpu: boolean) => {
        const tower = onGpu ? (t: TbsmArch['tower']) => new GpuDlrm(gpu!, t, 9, undefined, 'vector') : undefined;
        const model = new Tbsm(cpu.kernels, a, 9, undefined, tower), opt = new Optimizer({ name: 'adagrad', lr: 0.05, eps: 1e-8, initialAccumulator: 0 });
        const ctx = policyContext(onGpu ? gpu! : cpu, model, opt, new DatasetSource(data, 32, true, 9, Infinity)), policy = createPolicy(name, ctx, options);
        const losses: number[] = [];
        for (const b of policy.schedule(ctx.source, 0, 0)) losses.push(Number(policy.step(b).loss));
        policy.settle();
        model.syncToHost(opt.denseRule);
        return { losses, params: model.denseParams(), weights: ctx.home.tier(opt.rowState, null) && (ctx.home as HostTables).weights };
      };
      const onCpu = run(false), onGpu = run(true);
      assertClose(onGpu.losses, onCpu.losses, 1e-4, 'losses');
      onCpu.params.forEach((p, i) => assertClose(onGpu.params[i].value, p.value, 1e-4, p.name));
      onCpu.weights.forEach((w, t) => assertClose(onGpu.weights[t], w, 1e-4, `table ${t}`));
    });
  }
});
