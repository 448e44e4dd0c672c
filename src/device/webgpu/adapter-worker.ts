/**
 * Runs in a worker thread: asks Dawn (the `webgpu` package) for its adapters and posts what they are. Dawn aborts the
 * process when the thread that owns its objects runs JavaScript for about 50 ms without yielding, so no hotline
 * thread that computes ever touches them (../shared/research/ts-stack.md, section 4).
 */
import { parentPort } from 'node:worker_threads';
import { create } from 'webgpu';
import type { AdapterInfo } from './adapters.ts';

const gpu = create([]);
const found = new Map<string, AdapterInfo>();
for (const powerPreference of ['high-performance', 'low-power'] as const) {
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) continue;
  const { vendor, architecture, device, description } = adapter.info, l = adapter.limits;
  found.set(description || device, {
    vendor, architecture, device, description, software: architecture === 'software' || /llvmpipe|lavapipe|swiftshader/i.test(description),
    limits: {
      maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  });
}
parentPort!.postMessage([...found.values()]);
