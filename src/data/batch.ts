import { type Jagged, selectBags } from '../tensor/jagged.ts';

/** One mini-batch as typed arrays: no per-row objects anywhere on the training path. */
export interface Batch {
  size: number;
  /** [size x denseFeatures], already log-transformed. */
  dense: Float32Array;
  /** Every table's bags of row ids (one bag per sample), as one jagged tensor. */
  sparse: Jagged;
  /** [size], 0 or 1. */
  labels: Float32Array;
  /** True for an all-hot batch whose ids are fast-tier slots (FAE), absent for host-table ids. */
  hot?: boolean;
}

/** Where training batches come from: a dataset with a seeded shuffle, or a generator. */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  /** The epoch's mini-batches from number `from` on (a resumed run skips those it trained). */
  batches(epoch: number, from?: number): Iterable<Batch>;
}

/** The given inputs of a batch, in that order (bags of any size). */
export function selectInputs(batch: Batch, inputs: number[]): Batch {
  const nd = batch.dense.length / batch.size, n = inputs.length;
  const dense = new Float32Array(n * nd), labels = new Float32Array(n);
  inputs.forEach((i, k) => {
    dense.set(batch.dense.subarray(i * nd, (i + 1) * nd), k * nd);
    labels[k] = batch.labels[i];
  });
  return { size: n, dense, labels, sparse: selectBags(batch.sparse, inputs) };
}
