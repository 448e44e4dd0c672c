/** The model for a device: DLRM or TBSM (on WebGPU the dense work of DLRM, and TBSM's event tower, run as device
 *  programs; elsewhere on the device's kernels). */
import type { Device } from '../device/device.ts';
import { WebGpuDevice } from '../device/webgpu/webgpu-device.ts';
import type { DlrmArch } from './arch.ts';
import { Dlrm } from './dlrm.ts';
import { GpuDlrm } from './gpu-dlrm.ts';
import type { Model } from './model.ts';
import type { TbsmArch } from './tbsm/tbsm-arch.ts';
import { Tbsm } from './tbsm/tbsm.ts';

export type ModelSpec = { kind: 'dlrm'; arch: DlrmArch } | { kind: 'tbsm'; arch: TbsmArch };

export function createDlrm(device: Device, arch: DlrmArch, seed: number, tableNames?: readonly string[]): Dlrm {
  return device instanceof WebGpuDevice ? new GpuDlrm(device, arch, seed, tableNames) : new Dlrm(device.kernels, arch, seed, tableNames);
}

export function createModel(device: Device, spec: ModelSpec, seed: number, tableNames?: readonly string[]): Model {
  if (spec.kind === 'dlrm') return createDlrm(device, spec.arch, seed, tableNames);
  // On WebGPU the event tower (the step's GEMMs, on batch x events rows) computes there, the time series layer here.
  const tower = device instanceof WebGpuDevice ? (a: DlrmArch) => new GpuDlrm(device, a, seed, tableNames, 'vector') : undefined;
  return new Tbsm(device.kernels, spec.arch, seed, tableNames, tower);
}
