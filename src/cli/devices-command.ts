/** `hotline devices`: the compute devices here (the CPU ones, and the GPU adapters WebGPU finds), with their limits. */
import { availableParallelism, totalmem } from 'node:os';
import { createDevice, deviceNames } from '../device/registry.ts';
import { type AdapterInfo, autoAdapter, listAdapters } from '../device/webgpu/adapters.ts';
import { loadAddon } from '../kernels/native.ts';
import { formatBytes } from '../util/bytes.ts';

const describeAdapter = (a: AdapterInfo) =>
  `  ${a.description || a.device} (${a.vendor || 'unknown vendor'}${a.software ? ', software rasteriser' : ''}): ` +
  `buffers up to ${formatBytes(a.limits.maxBufferSize)}, storage bindings ${formatBytes(a.limits.maxStorageBufferBindingSize)}, ` +
  `workgroup storage ${formatBytes(a.limits.maxComputeWorkgroupStorageSize)}, ${a.limits.maxComputeInvocationsPerWorkgroup} invocations`;

export async function runDevices(out: NodeJS.WriteStream = process.stdout): Promise<void> {
  const native = loadAddon();
  for (const name of deviceNames) {
    const what = name === 'cpu-native' && native instanceof Error ? `not built (${native.message})` : createDevice(name, availableParallelism()).describe();
    out.write(`${name.padEnd(11)} ${what}, ${formatBytes(totalmem())} host memory\n`);
  }
  const adapters = await listAdapters();
  if (adapters instanceof Error) {
    out.write(`webgpu      ${adapters.message}\n`);
    return;
  }
  out.write(`webgpu      ${adapters.length === 0 ? 'no adapter (no Vulkan driver offers one)' : `${adapters.length} adapter${adapters.length > 1 ? 's' : ''}:`}\n`);
  for (const a of adapters) out.write(`${describeAdapter(a)}\n`);
  const gpu = autoAdapter(adapters);
  out.write(`auto picks  ${gpu ? `the GPU ${gpu.description || gpu.device}` : `${createDevice('auto').name} (no GPU adapter that is not a software rasteriser)`}\n`);
}
