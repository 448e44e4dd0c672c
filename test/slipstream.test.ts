// Slipstream: the threshold search, the stale-input classifier, and skipping on FAE and on Hotline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { createKernels } from '../src/kernels/index.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { bytesPerHotRow } from '../src/popularity/hot-set.ts';
import { isStaleInput, rowChanges, searchThreshold } from '../src/popularity/staleness.ts';
import { FaePolicy } from '../src/policies/fae.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { defaultStaleness } from '../src/policies/staleness-tracker.ts';
import { DatasetSource } from '../src/train/sources.ts';
import { Rng } from '../src/util/rng.ts';

const search = { targetDrop: 0.3, band: 0.05, maxThreshold: 0.1, maxSteps: 25, alpha: Infinity };

describe('staleness', () => {
  it('bisection finds a threshold inside the band', () => {
    const change = Float32Array.from({ length: 100 }, (_, i) => i / 1000); // 0 .. 0.099
    const samples = Array.from({ length: 100 }, (_, i) => Int32Array.of(i));
    const r = searchThreshold(samples, change, search);
    assert.ok(r.inBand, JSON.stringify(r));
    assert.ok(Math.abs(r.dropShare - 0.3) <= 0.05);
    assert.ok(r.threshold >= 0.025 && r.threshold <= 0.035, `T ${r.threshold}`);
    assert.ok(r.steps >= 1 && r.steps < 25);
  });

  it('reports an unreachable band, with the closest threshold and every step used', () => {
    const change = new Float32Array(50).fill(0.05); // the share jumps from 0 to 1 at T = 0.05
    const samples = Array.from({ length: 50 }, (_, i) => Int32Array.of(i));
    const r = searchThreshold(samples, change, { ...search, targetDrop: 0.5 });
    assert.equal(r.inBand, false);
    assert.equal(r.steps, 25);
    assert.ok(r.dropShare === 0 || r.dropShare === 1);
  });

  it('row changes (absolute and relative) and the classifier agree with a brute-force check', () => {
    const rng = new Rng(30);
    const dim = 4, rows = 40;
    const before = Float32Array.from({ length: rows * dim }, () => rng.next() - 0.5);
    const after = before.map((v) => v + (rng.next() < 0.5 ? 0 : (rng.next() - 0.5) * 0.02));
    for (const relative of [false, true]) {
      const change = rowChanges(before, after, dim, relative);
      for (let r = 0; r < rows; r++) {
        const deltas = Array.from({ length: dim }, (_, j) => Math.abs(after[r * dim + j] - before[r * dim + j]));
        const size = Math.max(...Array.from({ length: dim }, (_, j) => Math.abs(before[r * dim + j])));
        const want = relative ? Math.max(...deltas) / size : Math.max(...deltas);
        assert.ok(Math.abs(change[r] - want) <= 1e-6 * Math.max(1, want));
      }
      for (let trial = 0; trial < 200; trial++) {
        const slots = Int32Array.from({ length: 5 }, () => rng.int(rows));
        const threshold = rng.next() * 0.01, alpha = 1 + rng.int(5);
        const stale = Array.from(slots).filter((s) => change[s] < threshold).length;
        assert.equal(isStaleInput(slots, change, threshold, alpha), stale >= alpha);
      }
    }
  });
});

const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [300, 40, 800, 9], interaction: 'dot' as const };

function trainSlipstream(data: Dataset) {
  const kernels = createKernels('auto', 1);
  const model = new Dlrm(kernels, arch, 3);
  const optimizer = new Optimizer(kernels, { name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
  const source = new DatasetSource(data, 32, true, 3, Infinity);
  const policy = new FaePolicy(model, optimizer, kernels, source, {
    budgetBytes: 200 * bytesPerHotRow(8, 0), samplingRate: 0.3, quota: 'global', schedule: 'adaptive', seed: 3,
    staleness: { ...defaultStaleness, startHotBatch: 20, windowShare: 0.1, targetDrop: 0.3, band: 0.1, minSamples: 300 },
  });
  for (const b of policy.schedule(source, 0, 0)) policy.step(b);
  policy.settle();
  return { model, policy };
}

describe('slipstream on FAE', () => {
  it('skips stale hot inputs, and a skipped input changes no parameter', () => {
    const data = generateSynthetic({ rows: 12000, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.3, seed: 5 });
    const first = trainSlipstream(data);
    const report = first.policy.report();
    const [decision] = report.stalenessDecisions as { threshold: number; dropShare: number }[];
    assert.ok(decision && decision.threshold > 0, JSON.stringify(report.stalenessDecisions));
    const skipped = first.policy.skipped;
    assert.ok(skipped.length > 100, `skipped ${skipped.length}`);
    // The same run with the skipped inputs' labels and dense features changed ends with the same parameters.
    const changed = { ...data, labels: data.labels.slice(), dense: data.dense.slice() };
    for (const row of skipped) {
      changed.labels[row] = 1 - changed.labels[row];
      changed.dense.fill(7, row * 13, (row + 1) * 13);
    }
    const second = trainSlipstream(changed);
    assert.deepEqual(second.policy.skipped, skipped);
    first.model.denseParams().forEach((p, i) => assert.deepEqual(second.model.denseParams()[i].value, p.value, p.name));
    first.model.tables.weights.forEach((w, t) => assert.deepEqual(second.model.tables.weights[t], w, `table ${t}`));
  });
});

describe('slipstream on Hotline', () => {
  it('skips stale popular inputs after the decision and trains the rest', () => {
    const data = generateSynthetic({ rows: 12000, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.3, seed: 6 });
    const kernels = createKernels('auto', 1);
    const model = new Dlrm(kernels, arch, 3);
    const optimizer = new Optimizer(kernels, { name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
    const policy = new HotlinePolicy(model, optimizer, kernels, {
      budgetBytes: 300 * bytesPerHotRow(8, 0), learnBatches: 10, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 3,
      staleness: { ...defaultStaleness, startHotBatch: 20, windowShare: 0.1, targetDrop: 0.3, band: 0.1, minSamples: 300 },
    });
    const source = new DatasetSource(data, 64, true, 3, Infinity);
    for (const b of policy.schedule(source, 0, 0)) assert.ok(Number.isFinite(policy.step(b)));
    const report = policy.report();
    assert.ok(Number(report.skippedInputs) > 0, JSON.stringify(report));
    assert.ok(Number(report.skippedShare) < 0.6);
  });
});
