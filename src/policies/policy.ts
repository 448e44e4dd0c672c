/**
 * A policy decides how mini-batches are formed and where their embeddings live; the trainer and the
 * kernels stay the same for every policy (baseline, FAE, Hotline, Slipstream on either).
 */
import type { Batch, BatchSource } from '../data/batch.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

/** A checkpoint's share of a policy: small values as JSON, arrays as tensors. */
export interface PolicyState {
  json: Record<string, unknown>;
  tensors: Map<string, TensorArray>;
}

/** Receives a policy's decisions (hot set chosen, staleness threshold, ...) for the run's events. */
export type PolicyEvents = (event: string, fields: Record<string, unknown>) => void;

export interface Policy {
  readonly name: string;
  events: PolicyEvents;
  batchesPerEpoch(source: BatchSource): number;
  /** The mini-batches of one epoch in training order; with fromStep > 0, the rest of an epoch whose
   *  first fromStep batches were trained before restoreState. */
  schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch>;
  /** Forward, backward and one optimizer step on a mini-batch; returns its mean loss. */
  step(batch: Batch): number;
  /** Finishes work in flight and makes the host tables current (before an evaluation or a checkpoint). */
  settle(): void;
  /** What a checkpoint must hold to continue exactly (called after settle). */
  saveState(): PolicyState;
  restoreState(json: Record<string, unknown>, tensors: TensorReader): void;
  /** Running counts for the metrics lines (inputs skipped, popular inputs, ...). */
  counters(): Record<string, number>;
  /** What the policy decided and measured (hot set, shares, syncs), for the run's summary. */
  report(): Record<string, unknown>;
}
