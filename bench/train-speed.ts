/**
 * hotline vs the PyTorch DLRM (bench/torch_dlrm.py) on identical pre-generated batches: Kaggle preset
 * (33.8M rows, dim 16), uniform one-hot indices as dlrm's random mode, SGD, batch 128 and 1024, 1 and 2
 * threads. Runs alternate between the engines (one process each) and the median of each is compared.
 * With --compare-with DIR (another hotline checkout, built), that checkout's hotline runs interleaved with this
 * one on the same batches, and the table adds new / old. Prints a table, writes bench/out/train-speed.json.
 *
 *   node --import tsx bench/train-speed.ts [--repeats 3] [--batches 128,1024] [--threads 1,2] [--compare-with DIR]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { presets } from '../src/model/arch.ts';
import { randomRows } from '../src/data/random.ts';
import { writeBatchFiles } from './batch-files.ts';
import { openBlasCore, referenceEnv, type ReferenceThreads } from './reference-env.ts';

const { values } = parseArgs({
  options: {
    repeats: { type: 'string', default: '3' }, batches: { type: 'string', default: '128,1024' }, threads: { type: 'string', default: '1,2' },
    'compare-with': { type: 'string' },
  },
});
const repeats = Number(values.repeats);
const arch = presets.kaggle;
const core = openBlasCore();
const here = new URL('.', import.meta.url).pathname;
const old = values['compare-with'] ? join(values['compare-with'], 'bench') : null;
const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)}`;

interface Run { samplesPerSecond: number; kernels?: string }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function runJson(command: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const out = execFileSync(command, args, { env, encoding: 'utf8', maxBuffer: 1 << 24 });
  return JSON.parse(out.trim().split('\n').pop()!) as Run;
}

const rows: Record<string, unknown>[] = [];
console.log(`hotline vs PyTorch DLRM, Kaggle preset, uniform one-hot, SGD; OpenBLAS core for both: ${core ?? 'as detected'}`);
console.log(`batch | threads | hotline samples/s (range) | PyTorch samples/s (setting) | ratio${old ? ' | old hotline samples/s (range) | new / old' : ''}`);
for (const batchSize of values.batches!.split(',').map(Number)) {
  const steps = batchSize >= 1024 ? { warmup: 5, timed: 60 } : { warmup: 20, timed: 400 };
  const folder = join(tmpdir(), `hotline-speed-${batchSize}`);
  const train = randomRows(arch.tableRows, 13, batchSize * (steps.warmup + steps.timed), 42);
  writeBatchFiles(folder, arch, train, null, batchSize, 0.1, 42);
  for (const threads of values.threads!.split(',').map(Number)) {
    const settings: ReferenceThreads[] = threads === 1 ? ['T1'] : ['T2', 'T2B'];
    const hotline: Run[] = [], previous: Run[] = [];
    const reference = new Map<ReferenceThreads, number[]>(settings.map((s) => [s, []]));
    for (let r = 0; r < repeats; r++) {
      const speedArgs = [folder, String(threads), String(steps.warmup)];
      hotline.push(runJson(process.execPath, ['--import', 'tsx', join(here, 'hotline-speed.ts'), ...speedArgs], referenceEnv('T1', core)));
      if (old) previous.push(runJson(process.execPath, ['--import', 'tsx', join(old, 'hotline-speed.ts'), ...speedArgs], referenceEnv('T1', core)));
      for (const s of settings) {
        reference.get(s)!.push(runJson('/usr/bin/python3', [join(here, 'torch_dlrm.py'), 'speed', folder, '--warmup', String(steps.warmup)], referenceEnv(s, core)).samplesPerSecond);
      }
    }
    const ours = median(hotline.map((h) => h.samplesPerSecond));
    const [bestSetting, theirs] = [...reference].map(([s, v]) => [s, median(v)] as const).sort((a, b) => b[1] - a[1])[0];
    const ratio = ours / theirs, before = old ? median(previous.map((h) => h.samplesPerSecond)) : null;
    const runs = hotline.map((h) => h.samplesPerSecond), oldRuns = previous.map((h) => h.samplesPerSecond);
    console.log(
      `${batchSize} | ${threads} | ${ours.toFixed(0)} (${spread(runs)}) | ${theirs.toFixed(0)} (${bestSetting}) | ${ratio.toFixed(2)}` +
        `${before ? ` | ${before.toFixed(0)} (${spread(oldRuns)}) | ${(ours / before).toFixed(3)}` : ''}`,
    );
    rows.push({
      batchSize, threads, hotline: ours, pytorch: theirs, pytorchSetting: bestSetting, ratio, kernels: hotline[0].kernels,
      hotlineRuns: runs, pytorchRuns: Object.fromEntries(reference), ...(before && { oldHotline: before, oldHotlineRuns: oldRuns, newOverOld: ours / before }),
    });
  }
  rmSync(folder, { recursive: true, force: true });
}
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'train-speed.json'), JSON.stringify({ date: new Date().toISOString(), openblasCore: core ?? null, repeats, rows }, null, 2));
