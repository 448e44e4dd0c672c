/**
 * Where Slipstream's AUC loss comes from (issue 16, part 2), on a generated Kaggle-cardinality set: baseline, FAE,
 * Slipstream on FAE, and the control that skips as many hot inputs at random once the same decision is taken. The
 * control loses the same number of samples without choosing them: if it costs what Slipstream costs, the loss is the
 * samples', not the choice's. Also the positive rate of the skipped inputs against the hot inputs' and everyone's.
 * Writes bench/out/slipstream-loss.json.
 *
 *   node --import tsx bench/slipstream-loss.ts [--rows 500000] [--zipf 1.2] [--start 50] [--seeds 12,13] [--epochs 1]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { presets } from '../src/model/arch.ts';
import type { FaePolicy } from '../src/policies/fae.ts';
import { defaultStaleness, type StalenessOptions } from '../src/policies/slipstream.ts';
import { type BenchPolicy, trainPolicy } from './train-policy.ts';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '500000' }, zipf: { type: 'string', default: '1.2' }, start: { type: 'string', default: '50' },
    budget: { type: 'string', default: '64' }, seeds: { type: 'string', default: '12,13' }, threads: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '1' },
  },
});
const rows = Number(values.rows), seeds = values.seeds!.split(',').map(Number);
const device = deviceFor('auto', Number(values.threads));
const stale: StalenessOptions = { ...defaultStaleness, startHotBatch: Number(values.start) };
const runs: [string, BenchPolicy, StalenessOptions | undefined][] = [
  ['baseline', 'baseline', undefined],
  ['FAE', 'fae adaptive', undefined],
  ['Slipstream D=0.3', 'slipstream', stale],
  ['random control', 'slipstream', { ...stale, control: 'random' }],
];

interface Row { seed: number; run: string; auc: number; samplesPerSecond: number; skipped: number; hotInputs: number; skippedPositives: number; hotPositives: number; positives: number }
const results: Row[] = [];
for (const seed of seeds) {
  const all = generateSynthetic({ rows, tableRows: presets.kaggle.tableRows, denseFeatures: 13, zipf: Number(values.zipf), seed });
  const testRows = Math.floor(rows / 10), train = sliceRows(all, 0, rows - testRows), test = sliceRows(all, rows - testRows, rows);
  const rate = (ids: ArrayLike<number>) => Array.from(ids).reduce((n, r) => n + train.labels[r], 0) / Math.max(1, ids.length);
  for (const [run, policy, staleness] of runs) {
    const { result, policy: p } = await trainPolicy(device, presets.kaggle, train, test, policy, { batchSize: 1024, budgetBytes: Number(values.budget) * 2 ** 20, seed, staleness, epochs: Number(values.epochs) });
    const fae = policy === 'baseline' ? null : (p as FaePolicy);
    results.push({
      seed, run, auc: result.test!.auc, samplesPerSecond: result.samplesPerSecond, skipped: fae?.skipped.length ?? 0, hotInputs: fae?.hotInputs.length ?? 0,
      skippedPositives: rate(fae?.skipped ?? []), hotPositives: rate(fae?.hotInputs ?? []), positives: rate(Int32Array.from({ length: train.rows }, (_, i) => i)),
    });
    const r = results.at(-1)!;
    console.log(`seed ${seed} ${run}: AUC ${r.auc.toFixed(4)}, skipped ${r.skipped} of ${r.hotInputs} hot inputs`);
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
console.log('\n| seed | run | test AUC | against FAE | skipped share of hot inputs (an epoch) | positives: skipped / hot / all | samples/s |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const fae = results.find((x) => x.seed === r.seed && x.run === 'FAE')!;
  const delta = r.run === 'baseline' || r.run === 'FAE' ? '' : `${r.auc - fae.auc >= 0 ? '+' : ''}${(r.auc - fae.auc).toFixed(4)}`;
  const shares = r.skipped ? `${pct(r.skippedPositives)} / ${pct(r.hotPositives)} / ${pct(r.positives)}` : '';
  console.log(`| ${r.seed} | ${r.run} | ${r.auc.toFixed(4)} | ${delta} | ${r.hotInputs ? pct(r.skipped / (r.hotInputs * Number(values.epochs))) : ''} | ${shares} | ${r.samplesPerSecond.toFixed(0)} |`);
}
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'slipstream-loss.json'), JSON.stringify({ date: new Date().toISOString(), rows, zipf: Number(values.zipf), start: Number(values.start), epochs: Number(values.epochs), results }, null, 2));
