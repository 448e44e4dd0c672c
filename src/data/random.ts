/**
 * dlrm's `--data-generation random` for speed runs: uniform indices over every table, uniform dense
 * features in [0, 1) and random 0/1 labels, one-hot bags. Batch i depends only on (seed, i).
 */
import { Rng } from '../util/rng.ts';
import type { Batch } from './batch.ts';
import { oneHotOffsets } from './dataset.ts';

export function randomBatch(tableRows: number[], denseFeatures: number, size: number, seed: number, index: number): Batch {
  const rng = new Rng(seed, index + 1);
  const dense = new Float32Array(size * denseFeatures);
  for (let i = 0; i < dense.length; i++) dense[i] = rng.next();
  const indices = tableRows.map((rows) => {
    const idx = new Int32Array(size);
    for (let i = 0; i < size; i++) idx[i] = rng.int(rows);
    return idx;
  });
  const labels = new Float32Array(size);
  for (let i = 0; i < size; i++) labels[i] = rng.next() < 0.5 ? 0 : 1;
  const offsets = oneHotOffsets(size);
  return { size, dense, sparse: { indices, offsets: indices.map(() => offsets) }, labels };
}
