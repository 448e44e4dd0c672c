// Slipstream: the threshold search, the stale-input classifier, and skipping on FAE and on Hotline.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Dataset } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { bytesPerRow as bytesPerHotRow } from '../src/embedding/planner.ts';
import { HostChangeMeter, isStaleInput, rowChanges, searchThreshold } from '../src/popularity/staleness.ts';
import { FaePolicy } from '../src/policies/fae.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { policyContext } from '../src/policies/context.ts';
import { defaultStaleness, Slipstream } from '../src/policies/slipstream.ts';
import type { TensorArray } from '../src/util/tensors.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { Rng } from '../src/util/rng.ts';

const search = { targetDrop: 0.3, band: 0.05, maxThreshold: 0.1, maxSteps: 25, alpha: Infinity, groups: 1 };

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

  it("TBSM's rule: at least alpha stale lookups in each table's sequence, brute force", () => {
    const rng = new Rng(31), rows = 30, change = Float32Array.from({ length: rows }, () => rng.next() * 0.01);
    for (let trial = 0; trial < 300; trial++) {
      const events = 1 + rng.int(6), slots = Int32Array.from({ length: 3 * events }, () => rng.int(rows));
      const threshold = rng.next() * 0.01, alpha = 1 + rng.int(events + 1);
      const perSequence = [0, 1, 2].map((t) => Array.from(slots.subarray(t * events, (t + 1) * events)).filter((s) => change[s] < threshold).length);
      assert.equal(isStaleInput(slots, change, threshold, alpha, 3), perSequence.every((n) => n >= Math.min(alpha, events)), `trial ${trial}`);
    }
  });
});

const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [300, 40, 800, 9], interaction: 'dot' as const };

function trainSlipstream(data: Dataset) {
  const device = deviceFor('auto', 1), { kernels } = device;
  const model = new Dlrm(kernels, arch, 3);
  const optimizer = new Optimizer({ name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
  const source = new DatasetSource(data, 32, true, 3, Infinity), ctx = policyContext(device, model, optimizer, source);
  const policy = new FaePolicy(ctx, source, {
    budgetBytes: 200 * bytesPerHotRow(8, 0), samplingRate: 0.3, quota: 'global', schedule: 'adaptive', seed: 3,
    staleness: { ...defaultStaleness, startHotBatch: 20, windowShare: 0.1, targetDrop: 0.3, band: 0.1, minSamples: 300 },
  });
  for (const b of policy.schedule(source, 0, 0)) policy.step(b);
  policy.settle();
  return { model, home: ctx.home, policy };
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
    first.home.weights.forEach((w, t) => assert.deepEqual(second.home.weights[t], w, `table ${t}`));
  });
});

describe('slipstream on Hotline', () => {
  it('skips stale popular inputs after the decision and trains the rest', () => {
    const data = generateSynthetic({ rows: 12000, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.3, seed: 6 });
    const device = deviceFor('auto', 1), { kernels } = device;
    const model = new Dlrm(kernels, arch, 3);
    const optimizer = new Optimizer({ name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
    const source = new DatasetSource(data, 64, true, 3, Infinity);
    const policy = new HotlinePolicy(policyContext(device, model, optimizer, source), {
      budgetBytes: 300 * bytesPerHotRow(8, 0), learnBatches: 10, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 3,
      staleness: { ...defaultStaleness, startHotBatch: 20, windowShare: 0.1, targetDrop: 0.3, band: 0.1, minSamples: 300 },
    });
    for (const b of policy.schedule(source, 0, 0)) assert.ok(Number.isFinite(policy.step(b).loss));
    const report = policy.report();
    assert.ok(Number(report.skippedInputs) > 0, JSON.stringify(report));
    assert.ok(Number(report.skippedShare) < 0.6);
  });
});

describe('slipstream around any policy\'s hot steps', () => {
  const dim = 2, slots = 50, options = { ...defaultStaleness, startHotBatch: 3, windowShare: 0.1, minSamples: 20, sampleRate: 0.01, targetDrop: 0.5, band: 0.2 };
  /** A fast tier whose slot s moves by s * 1e-4 a step: low slots go stale first. */
  const drive = (slipstream: Slipstream, tier: Float32Array, from: number, to: number, inputs: (k: number) => Int32Array[]) => {
    for (let k = from; k < to; k++) {
      slipstream.beforeHotStep(k);
      for (let s = 0; s < slots; s++) for (let j = 0; j < dim; j++) tier[s * dim + j] += s * 1e-4;
      for (const input of inputs(k)) if (slipstream.sampling) slipstream.observe(input);
      const d = slipstream.afterHotStep(k);
      if (d) return { k, d };
    }
    return null;
  };
  const inputsOf = (k: number) => Array.from({ length: 10 }, (_, i) => Int32Array.of((k * 10 + i) % slots, (k * 7 + i) % slots));

  it('samples only the window\'s inputs, max(minSamples, rate x hot inputs), and decides when the window ends', () => {
    const tier = new Float32Array(slots * dim), meter = new HostChangeMeter(() => tier.slice(), dim);
    const slipstream = new Slipstream(options, () => meter, 1);
    slipstream.startEpoch(100, 5000); // window: 10 hot steps; sample: max(20, 0.01 x 5000) = 50
    const decided = drive(slipstream, tier, 0, 100, inputsOf)!;
    assert.equal(decided.k, 3 + 10, 'the second snapshot comes windowShare of the hot steps after the first');
    assert.equal(decided.d.samples, 50);
    assert.ok(decided.d.threshold > 0, JSON.stringify(decided.d));
    // Skips follow the change: the slowest slots are stale, the fastest are not.
    assert.equal(slipstream.skips(Int32Array.of(0, 1)), true);
    assert.equal(slipstream.skips(Int32Array.of(49, 48)), false);
  });

  it("the random control skips the decision's share of hot inputs whatever their rows, after the same decision", () => {
    const decide = (control: 'stale' | 'random') => {
      const tier = new Float32Array(slots * dim), meter = new HostChangeMeter(() => tier.slice(), dim);
      const slipstream = new Slipstream({ ...options, control }, () => meter, 1);
      slipstream.startEpoch(100, 5000);
      return { slipstream, d: drive(slipstream, tier, 0, 100, inputsOf)!.d };
    };
    const stale = decide('stale'), random = decide('random');
    assert.deepEqual(random.d, stale.d, 'the decision itself is the same');
    const fast = Int32Array.of(49, 48), slow = Int32Array.of(0, 1), n = 4000;
    const skippedOf = (input: Int32Array) => Array.from({ length: n }, () => random.slipstream.skips(input)).filter(Boolean).length / n;
    for (const input of [fast, slow]) assert.ok(Math.abs(skippedOf(input) - random.d.dropShare) < 0.03, `${skippedOf(input)} against ${random.d.dropShare}`);
    assert.equal(stale.slipstream.skips(fast), false);
  });

  it('resumes its window, sample and decision exactly from its saved state', () => {
    const run = (cut: number | null) => {
      const tier = new Float32Array(slots * dim), meter = new HostChangeMeter(() => tier.slice(), dim);
      let slipstream = new Slipstream(options, () => meter, 1);
      slipstream.startEpoch(100, 5000);
      if (cut !== null) {
        assert.equal(drive(slipstream, tier, 0, cut, inputsOf), null);
        const tensors = new Map<string, TensorArray>(), json = slipstream.saveState(tensors, 's.');
        slipstream = new Slipstream(options, () => meter, 1);
        slipstream.restoreState(structuredClone(json), { has: (n) => tensors.has(n), read: (n) => tensors.get(n)! }, 's.');
      }
      return drive(slipstream, tier, cut ?? 0, 100, inputsOf);
    };
    assert.deepEqual(run(8), run(null));
  });
});
