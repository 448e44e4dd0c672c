/**
 * Every policy on the GPU (the webgpu device), against the papers' "CPU-GPU DLRM" baseline: the hybrid baseline
 * (tables in host memory, pooled by the CPU, MLPs on the GPU), GPU-only (device-only: every table in GPU memory,
 * where it fits), FAE (hot rows on the GPU), Hotline (the popular micro-batch on the GPU while the host lane gathers
 * the rest), Slipstream on each; and this CPU backend's baseline for the GPU-only ratio. Kaggle and Terabyte
 * configurations (Kaggle's full cardinalities, 2.0 GiB; Terabyte's capped at 2M rows a table, 2.9 GiB at dimension 64;
 * --max-table-rows caps both), batch 2048 and 4096, synthetic skewed data generated here.
 * Prints a line per run as it goes, then the table with the ratios against the targets; writes bench/out/gpu.json.
 * Runs that would start after --deadline seconds are left out (and listed), so the script ends in its time.
 *
 *   node --expose-gc --import tsx bench/gpu-policies.ts [--configs kaggle,terabyte] [--batches 2048,4096] [--rows 1000000]
 *     [--steps 200] [--max-table-rows N] [--hot-budget 1024] [--threads N] [--deadline 420] [--cpu-steps 30]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sliceRows } from '../src/data/dataset.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor, openDevice } from '../src/device/registry.ts';
import type { Device } from '../src/device/device.ts';
import { presets } from '../src/model/arch.ts';
import { defaultStaleness } from '../src/policies/slipstream.ts';
import { FastTierError } from '../src/policies/tiers.ts';
import { type BenchPolicy, trainPolicy } from './train-policy.ts';

const { values } = parseArgs({
  options: {
    configs: { type: 'string', default: 'kaggle,terabyte' }, batches: { type: 'string', default: '2048,4096' },
    rows: { type: 'string', default: '1000000' }, steps: { type: 'string', default: '200' }, 'max-table-rows': { type: 'string' },
    'hot-budget': { type: 'string', default: '1024' }, threads: { type: 'string', default: String(availableParallelism()) },
    deadline: { type: 'string', default: '420' }, 'cpu-steps': { type: 'string', default: '30' }, zipf: { type: 'string', default: '1.1' },
  },
});
const started = Date.now(), elapsed = () => (Date.now() - started) / 1000;
const rows = Number(values.rows), steps = Number(values.steps), threads = Number(values.threads);
const caps: Record<string, number> = values['max-table-rows'] ? {} : { terabyte: 2_000_000 }, cap = Number(values['max-table-rows'] ?? Infinity);
const budgetBytes = Number(values['hot-budget']) * 2 ** 20, deadline = Number(values.deadline);
const policies: BenchPolicy[] = ['baseline', 'device-only', 'fae adaptive', 'hotline', 'slipstream', 'hotline+slipstream'];
const targets: Partial<Record<BenchPolicy, { over: BenchPolicy; at: number }>> = {
  'fae adaptive': { over: 'baseline', at: 1.5 }, 'hotline': { over: 'baseline', at: 2 }, 'hotline+slipstream': { over: 'hotline', at: 1.15 },
};

const gpu = await openDevice('webgpu', 'auto', threads), cpu = deviceFor('auto', threads);
console.log(`gpu-policies: ${gpu.describe()}; ${rows.toLocaleString('en-US')} generated rows (zipf ${values.zipf}), ${steps} steps a run, ` +
  `SGD lr 0.1, hot budget ${values['hot-budget']} MiB, ${threads} host threads`);

interface Run {
  config: string; batchSize: number; device: string; policy: BenchPolicy; samplesPerSecond: number; auc: number;
  share: number | null; skippedShare: number | null; seconds: number; note?: string;
}
const runs: Run[] = [], leftOut: string[] = [];

async function measure(config: string, device: Device, policy: BenchPolicy, batchSize: number, runSteps: number, data: ReturnType<typeof split>): Promise<void> {
  const label = `${config} b${batchSize} ${device.name} ${policy}`;
  if (elapsed() > deadline) {
    leftOut.push(label);
    return;
  }
  const t0 = Date.now(), arch = data.arch;
  // Hotline learns over the first tenth of the run; Slipstream decides once its window closes, early enough in a
  // short run to skip for most of it.
  const staleness = { ...defaultStaleness, startHotBatch: Math.max(2, Math.round(runSteps / 20)), windowShare: 0.05 };
  try {
    const { result: r } = await trainPolicy(device, arch, data.train, data.test, policy, {
      batchSize, budgetBytes, seed: 11, learnBatches: Math.max(1, Math.round(runSteps / 10)), staleness, steps: runSteps,
    });
    const p = r.policy, share = p.hotInputShare ?? p.popularInputShare;
    runs.push({
      config, batchSize, device: device.name, policy, samplesPerSecond: r.samplesPerSecond, auc: r.test!.auc, seconds: (Date.now() - t0) / 1000,
      share: share === undefined ? null : Number(share), skippedShare: p.skippedShare === undefined ? null : Number(p.skippedShare),
    });
    console.log(`[${elapsed().toFixed(0)} s] ${label}: ${r.samplesPerSecond.toFixed(0)} samples/s, test AUC ${r.test!.auc.toFixed(5)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (error) {
    if (!(error instanceof FastTierError)) throw error;
    console.log(`[${elapsed().toFixed(0)} s] ${label}: does not fit (${error.message})`);
  }
  (globalThis as { gc?: () => void }).gc?.();
}

function split(config: string) {
  const preset = presets[config];
  if (!preset) throw new Error(`--configs: no preset ${config}`);
  const arch = { ...preset, tableRows: preset.tableRows.map((n) => Math.min(n, caps[config] ?? cap)) };
  const all = generateSynthetic({ rows, tableRows: arch.tableRows, denseFeatures: 13, zipf: Number(values.zipf), seed: 11 });
  const testRows = Math.floor(rows / 10);
  return { arch, train: sliceRows(all, 0, rows - testRows), test: sliceRows(all, rows - testRows, rows) };
}

for (const config of values.configs!.split(',')) {
  const data = split(config), tableRows = data.arch.tableRows.reduce((a, n) => a + n, 0);
  console.log(`[${elapsed().toFixed(0)} s] ${config}: ${tableRows.toLocaleString('en-US')} rows x ${data.arch.embeddingDim}, ` +
    `${((tableRows * data.arch.embeddingDim * 4) / 2 ** 30).toFixed(2)} GiB of tables`);
  for (const batchSize of values.batches!.split(',').map(Number)) {
    for (const policy of policies) await measure(config, gpu, policy, batchSize, steps, data);
    if (config === 'kaggle') await measure(config, cpu, 'baseline', batchSize, Number(values['cpu-steps']), data);
  }
}
await gpu.dispose?.();

const find = (r: Run, policy: BenchPolicy, device = 'webgpu') => runs.find((x) => x.config === r.config && x.batchSize === r.batchSize && x.policy === policy && x.device === device);
console.log('\nconfig | batch | device | policy | samples/s | x hybrid baseline | target | test AUC (- baseline) | hot/popular | skipped');
const table = runs.map((r) => {
  const base = find(r, 'baseline'), target = targets[r.policy], over = target && find(r, target.over);
  const ratio = base ? r.samplesPerSecond / base.samplesPerSecond : null;
  const vsCpu = r.policy === 'device-only' ? find(r, 'baseline', cpu.name) : undefined;
  const goal = target && over ? `${(r.samplesPerSecond / over.samplesPerSecond).toFixed(2)}x ${target.over} (>= ${target.at})`
    : vsCpu ? `${(r.samplesPerSecond / vsCpu.samplesPerSecond).toFixed(1)}x CPU (>= 20)` : '';
  const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
  const delta = base ? r.auc - base.auc : 0;
  console.log(`${r.config} | ${r.batchSize} | ${r.device} | ${r.policy} | ${r.samplesPerSecond.toFixed(0)} | ${ratio?.toFixed(2) ?? '-'} | ${goal} | ` +
    `${r.auc.toFixed(5)} (${delta >= 0 ? '+' : ''}${delta.toFixed(5)}) | ${pct(r.share)} | ${pct(r.skippedShare)}`);
  return { ...r, overHybridBaseline: ratio, target: goal || null, aucDelta: delta };
});
if (leftOut.length) console.log(`left out (past the ${deadline} s deadline): ${leftOut.join('; ')}`);
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'gpu.json'), JSON.stringify({
  date: new Date().toISOString(), device: gpu.describe(), host: cpu.describe(), rows, steps, maxTableRows: { ...caps, all: cap }, budgetBytes, threads, runs: table, leftOut,
}, null, 2));
console.log(`wrote bench/out/gpu.json (${elapsed().toFixed(0)} s)`);
