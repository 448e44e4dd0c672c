/**
 * Embedding-bag gather and merged sparse SGD update, ns per lookup, on the Kaggle tables (33.8M rows x 16,
 * 2.01 GiB), 26 one-hot lookups per sample, batch 2048, uniform and Zipf(1.05, hot rows scattered) ids.
 * Native kernels (1 and 2 threads) against the TypeScript kernels in the same run.
 * Writes bench/out/embedding.json.   node --import tsx bench/embedding.ts [--batches 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { randomRows } from '../src/data/random.ts';
import { createKernels } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import { HostTables, tableConfigs } from '../src/embedding/tables.ts';
import { oneHotBatches, timeLookups } from './embedding-timing.ts';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '20' } } });
const count = Number(values.batches), batch = 2048, dim = 16;
const rows = presets.kaggle.tableRows;

const distributions = {
  uniform: randomRows(rows, 1, batch * count, 5).categorical,
  zipf: generateSynthetic({ rows: batch * count, tableRows: rows, denseFeatures: 1, zipf: 1.05, seed: 5 }).categorical,
};

const native = createKernels('native', 1);
const tables = new HostTables(native, tableConfigs(rows, dim), 1);
const typescript = createKernels('typescript');
const results: Record<string, unknown>[] = [];
console.log(`embedding bag, Kaggle tables (${(tables.bytes / 2 ** 30).toFixed(2)} GiB, dim ${dim}), batch ${batch} x 26 lookups`);
console.log('ids | engine | gather ns/lookup | update ns/lookup | gather speed-up vs TS | update speed-up vs TS');
for (const [name, categorical] of Object.entries(distributions)) {
  const batches = oneHotBatches(categorical, batch, count);
  const ts = timeLookups(typescript, tables.weights, batches, dim);
  for (const threads of [1, 2]) {
    native.setThreads(threads);
    timeLookups(native, tables.weights, batches, dim); // warm the touched pages
    const n = timeLookups(native, tables.weights, batches, dim);
    console.log(`${name} | native ${threads}T | ${n.gather.toFixed(1)} | ${n.update.toFixed(1)} | ${(ts.gather / n.gather).toFixed(2)} | ${(ts.update / n.update).toFixed(2)}`);
    results.push({ ids: name, engine: `native-${threads}t`, ...n, gatherSpeedup: ts.gather / n.gather, updateSpeedup: ts.update / n.update });
  }
  console.log(`${name} | typescript | ${ts.gather.toFixed(1)} | ${ts.update.toFixed(1)} | 1.00 | 1.00`);
  results.push({ ids: name, engine: 'typescript', ...ts });
}
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'embedding.json'), JSON.stringify({ date: new Date().toISOString(), batch, dim, results }, null, 2));
