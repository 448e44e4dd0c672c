/**
 * The devices by name (tfjs registers its backends the same way): cpu-native (C++ kernels, OpenBLAS GEMM when
 * linked), cpu-ts (the TypeScript oracle of every kernel); 'auto' takes cpu-native when the addon is built.
 */
import { loadAddon, NativeKernels } from '../kernels/native.ts';
import { TypeScriptKernels } from '../kernels/typescript.ts';
import { CpuDevice } from './cpu-device.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { CpuDeviceName, Device } from './device.ts';
import { autoAdapter, listAdapters, mayHaveHardwareGpu } from './webgpu/adapters.ts';
import { WebGpuDevice } from './webgpu/webgpu-device.ts';

export const deviceNames: readonly CpuDeviceName[] = ['cpu-native', 'cpu-ts'];

const devices: Record<CpuDeviceName, () => Device> = {
  'cpu-native': () => {
    const addon = loadAddon();
    if (addon instanceof Error) throw addon;
    return new CpuDevice('cpu-native', new NativeKernels(addon));
  },
  'cpu-ts': () => new CpuDevice('cpu-ts', new TypeScriptKernels()),
};

/** The named device with `threads` compute threads; 'auto': cpu-native when its addon loads, else cpu-ts. */
export function createDevice(name: CpuDeviceName | 'auto', threads = 1): Device {
  const device = name === 'auto' ? (loadAddon() instanceof Error ? devices['cpu-ts']() : devices['cpu-native']()) : devices[name]();
  device.kernels.setThreads(threads);
  return device;
}

export type BackendName = 'auto' | 'native' | 'typescript';

/** The device for a --backend choice. */
export function deviceFor(backend: BackendName, threads = 1): Device {
  return createDevice(backend === 'auto' ? 'auto' : backend === 'native' ? 'cpu-native' : 'cpu-ts', threads);
}

/** The kernels of a CPU device ('native' refuses to fall back when the addon is not built). */
export function createKernels(backend: BackendName = 'auto', threads = 1): Kernels {
  return deviceFor(backend, threads).kernels;
}

/** What --device chooses: the CPU, the GPU through WebGPU, or auto (a GPU that is not a software rasteriser, else the CPU). */
export type DeviceChoice = 'cpu' | 'webgpu' | 'auto';

/** The device to train on; a GPU device keeps the host side (host tiers, lanes) on the CPU kernels of `backend`. */
export async function openDevice(choice: DeviceChoice, backend: BackendName, threads = 1): Promise<Device> {
  const cpu = deviceFor(backend, threads);
  if (choice === 'cpu') return cpu;
  if (choice === 'webgpu') return WebGpuDevice.open(cpu.kernels);
  if (!mayHaveHardwareGpu()) return cpu;
  const adapters = await listAdapters(), gpu = adapters instanceof Error ? null : autoAdapter(adapters);
  return gpu ? WebGpuDevice.open(cpu.kernels, gpu.description || gpu.device) : cpu;
}
