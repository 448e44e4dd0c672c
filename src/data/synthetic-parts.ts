/**
 * A large synthetic set as parts of `partRows` rows (part k is stream k of the same seed: the same hot ids and
 * effects), generated on worker threads (as arrays, or formatted as Criteo TSV) and yielded in order, with at
 * most two parts per thread in flight. The rows are the same whatever the thread count.
 */
import { Worker } from 'node:worker_threads';
import type { Dataset } from './dataset.ts';
import type { SyntheticSpec } from './synthetic.ts';

// A worker registers tsx (as bin/hotline.mjs does) before it loads the TypeScript worker module.
const workerBoot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then(({ register }) => { register(); return import(${JSON.stringify(new URL('./synthetic-worker.ts', import.meta.url).href)}); })`;

type Spec = Omit<SyntheticSpec, 'rows' | 'stream'>;

async function* inParts<T>(spec: Spec, rows: number, partRows: number, threads: number, tsv: boolean): AsyncGenerator<T> {
  const parts = Math.ceil(rows / partRows);
  const workers = Array.from({ length: Math.max(1, Math.min(threads, parts)) }, () => {
    const worker = new Worker(workerBoot, { eval: true });
    // A worker answers its parts in the order it got them.
    const waiting: { resolve: (value: T) => void; reject: (error: Error) => void }[] = [];
    worker.on('message', (value: T) => waiting.shift()!.resolve(value));
    worker.on('error', (error) => waiting.splice(0).forEach((w) => w.reject(error)));
    return { worker, waiting };
  });
  const pending = new Map<number, Promise<T>>();
  const start = (part: number) => {
    const w = workers[part % workers.length];
    pending.set(part, new Promise<T>((resolve, reject) => w.waiting.push({ resolve, reject })));
    w.worker.postMessage({ spec: { ...spec, rows: Math.min(partRows, rows - part * partRows), stream: part }, tsv });
  };
  const inFlight = 2 * workers.length;
  try {
    for (let part = 0; part < Math.min(parts, inFlight); part++) start(part);
    for (let part = 0; part < parts; part++) {
      const value = await pending.get(part)!;
      pending.delete(part);
      if (part + inFlight < parts) start(part + inFlight);
      yield value;
    }
  } finally {
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

export const generateInParts = (spec: Spec, rows: number, partRows: number, threads: number) => inParts<Dataset>(spec, rows, partRows, threads, false);
export const generateTsvInParts = (spec: Spec, rows: number, partRows: number, threads: number) => inParts<Uint8Array>(spec, rows, partRows, threads, true);
