/**
 * The ssd tier's cost per mini-batch read in step (no read-ahead: its whole I/O cost shows), against the memory tier on the same rows: pool and
 * row-wise Adagrad update of generated skewed batches at the Kaggle cardinalities (26 tables, 33.8M rows x 16 on
 * disk). Interleaved repeats; prints ms per batch (median, range) and the ratio; writes bench/out/ssd-tier.json.
 *
 *   node --import tsx bench/ssd-tier.ts [--dir /tmp] [--batch 2048] [--batches 20] [--repeats 3] [--engine uring|threads]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { batchesOf } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { createKernels } from '../src/device/registry.ts';
import { SsdTier } from '../src/embedding/ssd-tier.ts';
import { HostTables, tableConfigs } from '../src/embedding/tables.ts';
import { type EmbeddingTier, MemoryTier } from '../src/embedding/tier.ts';
import { type IoEngine, ioEngines } from '../src/io/block-file.ts';
import { presets } from '../src/model/arch.ts';

const { values } = parseArgs({
  options: {
    dir: { type: 'string', default: '/tmp' }, batch: { type: 'string', default: '2048' }, batches: { type: 'string', default: '20' },
    repeats: { type: 'string', default: '3' }, engine: { type: 'string' },
  },
});
const batchSize = Number(values.batch), count = Number(values.batches), repeats = Number(values.repeats);
const engine = (values.engine ?? ioEngines().at(-1)) as IoEngine, kernels = createKernels('auto'), dim = 16;
const { tableRows } = presets.kaggle, tables = tableConfigs(tableRows, dim), state = { initial: 0.01 };
const dir = mkdtempSync(join(values.dir!, 'hotline-ssd-tier-'));
const t0 = Date.now();
const ssd = SsdTier.create(dir, kernels, tables, 1, state, { engine, queueDepth: 64 });
const home = new HostTables(kernels, tables, 1), memory = new MemoryTier('host', kernels, home.weights, home.rowWiseStates(state.initial), dim);
console.log(`${tableRows.reduce((a, n) => a + n, 0).toLocaleString('en-US')} rows x ${dim} on ${dir} (${engine}), made in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const data = generateSynthetic({ rows: batchSize * count, tableRows, denseFeatures: 13, zipf: 1.1, seed: 3 });
const batches = [...batchesOf(data, batchSize, null)];
const layout = { bags: batchSize, dim, stride: (tables.length + 1) * dim, slot0: dim };
const out = new Float32Array(batchSize * layout.stride), grad = new Float32Array(out.length).fill(1e-3);
const rule = { optimizer: 'rowwise-adagrad' as const, lr: 0.01, eps: 1e-8 };

const timeOf = (tier: EmbeddingTier) => {
  const t = process.hrtime.bigint();
  for (const b of batches) {
    tier.pool(b.sparse, layout, out);
    tier.update(b.sparse, layout, () => grad, rule);
  }
  return Number(process.hrtime.bigint() - t) / 1e6 / batches.length;
};
const runs: Record<'memory' | 'ssd', number[]> = { memory: [], ssd: [] };
for (let r = 0; r < repeats; r++) {
  runs.memory.push(timeOf(memory));
  runs.ssd.push(timeOf(ssd));
}
ssd.release();
rmSync(dir, { recursive: true });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log('\ntier | ms per batch of pool + row-wise Adagrad update, median (range) | x memory');
for (const k of ['memory', 'ssd'] as const) {
  console.log(`${k} | ${median(runs[k]).toFixed(2)} (${Math.min(...runs[k]).toFixed(2)}-${Math.max(...runs[k]).toFixed(2)}) | ${(median(runs[k]) / median(runs.memory)).toFixed(1)}`);
}
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'ssd-tier.json'), JSON.stringify({ date: new Date().toISOString(), engine, batchSize, batches: count, repeats, runs }, null, 2));
