/**
 * GEMM on the DLRM layer shapes: hotline's own packed kernel and hotline's GEMM as it runs in training
 * (whichever engine it picked) against numpy's OpenBLAS, GFLOP/s, best of many calls, 1 thread, same
 * OpenBLAS core for both. Rounds alternate between the engines. Writes bench/out/gemm.json.
 *
 *   node --import tsx bench/gemm.ts [--batch 1024] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAddon } from '../src/kernels/native.ts';
import { presets } from '../src/model/arch.ts';
import { interactionWidth } from '../src/model/arch.ts';
import { openBlasCore, referenceEnv } from './reference-env.ts';

const { values } = parseArgs({ options: { batch: { type: 'string', default: '1024' }, rounds: { type: 'string', default: '3' } } });
const batch = Number(values.batch), rounds = Number(values.rounds);
const core = openBlasCore();
if (core) process.env.OPENBLAS_CORETYPE = core; // read when OpenBLAS loads with the addon below
const loaded = loadAddon();
if (loaded instanceof Error) throw loaded;
const addon = loaded;
const here = new URL('.', import.meta.url).pathname;

interface Shape { name: string; transA: boolean; transB: boolean; M: number; N: number; K: number }
const arch = presets.kaggle;
const layers: [string, number, number][] = [];
arch.bottomMlp.slice(1).forEach((out, l) => layers.push([`bot ${arch.bottomMlp[l]}->${out}`, arch.bottomMlp[l], out]));
const top = [interactionWidth(arch), ...arch.topMlp];
top.slice(1).forEach((out, l) => layers.push([`top ${top[l]}->${out}`, top[l], out]));
const shapes: Shape[] = layers.flatMap(([name, inputs, outputs]) => [
  { name: `${name} fwd`, transA: false, transB: true, M: batch, N: outputs, K: inputs },
  { name: `${name} dX`, transA: false, transB: false, M: batch, N: inputs, K: outputs },
  { name: `${name} dW`, transA: true, transB: false, M: outputs, N: inputs, K: batch },
]);

function hotlineGflops(s: Shape, own: boolean): number {
  const A = new Float32Array(s.M * s.K).fill(0.5), B = new Float32Array(s.K * s.N).fill(0.25), C = new Float32Array(s.M * s.N);
  const lda = s.transA ? s.M : s.K, ldb = s.transB ? s.K : s.N;
  const gemm = own ? addon.gemmOwn : addon.gemm;
  for (let i = 0; i < 3; i++) gemm(s.transA, s.transB, s.M, s.N, s.K, 1, A, lda, B, ldb, 0, C, s.N);
  let best = Infinity;
  for (let r = 0; r < 20; r++) {
    const t = process.hrtime.bigint();
    gemm(s.transA, s.transB, s.M, s.N, s.K, 1, A, lda, B, ldb, 0, C, s.N);
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return (2 * s.M * s.N * s.K) / best / 1e9;
}

const best = { own: shapes.map(() => 0), used: shapes.map(() => 0), numpy: shapes.map(() => 0) };
for (let r = 0; r < rounds; r++) {
  shapes.forEach((s, i) => {
    best.own[i] = Math.max(best.own[i], hotlineGflops(s, true));
    best.used[i] = Math.max(best.used[i], hotlineGflops(s, false));
  });
  const numpy = JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'gemm_numpy.py'), JSON.stringify(shapes)], { env: referenceEnv('T1', core), encoding: 'utf8' })) as number[];
  numpy.forEach((g, i) => (best.numpy[i] = Math.max(best.numpy[i], g)));
}
const engine = addon.info().gemm;
console.log(`GEMM GFLOP/s at batch ${batch}, 1 thread; hotline's training GEMM: ${engine}; OpenBLAS core: ${core ?? 'as detected'}`);
console.log('shape | M x N x K | hotline own | hotline (training) | numpy OpenBLAS | own / OpenBLAS');
const rows = shapes.map((s, i) => {
  const row = { ...s, own: best.own[i], training: best.used[i], numpy: best.numpy[i], ratio: best.own[i] / best.numpy[i] };
  console.log(`${s.name} | ${s.M}x${s.N}x${s.K} | ${row.own.toFixed(1)} | ${row.training.toFixed(1)} | ${row.numpy.toFixed(1)} | ${row.ratio.toFixed(2)}`);
  return row;
});
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'gemm.json'), JSON.stringify({ date: new Date().toISOString(), batch, engine, openblasCore: core ?? null, rows }, null, 2));
