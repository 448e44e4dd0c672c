/**
 * A policy decides how mini-batches are formed and where their embeddings live; the trainer and the
 * kernels stay the same for every policy (baseline now; FAE, Hotline and Slipstream plug in here).
 */
import type { Batch } from '../data/batch.ts';

/** Where training batches come from: a dataset with a seeded shuffle, or a generator. */
export interface BatchSource {
  readonly batchesPerEpoch: number;
  batches(epoch: number): Iterable<Batch>;
}

export interface Policy {
  readonly name: string;
  batchesPerEpoch(source: BatchSource): number;
  /** The mini-batches of one epoch in training order. */
  schedule(source: BatchSource, epoch: number): Iterable<Batch>;
  /** Forward, backward and one optimizer step on a mini-batch; returns its mean loss. */
  step(batch: Batch): number;
  /** Makes the host tables current before an evaluation reads them. */
  beforeEvaluation(): void;
  /** What the policy decided and measured (hot set, shares, syncs), for the run's summary. */
  report(): Record<string, unknown>;
}
