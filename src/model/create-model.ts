/** The DLRM for a device: on WebGPU its dense work runs as device programs, elsewhere on the device's kernels. */
import type { Device } from '../device/device.ts';
import { WebGpuDevice } from '../device/webgpu/webgpu-device.ts';
import type { DlrmArch } from './arch.ts';
import { Dlrm } from './dlrm.ts';
import { GpuDlrm } from './gpu-dlrm.ts';

export function createDlrm(device: Device, arch: DlrmArch, seed: number, tableNames?: readonly string[]): Dlrm {
  return device instanceof WebGpuDevice ? new GpuDlrm(device, arch, seed, tableNames) : new Dlrm(device.kernels, arch, seed, tableNames);
}
