import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.ts';
import { idsOf, type Jagged, jaggedOf } from '../src/tensor/jagged.ts';
import { HostTables } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import type { Kernels } from '../src/kernels/kernels.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { GpuDlrm } from '../src/model/gpu-dlrm.ts';
import { WebGpuDevice } from '../src/device/webgpu/webgpu-device.ts';
import { listAdapters } from '../src/device/webgpu/adapters.ts';
import { createKernels } from '../src/device/registry.ts';

export function randomArray(rng: Rng, n: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * scale;
  return a;
}

/** ||a - b|| / max(||b||, tiny): the relative error of a against the reference b. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let diff = 0, norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-30);
}

export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number, what: string): void {
  const err = relativeError(a, b);
  assert.ok(err <= tolerance, `${what}: relative error ${err.toExponential(2)} > ${tolerance}`);
}

/** A jagged batch as per-table columns with offsets from 0 (a dataset's shape). */
export function columnsOfJagged(j: Jagged): { categorical: Int32Array[]; offsets: Int32Array[] } {
  const categorical = Array.from({ length: j.tables }, (_, t) => idsOf(j, t));
  const offsets = categorical.map((_, t) => Int32Array.from(j.offsets.subarray(t * j.bags, (t + 1) * j.bags + 1), (o) => o - j.offsets[t * j.bags]));
  return { categorical, offsets };
}

/** A jagged batch from per-table CSR bags whose offsets start at 0. */
export function jaggedOfBags(b: { indices: Int32Array[]; offsets: Int32Array[] }): Jagged {
  const bags = b.offsets[0].length - 1;
  return jaggedOf(bags, b.indices, b.offsets);
}

/** A DLRM with its tables in host memory, as one tier (with row-wise state when `state` is given). */
export function dlrmOnHost(kernels: Kernels, arch: DlrmArch, seed: number, state: { initial: number } | null = null, gpu?: WebGpuDevice): { model: Dlrm; home: HostTables; tier: MemoryTier } {
  const model = gpu ? new GpuDlrm(gpu, arch, seed) : new Dlrm(kernels, arch, seed), home = new HostTables(kernels, model.tables, seed);
  return { model, home, tier: new MemoryTier('host', kernels, home.weights, state && home.rowWiseStates(state.initial), home.dim) };
}

export const gpuSkipReason = 'no WebGPU adapter here (Mesa 25 from bookworm-backports gives lavapipe; .ci/run installs it)';

/** The WebGPU device on the first adapter, or null where there is none. */
export async function openGpuForTests(): Promise<WebGpuDevice | null> {
  const adapters = await listAdapters();
  if (adapters instanceof Error || adapters.length === 0) return null;
  return WebGpuDevice.open(createKernels('auto'));
}

/** Central difference quotients of loss() w.r.t. the elements `at` of x (each set back after). */
export function differenceQuotients(x: Float32Array, at: ArrayLike<number>, loss: () => number, h: number): Float64Array {
  return Float64Array.from(at, (i) => {
    const saved = x[i];
    x[i] = saved + h;
    const up = loss();
    x[i] = saved - h;
    const down = loss();
    x[i] = saved;
    return (up - down) / (2 * h);
  });
}
