/**
 * FAE on this machine: the hot-input share by budget (the real Criteo sample, beside the FAE tutorial's
 * 44.4% at 512 MB, and a generated Kaggle-cardinality set), then baseline vs FAE (adaptive schedule and
 * the released code's cold-then-hot order) trained one epoch from the same seed on the generated set:
 * samples/s, test AUC, and the training time split into embedding work, tier syncs and dense work.
 * Writes bench/out/fae.json.   node --import tsx bench/fae.ts [--rows 2000000] [--threads 1]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import { analyzeAccesses } from '../src/popularity/analysis.ts';
import { bytesPerRow as bytesPerHotRow } from '../src/embedding/planner.ts';
import { criteoSampleAvailable, criteoSamplePath } from '../src/train/criteo-sample.ts';
import { readCriteoTsv } from '../src/data/criteo-tsv.ts';
import { type BenchPolicy, trainPolicy } from './train-policy.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' }, threads: { type: 'string', default: '1' }, budget: { type: 'string', default: '256' },
    zipf: { type: 'string', default: '1.1' },
  },
});
const rows = Number(values.rows), threads = Number(values.threads), budgetMiB = Number(values.budget), zipf = Number(values.zipf);
const budgets = [1, 16, 64, 256].map((m) => m * 2 ** 20);
const rowBytes = bytesPerHotRow(16, 0);
const out: Record<string, unknown> = { date: new Date().toISOString(), rows, threads, zipf };
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function shareTable(name: string, rates: number[], data: Parameters<typeof analyzeAccesses>[0]): unknown[] {
  return rates.map((rate) => {
    const a = analyzeAccesses(data, rowBytes, rate, 1, [...budgets, 512e6]);
    console.log(`${name}, sampling ${rate * 100}%: ` + a.hotShare.map((p) => `${(p.budgetBytes / 2 ** 20).toFixed(0)} MiB ${pct(p.hotShare)}`).join(', '));
    return { dataset: name, samplingRate: rate, hotShare: a.hotShare, top1: a.pooled.top1, seconds: a.seconds };
  });
}

console.log('hot-input share (every lookup hot) by budget, 64-byte rows (dim 16, SGD); FAE tutorial: 44.4% at 512 MB (100k Kaggle rows, 10% sampling)');
const shares: unknown[] = [];
if (criteoSampleAvailable()) shares.push(...shareTable('criteo_kaggle_head10k', [0.05, 0.1], readCriteoTsv(criteoSamplePath)));
else console.log('criteo_kaggle_head10k: absent, skipped');
const t0 = Date.now();
const all = generateSynthetic({ rows, tableRows: presets.kaggle.tableRows, denseFeatures: 13, zipf, seed: 11 });
console.log(`generated ${rows.toLocaleString('en-US')} rows with the Kaggle cardinalities in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const testRows = Math.floor(rows / 10);
const train = sliceRows(all, 0, rows - testRows), test = sliceRows(all, rows - testRows, rows);
shares.push(...shareTable(`synthetic Kaggle ${rows / 1e6}M rows (zipf ${zipf})`, [0.05, 1], train));
out.hotShare = shares;

const device = deviceFor('auto', threads), { kernels } = device;
const runs: Record<string, unknown>[] = [];
console.log(`\nbatch 1024, SGD lr 0.1, 1 epoch, seed 11, ${threads} thread(s), budget ${budgetMiB} MiB; kernels ${kernels.describe()}`);
console.log('policy | samples/s | test AUC | embedding s | sync s | dense s | hot inputs | speed-up');
let baseline = 0, baseAuc = 0;
for (const name of ['baseline', 'fae adaptive', 'fae cold-then-hot'] as BenchPolicy[]) {
  const { result: r } = await trainPolicy(device, presets.kaggle, train, test, name, { batchSize: 1024, budgetBytes: budgetMiB * 2 ** 20, seed: 11 });
  if (name === 'baseline') [baseline, baseAuc] = [r.samplesPerSecond, r.test!.auc];
  const p = r.phases;
  console.log(
    `${name} | ${r.samplesPerSecond.toFixed(0)} | ${r.test!.auc.toFixed(4)} (${(r.test!.auc - baseAuc >= 0 ? '+' : '')}${(r.test!.auc - baseAuc).toFixed(4)}) | ` +
      `${(p.embedding ?? 0).toFixed(1)} | ${(p.sync ?? 0).toFixed(1)} | ${p.dense.toFixed(1)} | ${r.policy.hotInputShare === undefined ? '-' : pct(Number(r.policy.hotInputShare))} | ${(r.samplesPerSecond / baseline).toFixed(2)}`,
  );
  runs.push({ policy: name, samplesPerSecond: r.samplesPerSecond, auc: r.test!.auc, phases: p, report: r.policy, speedup: r.samplesPerSecond / baseline });
}
out.training = runs;
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'fae.json'), JSON.stringify(out, null, 2));
