// Hotline: the order-preserving claim (same parameters as the baseline), hazards, the learner's recall.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchesOf, type Dataset } from '../src/data/dataset.ts';
import { generateSynthetic, trueTopRows } from '../src/data/synthetic.ts';
import { type BackendName, deviceFor } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { bytesPerRow, planPlacement } from '../src/embedding/planner.ts';
import type { HostTables } from '../src/embedding/tables.ts';
import { AccessLearner } from '../src/popularity/learner.ts';
import { rankRows } from '../src/popularity/profiler.ts';
import { BaselinePolicy } from '../src/policies/baseline.ts';
import { policyContext } from '../src/policies/context.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import type { Policy, PolicyContext } from '../src/policies/policy.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { relativeError } from './helpers.ts';

const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [400, 60, 2000, 9, 150], interaction: 'dot' as const };
const data: Dataset = generateSynthetic({ rows: 64 * 60, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.3, seed: 4 });

function train(backend: BackendName, make: (ctx: PolicyContext) => Policy, optimizer: OptimizerName, steps: number) {
  const device = deviceFor(backend, 2), { kernels } = device;
  const model = new Dlrm(kernels, arch, 21);
  const opt = new Optimizer({ name: optimizer, lr: 0.05, eps: 1e-10, initialAccumulator: 0.01 });
  const source = new DatasetSource(data, 64, true, 21, steps);
  const ctx = policyContext(device, model, opt, source), policy = make(ctx);
  for (const batch of policy.schedule(source, 0, 0)) policy.step(batch);
  policy.settle();
  return { model, home: ctx.home, policy };
}

function worstParamError(a: { model: Dlrm; home: HostTables }, b: { model: Dlrm; home: HostTables }): number {
  let worst = 0;
  a.model.denseParams().forEach((p, i) => (worst = Math.max(worst, relativeError(b.model.denseParams()[i].value, p.value))));
  a.home.weights.forEach((w, t) => (worst = Math.max(worst, relativeError(b.home.weights[t], w))));
  return worst;
}

describe('hotline policy', () => {
  for (const backend of ['native', 'typescript'] as BackendName[]) {
    for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
      for (const pipeline of [true, false]) {
        it(`50 steps give the baseline's parameters exactly (${backend}, ${optimizer}, pipeline ${pipeline})`, () => {
          const base = train(backend, (ctx) => new BaselinePolicy(ctx), optimizer, 50);
          const hot = train(backend, (ctx) => new HotlinePolicy(ctx, {
            budgetBytes: 120 * bytesPerRow(8, 1), learnBatches: 10, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline, seed: 1,
          }), optimizer, 50);
          const report = hot.policy.report();
          assert.ok(Number(report.popularInputShare) > 0.1 && Number(report.popularInputShare) < 0.95, `popular share ${report.popularInputShare}`);
          const err = worstParamError(base, hot);
          assert.ok(err < 1e-5, `worst relative parameter error ${err}`);
          assert.equal(err, 0, 'one-hot data: the same float operations in the same order, so bit-identical');
          if (pipeline) assert.ok(Number(report.refetchedBags) > 0, 'consecutive batches share rows, so early gathers must be refetched');
          else assert.equal(report.refetchedBags, 0);
        });
      }
    }
  }

  it('re-learning migrates rows between tiers and still matches the baseline', () => {
    const base = train('native', (ctx) => new BaselinePolicy(ctx), 'sgd', 60);
    const hot = train('native', (ctx) => new HotlinePolicy(ctx, {
      budgetBytes: 100 * bytesPerRow(8, 0), learnBatches: 5, learnSamplingRate: 1, relearnEvery: 15, hysteresis: 1.5, pipeline: true, seed: 1,
    }), 'sgd', 60);
    assert.ok(Number(hot.policy.report().relearns) >= 3);
    assert.equal(worstParamError(base, hot), 0);
  });

  it('a planted read-after-write conflict is refetched: the gathered rows equal a fresh gather', () => {
    const device = deviceFor('native', 1), { kernels } = device;
    const engine = kernels.lane('host');
    const table = new Float32Array(10 * 4).map((_, i) => i), out = new Float32Array(2 * 4), fresh = new Float32Array(2 * 4);
    const bags = { indices: [Int32Array.from([3, 7])], offsets: [Int32Array.from([0, 1, 2])] };
    const layout = { bags: 2, dim: 4, stride: 4, slot0: 0 };
    engine.wait(engine.gather([table], bags, layout, out)); // gathered early ...
    const grad = new Float32Array(4).fill(1);
    engine.wait(engine.update([table], { indices: [Int32Array.from([7])], offsets: [Int32Array.from([0, 1])] }, { bags: 1, dim: 4, stride: 4, slot0: 0 }, grad, { optimizer: 'sgd', lr: 0.5, eps: 0, states: null })); // ... then row 7 changes
    assert.notDeepEqual(out.subarray(4), table.subarray(28, 32), 'the early read is stale');
    const refetch = engine.wait(engine.refetch([table], bags, layout, out, [Int32Array.from([7])]));
    assert.equal(refetch.count, 1, 'only the bag that read row 7');
    engine.wait(engine.gather([table], bags, layout, fresh));
    assert.deepEqual(out, fresh);
  });
});

describe('run-time access learner', () => {
  it('finds the true top rows of a Zipf set at the budget (recall >= 0.95)', () => {
    const tableRows = [50000, 20000, 5000, 100000];
    const spec = { rows: 200000, tableRows, denseFeatures: 13, zipf: 1.2, seed: 8 };
    const zipfData = generateSynthetic(spec);
    const learner = new AccessLearner(tableRows, 1, 3);
    let seen = 0;
    for (const batch of batchesOf(zipfData, 1024, null, 100)) {
      learner.observe(batch);
      seen += batch.size;
    }
    assert.equal(learner.observedInputs, seen);
    const budgetRows = 500; // deeper budgets cut where neighbouring rows differ by less than the counts' noise (2000: 0.91)
    const profile = learner.profile();
    const hot = planPlacement(profile, rankRows(profile), [{ bytesPerRow: 64, budgetBytes: budgetRows * 64 }]);
    const truth = trueTopRows(spec, budgetRows);
    let found = 0;
    for (const [t, row] of truth) if (hot.slotOf[t][row] >= 0) found++;
    const recall = found / truth.length;
    assert.ok(recall >= 0.95, `recall ${recall}`);
  });
});
