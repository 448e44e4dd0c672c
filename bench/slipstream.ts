/**
 * Slipstream in one run on a generated Kaggle-cardinality set (same seed, data order and model for all):
 * samples/s and test AUC of baseline, FAE, Slipstream on FAE at D = 0.1, 0.3, 0.5, the two variants beyond
 * the paper (relative threshold; re-evaluation every N hot mini-batches) at D = 0.3, Hotline and
 * Hotline+Slipstream. Writes bench/out/slipstream.json.
 *
 *   node --import tsx bench/slipstream.ts [--rows 500000] [--zipf 1.2] [--start 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import { defaultStaleness, type StalenessOptions } from '../src/policies/slipstream.ts';
import { type BenchPolicy, trainPolicy } from './train-policy.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' }, zipf: { type: 'string', default: '1.2' }, start: { type: 'string', default: '20' },
    budget: { type: 'string', default: '64' }, threads: { type: 'string', default: '1' },
  },
});
const rows = Number(values.rows), budgetBytes = Number(values.budget) * 2 ** 20;
const all = generateSynthetic({ rows, tableRows: presets.kaggle.tableRows, denseFeatures: 13, zipf: Number(values.zipf), seed: 12 });
const testRows = Math.floor(rows / 10);
const train = sliceRows(all, 0, rows - testRows), test = sliceRows(all, rows - testRows, rows);
const device = deviceFor('auto', Number(values.threads)), { kernels } = device;
const base: StalenessOptions = { ...defaultStaleness, startHotBatch: Number(values.start), sampleRate: 0.01 };
const runs: [string, BenchPolicy, StalenessOptions | undefined][] = [
  ['baseline', 'baseline', undefined],
  ['FAE', 'fae adaptive', undefined],
  ['Slipstream D=0.1', 'slipstream', { ...base, targetDrop: 0.1, band: 0.05 }],
  ['Slipstream D=0.3', 'slipstream', base],
  ['Slipstream D=0.5', 'slipstream', { ...base, targetDrop: 0.5 }],
  ['Slipstream D=0.3 relative T', 'slipstream', { ...base, relative: true, maxThreshold: 1 }],
  ['Slipstream D=0.3 re-evaluated', 'slipstream', { ...base, reevaluateEvery: 40 }],
  ['Hotline', 'hotline', undefined],
  ['Hotline+Slipstream D=0.3', 'hotline+slipstream', base],
];
console.log(`${rows.toLocaleString('en-US')} generated rows (Kaggle cardinalities, zipf ${values.zipf}), batch 1024, 1 epoch, SGD lr 0.1, budget ${values.budget} MiB; ${kernels.describe()}`);
console.log('run | samples/s | vs baseline | vs FAE | test AUC | AUC change | hot inputs skipped | T | overhead');
const results: Record<string, unknown>[] = [];
let baseline = { rate: 0, auc: 0 }, fae = 0;
for (const [label, name, staleness] of runs) {
  const { result: r } = await trainPolicy(device, presets.kaggle, train, test, name, { batchSize: 1024, budgetBytes, seed: 12, learnBatches: 30, staleness });
  if (name === 'baseline') baseline = { rate: r.samplesPerSecond, auc: r.test!.auc };
  if (label === 'FAE') fae = r.samplesPerSecond;
  const decisions = (r.policy.stalenessDecisions ?? []) as { threshold: number; inBand: boolean }[];
  const delta = r.test!.auc - baseline.auc;
  const overhead = r.policy.stalenessOverheadSeconds === undefined ? '-' : `${((100 * Number(r.policy.stalenessOverheadSeconds)) / r.trainSeconds).toFixed(2)}%`;
  console.log(
    `${label} | ${r.samplesPerSecond.toFixed(0)} | ${(r.samplesPerSecond / baseline.rate).toFixed(2)} | ${fae ? (r.samplesPerSecond / fae).toFixed(2) : '-'} | ` +
      `${r.test!.auc.toFixed(4)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(4)} | ${r.policy.skippedShare === undefined ? '-' : `${(100 * Number(r.policy.skippedShare)).toFixed(1)}%`} | ` +
      `${decisions.map((d) => `${d.threshold.toExponential(2)}${d.inBand ? '' : ' (off band)'}`).join(', ') || '-'} | ${overhead}`,
  );
  results.push({ label, samplesPerSecond: r.samplesPerSecond, auc: r.test!.auc, aucChange: delta, phases: r.phases, report: r.policy });
}
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'slipstream.json'), JSON.stringify({ date: new Date().toISOString(), rows, zipf: values.zipf, budgetBytes, results }, null, 2));
