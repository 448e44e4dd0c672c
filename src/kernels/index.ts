import type { Kernels } from './kernels.ts';
import { loadAddon, NativeKernels } from './native.ts';
import { TypeScriptKernels } from './typescript.ts';

export type BackendName = 'auto' | 'native' | 'typescript';

/** The kernels to run on: 'auto' takes the native addon when it is built, else the TypeScript kernels. */
export function createKernels(backend: BackendName = 'auto', threads = 1): Kernels {
  let kernels: Kernels;
  if (backend === 'typescript') {
    kernels = new TypeScriptKernels();
  } else {
    const addon = loadAddon();
    if (addon instanceof Error) {
      if (backend === 'native') throw addon;
      kernels = new TypeScriptKernels();
    } else {
      kernels = new NativeKernels(addon);
    }
  }
  kernels.setThreads(threads);
  return kernels;
}
