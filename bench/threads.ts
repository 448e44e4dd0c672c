/**
 * How the compute threads should share the cores with Hotline's host lane: the baseline and Hotline at 1 and 2
 * threads, with the pool's idle workers spinning long (today's 65,536 pauses), briefly, or hardly before they sleep
 * (HOTLINE_POOL_SPIN), on a skewed Kaggle-shaped synthetic set. Runs interleave and repeat; prints the median
 * samples/s with the spread and the ratio to the 1-thread run, writes bench/out/threads.json.
 *
 *   node --import tsx bench/threads.ts [--repeats 3] [--rows 300000] [--spins 65536,4096,256]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { repeats: { type: 'string', default: '3' }, rows: { type: 'string', default: '300000' }, spins: { type: 'string', default: '65536,4096,256' } } });
const here = new URL('.', import.meta.url).pathname, bin = join(here, '..', 'bin', 'hotline.mjs');
const configs = ['baseline', 'hotline'].flatMap((policy) => [1, 2].flatMap((threads) => values.spins!.split(',').map((spin) => ({ policy, threads, spin }))));
const rates = new Map<string, number[]>(configs.map((c) => [JSON.stringify(c), []]));
for (let r = 0; r < Number(values.repeats); r++) {
  for (const c of configs) {
    const out = execFileSync(process.execPath, [bin, 'train', '--data-generation', 'synthetic', '--data-size', values.rows!, '--mini-batch-size', '1024',
      '--policy', c.policy, '--threads', String(c.threads), '--learn-batches', '30', '--run-dir', '', '--print-freq', '100000'],
    { encoding: 'utf8', env: { ...process.env, HOTLINE_POOL_SPIN: c.spin } });
    rates.get(JSON.stringify(c))!.push(Number(/: ([\d.]+)k samples\/s/.exec(out)![1]) * 1000);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rows = configs.map((c) => ({ ...c, runs: rates.get(JSON.stringify(c))!, median: median(rates.get(JSON.stringify(c))!) }));
console.log('policy | threads | pool spin | samples/s (min-max) | vs 1 thread, same spin');
for (const r of rows) {
  const one = rows.find((x) => x.policy === r.policy && x.spin === r.spin && x.threads === 1)!.median;
  console.log(`${r.policy} | ${r.threads} | ${r.spin} | ${r.median.toFixed(0)} (${Math.min(...r.runs).toFixed(0)}-${Math.max(...r.runs).toFixed(0)}) | ${(r.median / one).toFixed(3)}`);
}
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'threads.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
