/** The native addon (build/Release/hotline.node): kernels, parsers, scans and lanes. Each user declares the part it calls. */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const addonPath = fileURLToPath(new URL('../../build/Release/hotline.node', import.meta.url));

/** Loads the addon, or returns the reason it cannot be used. */
export function loadNativeAddon<T>(): T | Error {
  try {
    return createRequire(import.meta.url)(addonPath) as T;
  } catch (error) {
    return new Error(`native kernels not available (${(error as Error).message.split('\n')[0]}); run \`npm run build:native\``);
  }
}
