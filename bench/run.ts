/**
 * Every benchmark, or those named, one after another (never two at once: a benchmark beside another measures
 * nothing): `npm run bench [-- NAME...]`. Each runs as its own process and writes bench/out/NAME.json; this prints
 * a table of how each went and writes bench/out/summary.json with every result.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Name (its file bench/NAME.ts and its output bench/out/NAME.json) and what it compares. */
const benchmarks: Record<string, string> = {
  'train-speed': 'samples/s vs PyTorch DLRM (needs python3-torch)',
  gemm: 'GFLOP/s of the layer shapes vs numpy OpenBLAS',
  embedding: 'ns per lookup, gather and update',
  'criteo-auc': 'test AUC vs PyTorch on the Criteo sample (needs python3-torch and ../shared/data)',
  fae: 'hot-input share by budget; baseline vs FAE schedules',
  policies: 'baseline, FAE, Hotline at batch 1024 and 2048',
  slipstream: 'Slipstream on FAE and Hotline at several targets',
  preprocess: 'preprocessing MB/s and peak RSS vs a dlrm-style reference',
  gen: 'synthetic rows per minute, all cores vs one worker',
  checkpoint: 'checkpoint save and resume vs torch.save/torch.load (needs python3-torch)',
  scan: 'the dataset range scans, native vs TypeScript',
  'bounds-check': 'the embedding kernels with the bounds check off and on',
  threads: 'baseline and Hotline at 1 and 2 threads, with the pool spinning long or briefly',
  'ssd-io': 'block reads per second, io_uring vs a pool of threads, by queue depth',
  'ssd-tier': 'ms per batch of the ssd tier read in step vs the memory tier',
  ssd: 'tables larger than memory (35 GiB on the disk): mmap, lru, fae, hotline, in memory',
  'slipstream-loss': "Slipstream's AUC loss against a control that skips as many hot inputs at random",
  tbsm: 'TBSM vs facebookresearch/tbsm: test AUC and samples/s, 1 and 2 threads (needs python3-torch and checkouts of tbsm and dlrm)',
};

const named = process.argv.slice(2);
const unknown = named.filter((n) => !(n in benchmarks));
if (unknown.length > 0) {
  process.stderr.write(`bench: unknown ${unknown.join(', ')} (one of ${Object.keys(benchmarks).join(', ')})\n`);
  process.exit(2);
}
const out = join(here, 'out');
mkdirSync(out, { recursive: true });
const runs: { name: string; exitCode: number | null; seconds: number; result: unknown }[] = [];
for (const name of named.length > 0 ? named : Object.keys(benchmarks)) {
  process.stdout.write(`\n== ${name}: ${benchmarks[name]}\n`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, `${name}.ts`)], { stdio: 'inherit' });
  const file = join(out, `${name}.json`);
  // A result file older than this run is not this run's.
  const fresh = r.status === 0 && existsSync(file) && statSync(file).mtimeMs >= started;
  const result = fresh ? JSON.parse(readFileSync(file, 'utf8')) : null;
  runs.push({ name, exitCode: r.status, seconds: (Date.now() - started) / 1000, result });
}
process.stdout.write('\nbenchmark | exit | seconds | result\n');
for (const r of runs) process.stdout.write(`${r.name} | ${r.exitCode} | ${r.seconds.toFixed(0)} | ${r.result ? `bench/out/${r.name}.json` : '-'}\n`);
writeFileSync(join(out, 'summary.json'), `${JSON.stringify({ date: new Date().toISOString(), runs }, null, 2)}\n`);
process.stdout.write('wrote bench/out/summary.json\n');
process.exitCode = runs.every((r) => r.exitCode === 0) ? 0 : 1;
