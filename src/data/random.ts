/**
 * dlrm's `--data-generation random` for speed runs: uniform indices over every table, uniform dense
 * features in [0, 1) and random 0/1 labels, one-hot bags. Batch i depends only on (seed, i).
 */
import { Rng } from '../util/rng.ts';
import type { Batch } from './batch.ts';
import type { Dataset } from './dataset.ts';
import { jaggedOf } from '../tensor/jagged.ts';

export function randomRows(tableRows: number[], denseFeatures: number, rows: number, seed: number, stream = 0): Dataset {
  const rng = new Rng(seed, stream + 1);
  const dense = new Float32Array(rows * denseFeatures);
  for (let i = 0; i < dense.length; i++) dense[i] = rng.next();
  const categorical = tableRows.map((n) => {
    const idx = new Int32Array(rows);
    for (let i = 0; i < rows; i++) idx[i] = rng.int(n);
    return idx;
  });
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) labels[i] = rng.next() < 0.5 ? 0 : 1;
  return { rows, denseFeatures, tableRows, dense, categorical, labels };
}

export function randomBatch(tableRows: number[], denseFeatures: number, size: number, seed: number, index: number): Batch {
  const { dense, categorical, labels } = randomRows(tableRows, denseFeatures, size, seed, index);
  return { size, dense, sparse: jaggedOf(size, categorical), labels };
}
