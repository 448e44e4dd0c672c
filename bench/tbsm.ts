/**
 * TBSM: hotline against facebookresearch/tbsm's own PyTorch model (bench/tbsm_reference.py) on the same dataset of
 * sequences, split and epochs: test AUC and training samples/s, with 1 and 2 threads, in interleaved rounds (each run
 * its own process). The sets: the real Taobao head (../shared/data/taobao_userbehavior_head96k) and a larger
 * synthetic Taobao-shaped one (hotline gen --format taobao), both through hotline preprocess --format taobao-tbsm.
 * The settings are the authors' Taobao script's: batch 256, Adagrad at 0.05, one epoch, def inner product, mlp
 * attention, one head, MLPs 1-16 / 15-15 / 15-15 / 60-1, dimension 16.
 *
 *   node --import tsx bench/tbsm.ts --tbsm TBSM_CHECKOUT --dlrm DLRM_CHECKOUT [--rounds 2] [--seeds 1,2,3] [--users N] [--events N]
 *
 * Speed: the rounds at seed 123 (the authors'). Accuracy: test AUC at each of --seeds, one thread, since a seed moves
 * it more than anything compared here (the authors pick the best of 5 seeds: "Sometimes Adagrad gets stuck early").
 *
 * Prints a table, writes bench/out/tbsm.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openBlasCore, referenceEnv } from './reference-env.ts';

const { values } = parseArgs({
  options: {
    tbsm: { type: 'string', default: process.env.HOTLINE_TBSM_CHECKOUT }, dlrm: { type: 'string', default: process.env.HOTLINE_DLRM_CHECKOUT },
    rounds: { type: 'string', default: '2' }, seeds: { type: 'string', default: '1,2,3' }, users: { type: 'string', default: '50000' }, events: { type: 'string', default: '5000000' },
  },
});
if (!values.tbsm || !values.dlrm || !existsSync(join(values.tbsm, 'tbsm_pytorch.py')) || !existsSync(join(values.dlrm, 'dlrm_s_pytorch.py'))) {
  console.log('skipped: give --tbsm and --dlrm checkouts of facebookresearch/tbsm and facebookresearch/dlrm (or HOTLINE_TBSM_CHECKOUT, HOTLINE_DLRM_CHECKOUT)');
  process.exit(0);
}
const here = new URL('.', import.meta.url).pathname, root = join(here, '..'), bin = join(root, 'bin', 'hotline.mjs');
const work = join(here, 'out', 'tbsm-data'), core = openBlasCore();
mkdirSync(work, { recursive: true });

function hotline(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`hotline ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** A dataset of sequences made once (kept in bench/out/tbsm-data between runs). */
function sequences(name: string, csv: () => string): string {
  const out = join(work, name);
  if (!existsSync(join(out, 'manifest.json'))) hotline(['preprocess', csv(), '--format', 'taobao-tbsm', '--out', out]);
  return out;
}

const head = '../shared/data/taobao_userbehavior_head96k/UserBehavior_head.csv';
const sets: { name: string; dir: string }[] = [];
if (existsSync(join(root, head))) sets.push({ name: 'taobao head', dir: sequences('head', () => join(root, head)) });
else console.log(`the real Taobao head (${head}) is not here: the synthetic set only`);
sets.push({
  name: 'synthetic', dir: sequences(`synthetic-${values.users}-${values.events}`, () => {
    const csv = join(work, `synthetic-${values.users}-${values.events}.csv`), items = String(10 * Number(values.users));
    if (!existsSync(csv)) hotline(['gen', '--format', 'taobao', '--users', values.users!, '--items', items, '--events', values.events!, '--out', csv]);
    return csv;
  }),
});

const model = ['--arch-sparse-feature-size', '16', '--arch-mlp-bot', '1-16', '--arch-mlp-top', '15-15', '--tsl-mlp', '15-15', '--arch-mlp', '60-1'];
const common = ['--mini-batch-size', '256', '--learning-rate', '0.05'];
const epochs = '1';

interface Run { samplesPerSecond: number; testAuc: number }

function runHotline(dir: string, threads: number, seed = 123): Run {
  const out = hotline(['train', '--dataset', dir, '--model', 'tbsm', '--optimizer', 'adagrad', ...common, '--seed', String(seed), '--nepochs', epochs, ...model, '--threads', String(threads), '--run-dir', ''],
    referenceEnv(threads === 1 ? 'T1' : 'T2', core));
  const rate = /: ([\d.,]+)(k?) samples\/s/.exec(out), auc = /test AUC ([\d.]+)/.exec(out);
  if (!rate || !auc) throw new Error(`no rate or AUC in hotline's output:\n${out}`);
  return { samplesPerSecond: Number(rate[1].replace(/,/g, '')) * (rate[2] === 'k' ? 1000 : 1), testAuc: Number(auc[1]) };
}

function runReference(dir: string, threads: number, seed = 123): Run {
  const out = execFileSync('/usr/bin/python3', [join(here, 'tbsm_reference.py'), dir, '--tbsm', values.tbsm!, '--dlrm', values.dlrm!, '--threads', String(threads), ...common, '--seed', String(seed), '--epochs', epochs, ...model],
    { env: referenceEnv(threads === 1 ? 'T1' : 'T2', core), encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Run;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
// Speed needs steps to time: the real head's few-hour window leaves it a handful of training rows (one step).
const trainRows = (dir: string) => (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { parts: { train: number } }).parts.train;
const timed = sets.filter((set) => trainRows(set.dir) >= 50 * 256);
for (const set of sets) if (!timed.includes(set)) console.log(`${set.name}: ${trainRows(set.dir)} training rows, too few to time; its accuracy only`);
const rounds = Number(values.rounds), results: Record<string, { hotline: Run[]; reference: Run[] }> = {};
for (let round = 0; round < rounds; round++) {
  for (const set of timed) {
    for (const threads of [1, 2]) {
      const key = `${set.name}|${threads}`, r = (results[key] ??= { hotline: [], reference: [] });
      // Alternate which goes first, so neither always runs on the warmer machine.
      const order = round % 2 === 0 ? ['hotline', 'reference'] as const : ['reference', 'hotline'] as const;
      for (const who of order) r[who].push(who === 'hotline' ? runHotline(set.dir, threads) : runReference(set.dir, threads));
      console.log(`round ${round + 1}, ${set.name}, ${threads} thread(s): hotline ${r.hotline.at(-1)!.samplesPerSecond.toFixed(0)}, reference ${r.reference.at(-1)!.samplesPerSecond.toFixed(0)} samples/s`);
    }
  }
}

const rows = Object.entries(results).map(([key, r]) => {
  const [set, threads] = key.split('|'), h = median(r.hotline.map((x) => x.samplesPerSecond)), p = median(r.reference.map((x) => x.samplesPerSecond));
  const aucH = median(r.hotline.map((x) => x.testAuc)), aucP = median(r.reference.map((x) => x.testAuc));
  return { set, threads: Number(threads), hotline: h, reference: p, ratio: h / p, hotlineRuns: r.hotline.map((x) => x.samplesPerSecond), referenceRuns: r.reference.map((x) => x.samplesPerSecond), hotlineAuc: aucH, referenceAuc: aucP, aucDifference: aucH - aucP };
});
console.log('\n| set | threads | hotline samples/s (runs) | tbsm PyTorch samples/s (runs) | ratio | test AUC hotline | test AUC PyTorch | difference |');
console.log('|---|---|---|---|---|---|---|---|');
const runs = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
for (const r of rows) {
  console.log(`| ${r.set} | ${r.threads} | ${r.hotline.toFixed(0)} (${runs(r.hotlineRuns)}) | ${r.reference.toFixed(0)} (${runs(r.referenceRuns)}) | ${r.ratio.toFixed(2)}x | ${r.hotlineAuc.toFixed(4)} | ${r.referenceAuc.toFixed(4)} | ${r.aucDifference >= 0 ? '+' : ''}${r.aucDifference.toFixed(4)} |`);
}

// Accuracy across seeds, one thread: the mean and spread of each side's test AUC, and their difference.
const seeds = values.seeds!.split(',').map(Number), accuracy = sets.map((set) => {
  const h = seeds.map((seed) => runHotline(set.dir, 1, seed).testAuc), p = seeds.map((seed) => runReference(set.dir, 1, seed).testAuc);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { set: set.name, seeds, hotline: h, reference: p, hotlineMean: mean(h), referenceMean: mean(p), difference: mean(h) - mean(p) };
});
console.log(`\n| set | test AUC hotline, seeds ${seeds.join(', ')} | test AUC PyTorch | mean hotline | mean PyTorch | difference of means |`);
console.log('|---|---|---|---|---|---|');
const aucs = (xs: number[]) => xs.map((x) => x.toFixed(4)).join(', ');
for (const a of accuracy) {
  console.log(`| ${a.set} | ${aucs(a.hotline)} | ${aucs(a.reference)} | ${a.hotlineMean.toFixed(4)} | ${a.referenceMean.toFixed(4)} | ${a.difference >= 0 ? '+' : ''}${a.difference.toFixed(4)} |`);
}
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'tbsm.json'), JSON.stringify({ date: new Date().toISOString(), openBlasCore: core ?? 'default', rounds, rows, accuracy }, null, 2));
if (process.argv.includes('--clean')) rmSync(work, { recursive: true, force: true });
