/** What a run ran on: versions, machine, kernels and threads (environment.json, and each resume's event). */
import { readFileSync } from 'node:fs';
import { cpus, hostname, platform, release, totalmem } from 'node:os';
import type { Device } from '../device/device.ts';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** `run`: the run's backend choice and compute threads. */
export function environment(device: Device, run: { backend: string; threads: number }): Record<string, unknown> {
  return {
    hotline: packageJson.version, node: process.version, v8: process.versions.v8, os: `${platform()} ${release()}`, arch: process.arch,
    cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryBytes: totalmem(), hostname: hostname(),
    backend: run.backend, device: device.name, kernels: device.describe(), threads: run.threads,
    gemm: process.env.HOTLINE_GEMM ?? 'auto', argv: process.argv.slice(2), cwd: process.cwd(), startedAt: new Date().toISOString(),
  };
}
