/** Embedding-bag forward and SGD update timed over batches of one-hot lookups, in ns per lookup (bench/embedding.ts,
 *  bench/bounds-check.ts). */
import type { Kernels, SlotLayout } from '../src/kernels/kernels.ts';
import { type Jagged, jaggedOf } from '../src/tensor/jagged.ts';

/** Batch b of every column's ids: rows [b * batch, (b + 1) * batch), one lookup per bag. */
export function oneHotBatches(categorical: Int32Array[], batch: number, count: number): Jagged[] {
  return Array.from({ length: count }, (_, b) => jaggedOf(batch, categorical.map((c) => c.subarray(b * batch, (b + 1) * batch))));
}

/** The pooled output and a gradient for `tables` tables of `dim`, side by side per bag. */
export function lookupBuffers(batch: number, tables: number, dim: number): { layout: SlotLayout; out: Float32Array; grad: Float32Array } {
  const layout = { bags: batch, dim, stride: tables * dim, slot0: 0 };
  return { layout, out: new Float32Array(batch * layout.stride), grad: new Float32Array(batch * layout.stride).fill(1e-3) };
}

export function timeLookups(kernels: Kernels, weights: Float32Array[], batches: Jagged[], dim: number): { gather: number; update: number } {
  const batch = batches[0].bags, { layout, out, grad } = lookupBuffers(batch, weights.length, dim);
  let gather = 0, update = 0;
  for (const bags of batches) {
    let t = process.hrtime.bigint();
    kernels.embeddingForward(weights, bags, layout, out);
    gather += Number(process.hrtime.bigint() - t);
    t = process.hrtime.bigint();
    kernels.embeddingUpdate(weights, bags, layout, grad, { optimizer: 'sgd', lr: 0.01, eps: 0, states: null });
    update += Number(process.hrtime.bigint() - t);
  }
  const lookups = batches.length * batch * weights.length;
  return { gather: gather / lookups, update: update / lookups };
}
