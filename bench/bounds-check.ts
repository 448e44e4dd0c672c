/**
 * What the native embedding kernels' bounds check costs: embedding-bag forward and SGD update, ns per lookup,
 * with the check off (the default: one branch per call) and on (every id, offset and length checked before
 * the kernel), on the Kaggle tables (33.8M rows x 16), batch 2048 x 26 one-hot Zipf(1.05) lookups, 1 thread.
 * "check alone" times the check by itself: each batch's last id is out of range, so the check reads every
 * lookup and throws before the kernel runs. With --rows N every table has N rows instead: from cache the kernel is fastest, and the check's share the
 * largest. With --addon PATH, also another build of the addon (one from before the check, to show "off" costs
 * nothing). Configurations alternate within each round; medians and spreads (fastest-slowest) over the rounds.
 * Writes bench/out/bounds-check.json.
 *
 *   node --import tsx bench/bounds-check.ts [--batches 20] [--rounds 7] [--rows N] [--addon PATH]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSynthetic } from '../src/data/synthetic.ts';
import type { Kernels } from '../src/kernels/kernels.ts';
import type { Jagged } from '../src/tensor/jagged.ts';
import { loadAddon, NativeKernels, setBoundsCheck } from '../src/kernels/native.ts';
import { presets } from '../src/model/arch.ts';
import { HostTables, tableConfigs } from '../src/embedding/tables.ts';
import { lookupBuffers, oneHotBatches, timeLookups } from './embedding-timing.ts';

const { values } = parseArgs({ options: { batches: { type: 'string', default: '20' }, rounds: { type: 'string', default: '7' }, rows: { type: 'string' }, addon: { type: 'string' } } });
const count = Number(values.batches), rounds = Number(values.rounds), batch = 2048, dim = 16;
const rows = presets.kaggle.tableRows.map((n) => (values.rows ? Number(values.rows) : n)), lookups = batch * rows.length;
const addon = loadAddon();
if (addon instanceof Error) throw addon;
const native = new NativeKernels(addon);
native.setThreads(1);
const tables = new HostTables(native, tableConfigs(rows, dim), 1);
const categorical = generateSynthetic({ rows: batch * count, tableRows: rows, denseFeatures: 1, zipf: 1.05, seed: 5 }).categorical;
const batches = oneHotBatches(categorical, batch, count);
const { layout, out, grad } = lookupBuffers(batch, rows.length, dim);
const measure = (kernels: Kernels) => timeLookups(kernels, tables.weights, batches, dim);

// The check by itself, per lookup: a bad last id makes it read every lookup and throw before the kernel.
function checkAlone(): { gather: number; update: number } {
  const bad = batches.map((b) => { // the last lookup, table 26's last id, past its table's end
    const ids = b.ids.slice();
    ids[ids.length - 1] = rows[rows.length - 1];
    return { ...b, ids };
  });
  const time = (kernel: (bags: Jagged) => void) => {
    const t = process.hrtime.bigint();
    for (const bags of bad) {
      try {
        kernel(bags);
      } catch {
        continue;
      }
      throw new Error('the bounds check let a bad id through');
    }
    return Number(process.hrtime.bigint() - t) / (count * lookups);
  };
  setBoundsCheck(true);
  return {
    gather: time((bags) => native.embeddingForward(tables.weights, bags, layout, out)),
    update: time((bags) => native.embeddingUpdate(tables.weights, bags, layout, grad, { optimizer: 'sgd', lr: 0.01, eps: 0, states: null })),
  };
}

const other = values.addon ? new NativeKernels(createRequire(import.meta.url)(values.addon)) : null;
const configs: [string, () => { gather: number; update: number }][] = [
  ['check off', () => (setBoundsCheck(false), measure(native))],
  ['check on', () => (setBoundsCheck(true), measure(native))],
  ['check alone', checkAlone],
  ...(other ? [[`other build (${values.addon})`, () => measure(other)] as [string, () => { gather: number; update: number }]] : []),
];
const samples = new Map<string, { gather: number; update: number }[]>();
for (let round = -1; round < rounds; round++) { // round -1 touches the rows and warms up, unrecorded
  for (const [name, run] of configs) {
    const r = run();
    if (round >= 0) samples.set(name, [...(samples.get(name) ?? []), r]);
  }
}
setBoundsCheck(false);

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const stats = (a: number[]) => ({ median: median(a), min: Math.min(...a), max: Math.max(...a) });
console.log(`bounds check, ${values.rows ? `tables of ${values.rows} rows` : 'Kaggle tables'} (${(tables.bytes / 2 ** 30).toFixed(2)} GiB, dim ${dim}), batch ${batch} x 26 Zipf lookups, 1 thread, ${rounds} rounds`);
console.log('configuration | gather ns/lookup | update ns/lookup');
const results = configs.map(([name]) => {
  const s = samples.get(name)!;
  const gather = stats(s.map((x) => x.gather)), update = stats(s.map((x) => x.update));
  const cell = (x: typeof gather) => `${x.median.toFixed(2)} (${x.min.toFixed(2)}-${x.max.toFixed(2)})`;
  console.log(`${name} | ${cell(gather)} | ${cell(update)}`);
  return { configuration: name, gather, update };
});
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'bounds-check.json'), JSON.stringify({ date: new Date().toISOString(), batch, dim, rounds, tableRows: rows, results }, null, 2));
