/**
 * bench/policies.ts on this checkout and another (e.g. the commit before a redesign), alternating whole runs so both
 * see the same machine state: per batch size and policy, the median samples/s of each, the spread, and new / old.
 * Writes bench/out/policies-compare.json.
 *
 *   node --import tsx bench/policies-compare.ts --compare-with DIR [--repeats 2] [--rows 1000000] [--threads 1]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { 'compare-with': { type: 'string' }, repeats: { type: 'string', default: '2' }, rows: { type: 'string', default: '1000000' }, threads: { type: 'string', default: '1' } },
});
if (!values['compare-with']) throw new Error('--compare-with DIR: the other checkout (built, with its node_modules)');
const here = new URL('.', import.meta.url).pathname, checkouts = { new: join(here, '..'), old: values['compare-with'] };
type Run = { batchSize: number; policy: string; samplesPerSecond: number; auc: number };
const results: Record<'new' | 'old', Run[][]> = { new: [], old: [] };
for (let r = 0; r < Number(values.repeats); r++) {
  for (const side of ['old', 'new'] as const) { // alternating, old first
    const root = checkouts[side];
    execFileSync(process.execPath, ['--import', 'tsx', join(root, 'bench', 'policies.ts'), '--rows', values.rows!, '--threads', values.threads!], { cwd: root, stdio: 'inherit' });
    results[side].push((JSON.parse(readFileSync(join(root, 'bench', 'out', 'policies.json'), 'utf8')) as { runs: Run[] }).runs);
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const rate = (side: 'new' | 'old', b: number, p: string) => results[side].map((runs) => runs.find((x) => x.batchSize === b && x.policy === p)!.samplesPerSecond);
const rows = results.new[0].map(({ batchSize, policy, auc }) => {
  const n = rate('new', batchSize, policy), o = rate('old', batchSize, policy);
  const oldAuc = results.old[0].find((x) => x.batchSize === batchSize && x.policy === policy)!.auc;
  return { batchSize, policy, newRuns: n, oldRuns: o, newOverOld: median(n) / median(o), auc, oldAuc };
});
console.log('\nbatch | policy | new samples/s (runs) | old samples/s (runs) | new / old | test AUC new (old)');
for (const r of rows) {
  const f = (xs: number[]) => `${median(xs).toFixed(0)} (${xs.map((x) => x.toFixed(0)).join(', ')})`;
  console.log(`${r.batchSize} | ${r.policy} | ${f(r.newRuns)} | ${f(r.oldRuns)} | ${r.newOverOld.toFixed(3)} | ${r.auc.toFixed(5)} (${r.oldAuc.toFixed(5)})`);
}
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'policies-compare.json'), JSON.stringify({ date: new Date().toISOString(), old: checkouts.old, rows }, null, 2));
