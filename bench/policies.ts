/**
 * Baseline, FAE and Hotline in one run on a generated Kaggle-cardinality set (26 tables, 33.8M rows x 16,
 * 2.01 GiB), batch 1024 and 2048, same seed and data order: samples/s, test AUC, the time split, and for
 * Hotline the popular-input share and how much of the gather engine's time the compute hid. Saves
 * Hotline's pipeline timeline plot. Writes bench/out/policies.json and bench/out/timeline-b*.{svg,png}.
 *
 *   node --import tsx bench/policies.ts [--rows 1000000] [--threads 1] [--budget 256]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import { writeChart } from '../src/report/plot.ts';
import { timelineChart } from '../src/report/timeline.ts';
import { type BenchPolicy, trainPolicy } from './train-policy.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' }, threads: { type: 'string', default: '1' }, budget: { type: 'string', default: '256' },
    zipf: { type: 'string', default: '1.1' },
  },
});
const rows = Number(values.rows), threads = Number(values.threads), budgetBytes = Number(values.budget) * 2 ** 20;
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
const all = generateSynthetic({ rows, tableRows: presets.kaggle.tableRows, denseFeatures: 13, zipf: Number(values.zipf), seed: 11 });
const testRows = Math.floor(rows / 10);
const train = sliceRows(all, 0, rows - testRows), test = sliceRows(all, rows - testRows, rows);
const device = deviceFor('auto', threads), { kernels } = device;
console.log(`${rows.toLocaleString('en-US')} generated rows (Kaggle cardinalities, zipf ${values.zipf}), 1 epoch, SGD lr 0.1, budget ${values.budget} MiB, ${threads} thread(s), ${kernels.describe()}`);
console.log('batch | policy | samples/s | speed-up | test AUC (vs baseline) | embedding s | sync s | dense s | hot/popular inputs | gather hidden');
const runs: Record<string, unknown>[] = [];
for (const batchSize of [1024, 2048]) {
  let base = { rate: 0, auc: 0 };
  for (const name of ['baseline', 'fae adaptive', 'hotline'] as BenchPolicy[]) {
    const { result: r, policy } = await trainPolicy(device, presets.kaggle, train, test, name, { batchSize, budgetBytes, seed: 11, learnBatches: 50 });
    if (name === 'baseline') base = { rate: r.samplesPerSecond, auc: r.test!.auc };
    const p = r.phases, share = r.policy.hotInputShare ?? r.policy.popularInputShare;
    const hidden = r.policy.hiddenGatherShare === undefined ? '-' : `${(100 * Number(r.policy.hiddenGatherShare)).toFixed(0)}%`;
    const delta = r.test!.auc - base.auc;
    console.log(
      `${batchSize} | ${name} | ${r.samplesPerSecond.toFixed(0)} | ${(r.samplesPerSecond / base.rate).toFixed(2)} | ${r.test!.auc.toFixed(5)} (${delta >= 0 ? '+' : ''}${delta.toFixed(5)}) | ` +
        `${(p.embedding ?? 0).toFixed(1)} | ${(p.sync ?? 0).toFixed(1)} | ${p.dense.toFixed(1)} | ${share === undefined ? '-' : `${(100 * Number(share)).toFixed(1)}%`} | ${hidden}`,
    );
    runs.push({ batchSize, policy: name, samplesPerSecond: r.samplesPerSecond, speedup: r.samplesPerSecond / base.rate, auc: r.test!.auc, aucDelta: delta, phases: p, report: r.policy });
    if (policy.timeline().length > 0) {
      const files = await writeChart(timelineChart([...policy.timeline()]), join(here, 'out', `timeline-b${batchSize}`));
      console.log(`  timeline: ${files.join(', ')}`);
    }
  }
}
writeFileSync(join(here, 'out', 'policies.json'), JSON.stringify({ date: new Date().toISOString(), rows, threads, budgetBytes, kernels: kernels.describe(), runs }, null, 2));
