/**
 * The GPU adapters this machine offers through WebGPU (Dawn, the `webgpu` package), listed from a worker thread, and
 * the rule `--device auto` follows: a real GPU when an adapter that is not a software rasteriser exists, else the CPU.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tsWorker } from '../../util/ts-worker.ts';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (Mesa's lavapipe, SwiftShader): correct, but no faster than the CPU. */
  software: boolean;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number };
}

/** Every adapter Dawn finds (none where no Vulkan driver gives one), or the reason WebGPU could not be asked. */
export function listAdapters(): Promise<AdapterInfo[] | Error> {
  return new Promise((resolve) => {
    const worker = tsWorker(new URL('./adapter-worker.ts', import.meta.url));
    worker.once('message', (adapters: AdapterInfo[]) => {
      resolve(adapters);
      void worker.terminate();
    });
    worker.once('error', (error) => resolve(new Error(`WebGPU is not available: ${error.message.split('\n')[0]}`)));
  });
}

/** The adapter `--device auto` trains on: the first that is not a software rasteriser, or null (the CPU). */
export function autoAdapter(adapters: readonly AdapterInfo[]): AdapterInfo | null {
  return adapters.find((a) => !a.software) ?? null;
}

/** Whether this machine may have a GPU that is not a software rasteriser: on Linux one needs a device node (a DRM
 *  render node, NVIDIA's, or WSL's), so without one `--device auto` skips asking Dawn (about 0.4 s). */
export function mayHaveHardwareGpu(): boolean {
  if (process.platform !== 'linux') return true;
  const dri = existsSync('/dev/dri') && readdirSync('/dev/dri').some((n) => n.startsWith('renderD'));
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}
