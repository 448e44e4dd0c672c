/**
 * Environments that make the PyTorch reference a fair opponent on this machine (../shared/research/baseline.md):
 * one thread (T1), two threads with passive OpenMP waiting (T2), or OpenMP 1 + OpenBLAS 2 (T2B). Debian's
 * OpenBLAS 0.3.21 does not recognise Zen 4 and falls back to its Prescott kernels (6x slower), so unless the
 * caller chose a core, the reference gets the AVX-512 kernels the CPU supports. hotline inherits the same.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function detectedOpenBlasCore(): string {
  const probe = "import ctypes; l=ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype=ctypes.c_char_p; print(l.openblas_get_corename().decode())";
  try {
    return execFileSync('/usr/bin/python3', ['-c', probe], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** The OPENBLAS_CORETYPE to run with, or undefined to leave OpenBLAS's own choice. */
export function openBlasCore(): string | undefined {
  if (process.env.OPENBLAS_CORETYPE) return process.env.OPENBLAS_CORETYPE;
  if (detectedOpenBlasCore() !== 'Prescott') return undefined;
  const flags = readFileSync('/proc/cpuinfo', 'utf8');
  if (/\bavx512_bf16\b/.test(flags)) return 'Cooperlake';
  if (/\bavx512f\b/.test(flags)) return 'SkylakeX';
  if (/\bavx2\b/.test(flags)) return 'Haswell';
  return undefined;
}

export type ReferenceThreads = 'T1' | 'T2' | 'T2B';

export function referenceEnv(threads: ReferenceThreads, core: string | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (core) env.OPENBLAS_CORETYPE = core;
  const settings = {
    T1: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
    T2: { OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2', OMP_WAIT_POLICY: 'PASSIVE' },
    T2B: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '2' },
  }[threads];
  return { ...env, ...settings };
}
