/**
 * The devices by name (tfjs registers its backends the same way): cpu-native (C++ kernels, OpenBLAS GEMM when
 * linked), cpu-ts (the TypeScript oracle of every kernel); 'auto' takes cpu-native when the addon is built.
 */
import { loadAddon, NativeKernels } from '../kernels/native.ts';
import { TypeScriptKernels } from '../kernels/typescript.ts';
import { CpuDevice } from './cpu-device.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Device, DeviceName } from './device.ts';

export const deviceNames: readonly DeviceName[] = ['cpu-native', 'cpu-ts'];

const devices: Record<DeviceName, () => Device> = {
  'cpu-native': () => {
    const addon = loadAddon();
    if (addon instanceof Error) throw addon;
    return new CpuDevice('cpu-native', new NativeKernels(addon));
  },
  'cpu-ts': () => new CpuDevice('cpu-ts', new TypeScriptKernels()),
};

/** The named device with `threads` compute threads; 'auto': cpu-native when its addon loads, else cpu-ts. */
export function createDevice(name: DeviceName | 'auto', threads = 1): Device {
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
