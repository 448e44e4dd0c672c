// FAE's parts: profiler, hot set under a budget, classifier, fast tier, and the policy end to end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { batchesOf, type Dataset } from '../src/data/dataset.ts';
import { deviceFor } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { bytesPerRow, planPlacement, type TierBudget } from '../src/embedding/planner.ts';
import type { Placement } from '../src/embedding/placement.ts';
import { TierSync } from '../src/embedding/tier-sync.ts';
import { classifyInputs, hotInputCurve } from '../src/popularity/hot-inputs.ts';
import { type AccessProfile, profileAccesses, rankRows, type RowRanking } from '../src/popularity/profiler.ts';
import { policyContext } from '../src/policies/context.ts';
import { FaePolicy } from '../src/policies/fae.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { fastTier, FastTierError, homeTier } from '../src/policies/tiers.ts';
import { formatBytes } from '../src/util/bytes.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { evaluate } from '../src/train/evaluate.ts';

const device = deviceFor('auto', 2), { kernels } = device;
const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [300, 50, 1000, 7], interaction: 'dot' as const };
/** A one-tier placement (the hot set) of rows of `bytes` each within `budget`. */
const hotSet = (profile: AccessProfile, ranking: RowRanking, bytes: number, budget: number, quota: 'global' | 'per-table' = 'global'): Placement =>
  planPlacement(profile, ranking, [{ bytesPerRow: bytes, budgetBytes: budget } satisfies TierBudget], quota);
const hotOf = (p: Placement, t: number, row: number) => p.tierOf(t, row) === 0;

const data: Dataset = generateSynthetic({ rows: 24000, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.2, seed: 3 });

describe('profiler and hot set', () => {
  const profile = profileAccesses(data, 1, 1);
  const ranking = rankRows(profile);

  it('counts every lookup exactly and ranks rows by count', () => {
    data.categorical.forEach((col, t) => {
      const want = new Map<number, number>();
      for (const id of col) want.set(id, (want.get(id) ?? 0) + 1);
      for (const [id, n] of want) assert.equal(profile.counts[t][id], n);
    });
    for (let i = 1; i < ranking.counts.length; i++) assert.ok(ranking.counts[i - 1] >= ranking.counts[i]);
    assert.equal(ranking.counts.reduce((a, b) => a + b, 0), profile.lookups);
  });

  it('budget accounting is exact: rows x (dim + state) bytes, never over the budget', () => {
    for (const state of [0, 1]) {
      const perRow = bytesPerRow(8, state);
      assert.equal(perRow, 4 * (8 + state));
      for (const budget of [perRow - 1, perRow, 37 * perRow + 5, 10 ** 9]) {
        const hot = hotSet(profile, ranking, perRow, budget);
        assert.equal(hot.rowsIn(0), Math.min(Math.floor(budget / perRow), ranking.rows.length));
        assert.ok(hot.rowsIn(0) * perRow <= budget);
      }
    }
  });

  it('the global hot set is the top rows by count; per-table quotas follow lookup shares', () => {
    const hot = hotSet(profile, ranking, 32, 32 * 100);
    const threshold = ranking.counts[99];
    profile.counts.forEach((c, t) => c.forEach((n, row) => {
      if (n > threshold) assert.ok(hot.slotOf[t][row] >= 0, `row ${t}/${row} with count ${n} must be hot`);
      if (n < threshold) assert.equal(hot.slotOf[t][row], -1);
    }));
    const quota = hotSet(profile, ranking, 32, 32 * 100, 'per-table');
    assert.equal(quota.rowsIn(0), 100);
    for (let s = 0; s < quota.rowsIn(0); s++) assert.equal(quota.slotOf[quota.tableOfSlot[s]][quota.rowOfSlot[s]], s);
  });

  it('the classifier and the hot-input curve agree with a brute-force check', () => {
    const hot = hotSet(profile, ranking, 32, 32 * 400), classify = (p: Placement, threshold = 1) => classifyInputs(data, p.slotOf, p.rowsIn(0), threshold);
    for (const threshold of [1, 0.75]) {
      const split = classify(hot, threshold);
      const isHot = (i: number) => data.categorical.filter((c, t) => hotOf(hot, t, c[i])).length >= threshold * 4;
      const want = Array.from({ length: data.rows }, (_, i) => i).filter(isHot);
      assert.deepEqual(Array.from(split.hot), want);
      assert.equal(split.hot.length + split.cold.length, data.rows);
    }
    const [point] = hotInputCurve(profile, ranking, data, 32, [32 * 400]);
    assert.equal(point.hotShare, classify(hot).hot.length / data.rows);
    const sampled = profileAccesses(data, 0.05, 7), sampledRanking = rankRows(sampled); // unseen rows are never hot
    const sampledHot = hotSet(sampled, sampledRanking, 32, 10 ** 9);
    const [all] = hotInputCurve(sampled, sampledRanking, data, 32, [10 ** 9]);
    assert.equal(all.hotShare, classify(sampledHot).hot.length / data.rows);
    assert.ok(all.hotShare < 1);
  });
});

describe('fast tier', () => {
  for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
    it(`a hot mini-batch through the fast tier gives the same loss and updates as through the host tables (${optimizer})`, () => {
      const profile = profileAccesses(data, 0.5, 2);
      const hot = hotSet(profile, rankRows(profile), bytesPerRow(8, 1), 1 << 20);
      const split = classifyInputs(data, hot.slotOf, hot.rowsIn(0));
      const config = { name: optimizer, lr: 0.1, eps: 1e-10, initialAccumulator: 0.01 };
      const side = () => {
        const optimizer = new Optimizer(config);
        return { optimizer, ctx: policyContext(device, new Dlrm(kernels, arch, 5), optimizer, new DatasetSource(data, 64, false, 1, 1)) };
      };
      const a = side(), b = side();
      const fast = fastTier(b.ctx, hot, 0), home = homeTier(b.ctx), sync = new TierSync(kernels, hot, 0, fast, home, optimizer === 'adagrad');
      assert.equal(sync.loadFromHome(), hot.rowsIn(0));
      const { tables, rows } = hot.slotsOf(0), values = new Float32Array(hot.rowsIn(0) * 8), want = new Float32Array(values.length);
      fast.readRows(tables, Int32Array.from(rows, (_, s) => s), values, null);
      home.readRows(tables, rows, want, null);
      assert.deepEqual(values, want, 'after a sync the fast tier equals the host rows');
      const [hostBatch] = batchesOf(data, 64, split.hot.subarray(0, 64));
      const fastBatch = { ...hostBatch, sparse: hot.split(kernels, hostBatch.sparse)[0] };
      assert.equal(fastBatch.sparse.ids.length, hostBatch.sparse.ids.length, 'every lookup of a hot input is in the fast tier');
      const lossA = new Stepper(a.ctx.model, a.optimizer).on(hostBatch, homeTier(a.ctx));
      const lossB = new Stepper(b.ctx.model, b.optimizer).on(fastBatch, fast);
      assert.equal(lossB, lossA);
      sync.markPlacedUpdates(fastBatch.sparse);
      assert.ok(sync.storeToHome() > 0);
      a.ctx.home.weights.forEach((w, t) => assert.deepEqual(b.ctx.home.weights[t], w, `table ${t} after the update and sync back`));
      if (optimizer === 'adagrad') a.ctx.home.states!.forEach((s, t) => assert.deepEqual(b.ctx.home.states![t], s, `state ${t}`));
      a.ctx.model.denseParams().forEach((p, i) => assert.deepEqual(b.ctx.model.denseParams()[i].value, p.value));
    });
  }

  it('refuses a hot set that does not fit the device, with the sizes', () => {
    const profile = profileAccesses(data, 1, 1);
    const hot = hotSet(profile, rankRows(profile), 32, 32 * 1000);
    const rows = hot.rowsIn(0).toLocaleString('en-US');
    const ctx = { ...policyContext(device, new Dlrm(kernels, arch, 5), new Optimizer({ name: 'sgd', lr: 0.1, eps: 0, initialAccumulator: 0 }), new DatasetSource(data, 64, false, 1, 1)), device: Object.assign(Object.create(device), { memory: () => ({ totalBytes: 1000, freeBytes: 1000 }) }) };
    assert.throws(() => fastTier(ctx, hot, 0), (e: Error) => e instanceof FastTierError &&
      e.message === `the fast tier needs ${formatBytes(hot.rowsIn(0) * 32)} (${rows} rows x 32 bytes) but the device has 1000 B free; lower --hot-budget`);
  });
});

describe('FAE policy', () => {
  it('trains to the baseline AUC with both schedules, hot batches only from the fast tier', () => {
    const train = { ...data, rows: 20000, dense: data.dense.subarray(0, 20000 * 13), categorical: data.categorical.map((c) => c.subarray(0, 20000)), labels: data.labels.subarray(0, 20000) };
    const test = { ...data, rows: 4000, dense: data.dense.subarray(20000 * 13), categorical: data.categorical.map((c) => c.subarray(20000)), labels: data.labels.subarray(20000) };
    const run = (policyName: 'baseline' | 'adaptive' | 'cold-then-hot') => {
      const model = new Dlrm(kernels, arch, 9);
      const optimizer = new Optimizer({ name: 'sgd', lr: 0.1, eps: 0, initialAccumulator: 0 });
      const source = new DatasetSource(train, 32, true, 9, Infinity), ctx = policyContext(device, model, optimizer, source);
      if (policyName === 'baseline') {
        const stepper = new Stepper(model, optimizer), tier = homeTier(ctx);
        for (const b of source.batches(0)) stepper.on(b, tier);
        return { auc: evaluate(model, ctx.home, test, 1000).auc, hotShare: 0 };
      }
      const fae = new FaePolicy(ctx, source, { budgetBytes: 32 * 300, samplingRate: 0.2, quota: 'global', schedule: policyName, seed: 9 });
      let hotBatches = 0, batches = 0;
      for (const b of fae.schedule(source, 0, 0)) {
        batches++;
        if (b.hot) hotBatches++;
        assert.ok(Number.isFinite(fae.step(b).loss));
      }
      assert.equal(batches, fae.batchesPerEpoch());
      assert.equal(hotBatches, Math.ceil(fae.hotInputs.length / 32));
      fae.settle();
      return { auc: evaluate(model, ctx.home, test, 1000).auc, hotShare: Number(fae.report().hotInputShare) };
    };
    const base = run('baseline'), adaptive = run('adaptive'), coldThenHot = run('cold-then-hot');
    assert.ok(adaptive.hotShare > 0.2, `hot share ${adaptive.hotShare}`);
    console.log(`AUC baseline ${base.auc.toFixed(4)}, FAE adaptive ${adaptive.auc.toFixed(4)}, FAE cold-then-hot ${coldThenHot.auc.toFixed(4)}, hot share ${adaptive.hotShare.toFixed(3)}`);
    assert.ok(base.auc > 0.6, `baseline AUC ${base.auc}`);
    assert.ok(Math.abs(adaptive.auc - base.auc) < 0.01, `adaptive ${adaptive.auc} vs baseline ${base.auc}`);
    assert.ok(Number.isFinite(coldThenHot.auc));
  });
});
