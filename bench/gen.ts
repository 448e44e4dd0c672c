/**
 * Synthetic generator throughput (rows per minute), Kaggle cardinalities: `hotline gen` as a binary dataset and as
 * raw TSV, on every core against one worker thread (the reference) in the same run. Writes bench/out/gen.json.
 *   node --import tsx bench/gen.ts [--rows 8000000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '8000000' } } });
const bin = join(import.meta.dirname, '..', 'bin', 'hotline.mjs'), out = join(tmpdir(), 'hotline-bench-gen');
const results = [];
for (const format of ['binary', 'tsv']) {
  for (const threads of [1, availableParallelism()]) {
    rmSync(out, { recursive: true, force: true });
    const started = process.hrtime.bigint();
    execFileSync(process.execPath, [bin, 'gen', '--rows', values.rows!, '--format', format, '--threads', String(threads), '--out', out]);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    results.push({ format, threads, seconds, rowsPerMinute: (Number(values.rows) / seconds) * 60 });
  }
}
rmSync(out, { recursive: true, force: true });
console.log('format | threads | seconds | M rows/min | vs 1 thread');
for (const r of results) {
  const one = results.find((x) => x.format === r.format && x.threads === 1)!;
  console.log(`${r.format} | ${r.threads} | ${r.seconds.toFixed(1)} | ${(r.rowsPerMinute / 1e6).toFixed(1)} | ${(r.rowsPerMinute / one.rowsPerMinute).toFixed(2)}x`);
}
mkdirSync(join(import.meta.dirname, 'out'), { recursive: true });
writeFileSync(join(import.meta.dirname, 'out', 'gen.json'), JSON.stringify({ rows: Number(values.rows), results }, null, 2));
