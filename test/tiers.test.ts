// Tiers and placement: a three-tier placement (device inline, a host cache on a lane of its own, the home tables on
// the host lane) trains bit-identical to the baseline; the planner fills tiers fastest first within their budgets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchesOf } from '../src/data/dataset.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { type BackendName, deviceFor } from '../src/device/registry.ts';
import { planPlacement } from '../src/embedding/planner.ts';
import { compactTier, MemoryTier } from '../src/embedding/tier.ts';
import { TierSync } from '../src/embedding/tier-sync.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { Pipeline } from '../src/pipeline/pipeline.ts';
import { policyContext } from '../src/policies/context.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { homeTier } from '../src/policies/tiers.ts';
import { profileAccesses, rankRows } from '../src/popularity/profiler.ts';

const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [400, 60, 2000, 9, 150], interaction: 'dot' as const };
const data = generateSynthetic({ rows: 64 * 40, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.2, seed: 7 });
const budgets = [{ bytesPerRow: 36, budgetBytes: 36 * 80 }, { bytesPerRow: 36, budgetBytes: 36 * 300 }];

function setup(backend: BackendName, optimizer: OptimizerName) {
  const device = deviceFor(backend, 2), model = new Dlrm(device.kernels, arch, 3);
  const opt = new Optimizer({ name: optimizer, lr: 0.05, eps: 1e-10, initialAccumulator: 0.01 });
  return { device, model, opt, ctx: policyContext(device, model, opt, new DatasetSource(data, 64, true, 3, Infinity)) };
}

describe('three tiers', () => {
  it('the planner fills the tiers fastest first by access count, each within its budget', () => {
    const profile = profileAccesses(data, 1, 1), ranking = rankRows(profile), p = planPlacement(profile, ranking, budgets);
    assert.equal(p.tiers, 3);
    assert.deepEqual([p.rowsIn(0), p.rowsIn(1)], [80, 300]);
    for (let s = 0; s < p.tableOfSlot.length; s++) {
      assert.equal(p.tableOfSlot[s], ranking.tables[s], 'slots follow the ranking');
      assert.equal(p.rowOfSlot[s], ranking.rows[s]);
      assert.equal(p.tierOf(p.tableOfSlot[s], p.rowOfSlot[s]), s < 80 ? 0 : 1);
    }
    assert.equal(p.tierOf(2, ranking.rows.length < 2000 ? 1999 : ranking.rows.at(-1)!), 2, 'the rest stays home');
  });

  it('a tier that fills by id order takes unseen rows after the ranked ones: id 0 of every table, then id 1, ...', () => {
    const profile = profileAccesses(data, 0.02, 1), ranking = rankRows(profile), seen = ranking.rows.length;
    const p = planPlacement(profile, ranking, [budgets[0], { ...budgets[1], budgetBytes: 36 * (seen - 80 + 30) }]);
    const p2 = planPlacement(profile, ranking, [budgets[0], { ...budgets[1], budgetBytes: 36 * (seen - 80 + 30), fillByIdOrder: true }]);
    assert.ok(seen > 80 && p.rowsIn(1) === seen - 80, 'without the fill only the sampled rows are placed');
    assert.equal(p2.rowsIn(1), seen - 80 + 30);
    const { tables, rows } = p2.slotsOf(1), fill = [...tables.subarray(seen - 80)].map((t, i) => [t, rows[seen - 80 + i]]);
    const want: number[][] = [];
    for (let r = 0; want.length < 30; r++) {
      for (let t = 0; t < arch.tableRows.length && want.length < 30; t++) if (r < arch.tableRows[t] && p.slotOf[t][r] < 0) want.push([t, r]);
    }
    assert.deepEqual(fill, want, 'unseen rows in id order, round-robin over the tables');
  });

  for (const backend of ['native', 'typescript'] as BackendName[]) {
    for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
      it(`device + a laned host cache + the laned home tables give the baseline's parameters exactly (${backend}, ${optimizer})`, () => {
        const base = setup(backend, optimizer), stepper = new Stepper(base.model, base.opt), inline = homeTier(base.ctx);
        const batches = [...batchesOf(data, 64, null)];
        for (const b of batches) stepper.on(b, inline);

        const run = setup(backend, optimizer), { device, ctx } = run, kernels = device.kernels, state = run.opt.rowState;
        const profile = profileAccesses(data, 0.3, 2), placement = planPlacement(profile, rankRows(profile), budgets);
        const tiers = [
          compactTier('device', kernels, arch.tableRows.length, placement.rowsIn(0), 8, state),
          compactTier('host', kernels, arch.tableRows.length, placement.rowsIn(1), 8, state, device.lane('host cache')),
          homeTier(ctx, device.lane('host')),
        ];
        assert.ok(tiers[2] instanceof MemoryTier && tiers[1].lane !== tiers[2].lane, 'the two laned tiers queue on lanes of their own');
        const syncs = [0, 1].map((k) => new TierSync(kernels, placement, k, tiers[k], tiers[2], state !== null));
        for (const s of syncs) s.loadFromHome();
        const pipeline = new Pipeline(kernels, run.model, run.opt, device.lane('host'), true);
        pipeline.place(placement, tiers);
        batches.forEach((b, i) => {
          const split = pipeline.takePrefetched(b) ?? pipeline.split(b), next = batches[i + 1];
          pipeline.step(split, next ? () => pipeline.split(next) : null);
          syncs.forEach((s, k) => s.markPlacedUpdates(split.ids[k]));
        });
        pipeline.drain();
        for (const s of syncs) s.storeToHome();
        const { fastInputs, inputs, repooledBags } = pipeline.stats;
        assert.ok(fastInputs > 0 && fastInputs < inputs, `inputs all in the device tier: ${fastInputs} of ${inputs}`);
        assert.ok(repooledBags > 0, 'consecutive batches share rows, so early pools are refetched');
        run.model.denseParams().forEach((p, i) => assert.deepEqual(p.value, base.model.denseParams()[i].value, p.name));
        run.ctx.home.weights.forEach((w, t) => assert.deepEqual(w, base.ctx.home.weights[t], `table ${t}`));
        if (state) run.ctx.home.states!.forEach((s, t) => assert.deepEqual(s, base.ctx.home.states![t], `state ${t}`));
      });
    }
  }
});
