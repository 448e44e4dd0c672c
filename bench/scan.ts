/**
 * The dataset loader's range scans (src/data/scan.ts), GB/s, native at 1 and 2 threads against the TypeScript
 * fallback, on a Kaggle-size column set: 45,840,617 rows of 26 int32 ids (each checked against its table's
 * rows), a float32 label and 13 float32 dense values. All of it (7.3 GB) is too much to hold beside the
 * trainer's copy, so the scans run on 1/8 of the rows and the seconds for the full set are scaled by 8 (a
 * scan is a pass over memory, linear in its bytes). Engines alternate within each round, after a warm-up round;
 * the table gives the median of the rounds and their spread (slowest-fastest). Writes bench/out/scan.json.
 *
 *   node --import tsx bench/scan.ts [--rounds 5] [--fraction 8]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { nativeScans, type Scans, typescriptScans } from '../src/data/scan.ts';
import { loadAddon } from '../src/kernels/native.ts';
import { presets } from '../src/model/arch.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, fraction: { type: 'string', default: '8' } } });
const rounds = Number(values.rounds), fraction = Number(values.fraction);
const addon = loadAddon();
if (addon instanceof Error || !nativeScans) throw addon;
const kaggleRows = 45_840_617, denseFeatures = 13, tableRows = presets.kaggle.tableRows;
const rows = Math.ceil(kaggleRows / fraction);

// Good values throughout (a full pass, as on a sound dataset), from a xorshift generator (fast to fill).
let state = 0x9e3779b9;
const next = () => ((state ^= state << 13), (state ^= state >>> 17), (state ^= state << 5), state >>> 0);
const ids = tableRows.map((n) => {
  const column = new Int32Array(rows);
  for (let i = 0; i < rows; i++) column[i] = next() % n;
  return column;
});
const labels = Float32Array.from({ length: rows }, () => next() & 1);
const dense = new Float32Array(rows * denseFeatures);
for (let i = 0; i < dense.length; i++) dense[i] = Math.log1p(next() % 1000);

type Column = 'ids' | 'labels' | 'dense';
const bytes: Record<Column, number> = { ids: ids.length * rows * 4, labels: labels.byteLength, dense: dense.byteLength };
const scan: Record<Column, (s: Scans) => number> = {
  ids: (s) => ids.reduce((bad, column, t) => Math.max(bad, s.firstIdOutOfRange(column, tableRows[t])), -1),
  labels: (s) => s.firstNotBinary(labels),
  dense: (s) => s.firstNonFinite(dense),
};
const engines: [string, Scans, number][] = [['native 1T', nativeScans, 1], ['native 2T', nativeScans, 2], ['typescript', typescriptScans, 1]];

const seconds = new Map<string, number[]>();
for (let round = -1; round < rounds; round++) { // round -1 warms the JIT and the pages, unrecorded
  for (const [name, scans, threads] of engines) {
    addon.setThreads(threads);
    for (const column of Object.keys(scan) as Column[]) {
      const t = process.hrtime.bigint();
      if (scan[column](scans) !== -1) throw new Error(`${name}: ${column} has a bad value`);
      const key = `${name}|${column}`;
      if (round >= 0) seconds.set(key, [...(seconds.get(key) ?? []), Number(process.hrtime.bigint() - t) / 1e9]);
    }
  }
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
const gbps = (column: Column, s: number) => bytes[column] / 1e9 / s;
const results: Record<string, unknown>[] = [];
console.log(`range scans on 1/${fraction} of Kaggle (${rows.toLocaleString('en-US')} rows: ids ${(bytes.ids / 1e9).toFixed(2)} GB, labels ${(bytes.labels / 1e9).toFixed(2)} GB, dense ${(bytes.dense / 1e9).toFixed(2)} GB), ${rounds} rounds`);
console.log('engine | ids GB/s | labels GB/s | dense GB/s | full Kaggle s (x' + fraction + ')');
for (const [name] of engines) {
  const cells = (Object.keys(scan) as Column[]).map((column) => {
    const s = seconds.get(`${name}|${column}`)!;
    const [lo, hi] = [Math.max(...s), Math.min(...s)].map((x) => gbps(column, x));
    return { column, gbps: gbps(column, median(s)), spread: [lo, hi], seconds: median(s) };
  });
  const full = cells.reduce((sum, c) => sum + c.seconds, 0) * fraction;
  console.log(`${name} | ${cells.map((c) => `${c.gbps.toFixed(2)} (${c.spread[0].toFixed(2)}-${c.spread[1].toFixed(2)})`).join(' | ')} | ${full.toFixed(2)}`);
  results.push({ engine: name, columns: cells, fullKaggleSeconds: full });
}
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'scan.json'), JSON.stringify({ date: new Date().toISOString(), kaggleRows, fraction, rows, bytes, rounds, results }, null, 2));
