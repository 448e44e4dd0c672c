// The policy registry: every policy is built by name through it, refuses what its requirements rule out, and
// the CLI's --policy choices are its names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DatasetSource, RandomSource } from '../src/data/sources.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { policyContext } from '../src/policies/context.ts';
import { createPolicy, PolicyError, policyEntry, type PolicyName, policyNames } from '../src/policies/registry.ts';
import { defaultStaleness } from '../src/policies/slipstream.ts';
import { helpText } from '../src/cli/options.ts';

const arch = { bottomMlp: [13, 8], topMlp: [8, 1], embeddingDim: 8, tableRows: [50, 20, 9], interaction: 'dot' as const };
const data = generateSynthetic({ rows: 640, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.2, seed: 1 });
const options = {
  seed: 1, staleness: defaultStaleness,
  fae: { budgetBytes: 4096, samplingRate: 1, quota: 'global' as const, schedule: 'adaptive' as const },
  hotline: { learnBatches: 2, learnSamplingRate: 1, relearnEvery: 0, pipeline: true },
};
const context = (random: boolean) => {
  const device = deviceFor('auto', 1), model = new Dlrm(device.kernels, arch, 1);
  const source = random ? new RandomSource(arch.tableRows, 13, 64, 10, 1) : new DatasetSource(data, 64, true, 1, Infinity);
  return policyContext(device, model, new Optimizer({ name: 'sgd', lr: 0.1, eps: 0, initialAccumulator: 0 }), source);
};

describe('policy registry', () => {
  it('builds every policy by its name, and each trains a mini-batch', () => {
    assert.deepEqual(policyNames, ['baseline', 'device-only', 'fae', 'hotline', 'slipstream', 'hotline+slipstream']);
    for (const name of policyNames) {
      const ctx = context(false), policy = createPolicy(name, ctx, options);
      assert.equal(policy.name, name);
      const [batch] = policy.schedule(ctx.source, 0, 0);
      assert.ok(Number.isFinite(policy.step(batch).loss as number), name);
    }
  });

  it('device-only (every row in the fast tier) trains as the baseline does, bit for bit, the tables written back at settle', () => {
    const run = (name: PolicyName) => {
      const ctx = context(false), policy = createPolicy(name, ctx, options);
      for (const b of policy.schedule(ctx.source, 0, 0)) policy.step(b);
      policy.settle();
      return ctx;
    };
    const base = run('baseline'), deviceOnly = run('device-only');
    assert.deepEqual(deviceOnly.home.weights, base.home.weights);
    assert.deepEqual(deviceOnly.model.denseParams().map((p) => p.value), base.model.denseParams().map((p) => p.value));
    assert.notDeepEqual(base.home.weights, context(false).home.weights);
  });

  it('refuses a policy that profiles rows in memory on generated batches, naming it', () => {
    for (const name of policyNames) {
      const build = () => createPolicy(name, context(true), options);
      if (policyEntry(name).needsRowsInMemory) assert.throws(build, (e: Error) => e instanceof PolicyError && e.message.startsWith(`--policy ${name} profiles a dataset`));
      else assert.doesNotThrow(build);
    }
  });

  it("the CLI's --policy help lists every registered policy with its summary", () => {
    const help = helpText();
    for (const name of policyNames) assert.ok(help.includes(`${name} (${policyEntry(name).summary})`), name);
  });
});
