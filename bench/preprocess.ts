/**
 * Preprocessing throughput and peak RSS: hotline's `preprocess` on a synthetic Criteo TSV (Kaggle
 * cardinalities, written by `hotline gen --format tsv`), beside the reference approach (dlrm's Kaggle path in
 * Python/numpy, bench/reference_preprocess.py) on a slice of the same file, extrapolated by bytes.
 * Writes bench/out/preprocess.json.
 *
 *   node --import tsx bench/preprocess.ts [--rows 4000000] [--reference-rows 500000] [--file PATH]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '4000000' }, 'reference-rows': { type: 'string', default: '500000' }, file: { type: 'string' } } });
const here = new URL('.', import.meta.url).pathname;
const file = values.file ?? join(tmpdir(), `hotline-criteo-${values.rows}.tsv`);
if (!existsSync(file)) {
  console.log(`generating ${file} ...`);
  execFileSync(process.execPath, [join(here, '..', 'bin', 'hotline.mjs'), 'gen', '--format', 'tsv', '--rows', values.rows!, '--out', file], { stdio: 'inherit' });
}
const out = join(tmpdir(), 'hotline-preprocess-bench');
rmSync(out, { recursive: true, force: true });
rmSync(`${out}.partial`, { recursive: true, force: true });
const ours = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(here, 'preprocess-run.ts'), file, out], { encoding: 'utf8' }).trim().split('\n').pop()!);
rmSync(out, { recursive: true, force: true });
const npz = join(tmpdir(), 'hotline-reference.npz');
const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'reference_preprocess.py'), file, npz, values['reference-rows']!], { encoding: 'utf8' }).trim());
rmSync(npz, { force: true });
const mbps = (r: { bytes: number; seconds: number }) => r.bytes / 1e6 / r.seconds;
console.log('engine | rows | MB | seconds | MB/s | peak RSS');
console.log(`hotline preprocess | ${ours.rows.toLocaleString('en-US')} | ${(ours.bytes / 1e6).toFixed(0)} | ${ours.seconds.toFixed(1)} | ${mbps(ours).toFixed(1)} | ${(ours.maxRssKiB / 1024).toFixed(0)} MiB`);
console.log(`reference (dlrm-style Python) | ${ref.rows.toLocaleString('en-US')} | ${(ref.bytes / 1e6).toFixed(0)} | ${ref.seconds.toFixed(1)} | ${mbps(ref).toFixed(1)} | ${(ref.maxRssKiB / 1024).toFixed(0)} MiB`);
console.log(`ratio (MB/s): ${(mbps(ours) / mbps(ref)).toFixed(1)}x; the reference extrapolated to the whole file: ${((ours.bytes / 1e6) / mbps(ref)).toFixed(0)} s`);
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'preprocess.json'), JSON.stringify({ date: new Date().toISOString(), file, hotline: ours, reference: ref, ratio: mbps(ours) / mbps(ref) }, null, 2));
