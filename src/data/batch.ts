import type { Jagged } from '../tensor/jagged.ts';

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
