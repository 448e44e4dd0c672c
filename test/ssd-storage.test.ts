// Every policy trains on tables on the SSD (with and without host memory in front, placed or as an LRU cache, read
// ahead or not) to the bits it trains to with the tables in memory: the losses, the MLPs and every table row.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DatasetSource } from '../src/data/sources.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import type { StorageSpec } from '../src/embedding/storage.ts';
import type { TableStore } from '../src/embedding/table-store.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { policyContext } from '../src/policies/context.ts';
import { createPolicy, type PolicyName } from '../src/policies/registry.ts';
import { defaultStaleness } from '../src/policies/slipstream.ts';
import { loadAddon } from '../src/kernels/native.ts';

const skip = loadAddon() instanceof Error ? 'the native addon is not built (block I/O is native)' : false;
const arch = { bottomMlp: [13, 16, 8], topMlp: [16, 1], embeddingDim: 8, tableRows: [3000, 700, 40, 5000], interaction: 'dot' as const };
const data = generateSynthetic({ rows: 64 * 60, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.1, seed: 5, scatter: false });
const rowBytes = 4 * (arch.embeddingDim + 1);

/** Trains a policy one epoch on the storage; returns its losses, MLPs and tables (read through the store's tier). */
function train(policy: PolicyName, storage: StorageSpec) {
  const device = deviceFor('auto', 1), model = new Dlrm(device.kernels, arch, 3);
  const optimizer = new Optimizer({ name: 'adagrad', lr: 0.05, eps: 1e-8, initialAccumulator: 0 });
  const source = new DatasetSource(data, 64, true, 3, Infinity);
  const ctx = policyContext(device, model, optimizer, source, null, storage);
  const p = createPolicy(policy, ctx, {
    seed: 3, staleness: { ...defaultStaleness, startHotBatch: 5, windowShare: 0.1, reevaluateEvery: 15 },
    fae: { budgetBytes: 150 * rowBytes, samplingRate: 0.3, quota: 'global', schedule: 'adaptive' },
    hotline: { learnBatches: 6, learnSamplingRate: 1, relearnEvery: 25, pipeline: true },
  });
  const losses: number[] = [];
  for (const batch of p.schedule(source, 0, 0)) losses.push(p.step(batch).loss as number);
  p.settle();
  const tables = readTables(ctx.home);
  ctx.home.release();
  return { losses, dense: model.denseParams().map((d) => d.value), tables, report: p.report() };
}

function readTables(home: TableStore): Float32Array[] {
  const tier = home.tier({ initial: 0 }, null);
  return arch.tableRows.map((n, t) => {
    const into = new Float32Array(n * arch.embeddingDim);
    tier.readRows(new Int32Array(n).fill(t), Int32Array.from({ length: n }, (_, r) => r), into, null);
    return into;
  });
}

const ssd = (o: { hostBudget?: number; hostCache?: 'placed' | 'lru'; readAhead?: number } = {}): StorageSpec => ({
  kind: 'ssd', dir: mkdtempSync(join(tmpdir(), 'hotline-ssd-store-')), readAhead: o.readAhead ?? 2, hostBudget: o.hostBudget ?? 0,
  hostCache: o.hostCache ?? 'placed', io: { engine: 'threads', queueDepth: 8 },
});

describe('tables on the ssd', { skip }, () => {
  const policies: PolicyName[] = ['baseline', 'fae', 'hotline', 'slipstream', 'hotline+slipstream'];
  for (const policy of policies) {
    it(`${policy} trains to the same bits as with the tables in memory: ssd only, host memory in front, an lru cache`, () => {
      const memory = train(policy, { kind: 'memory' });
      const variants: [string, StorageSpec][] = [
        ['ssd, no read-ahead', ssd({ readAhead: 0 })],
        ['ssd with host memory in front', ssd({ hostBudget: 900 * rowBytes })],
        ['ssd behind an lru cache', ssd({ hostBudget: 1200 * rowBytes, hostCache: 'lru' })],
      ];
      for (const [what, storage] of variants) {
        const run = train(policy, storage);
        assert.deepEqual(run.losses, memory.losses, `${what}: losses`);
        assert.deepEqual(run.dense, memory.dense, `${what}: MLPs`);
        run.tables.forEach((t, i) => assert.ok(Buffer.from(t.buffer).equals(Buffer.from(memory.tables[i].buffer)), `${what}: table ${i}`));
        if (what.includes('host memory') && policy !== 'baseline') assert.ok(Number(run.report.hostRows) > 0, `${what}: rows placed in host memory`);
      }
      if (policy.includes('slipstream')) assert.ok(Number(memory.report.skippedInputs) > 0, 'slipstream skipped inputs');
    });
  }
});
