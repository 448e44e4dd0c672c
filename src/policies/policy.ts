/**
 * A policy decides how mini-batches are formed and where their embeddings live; the trainer, the model and the
 * kernels stay the same for every policy (baseline, FAE, Hotline, Slipstream on either). Policies are built through
 * the registry (registry.ts) from a PolicyContext.
 */
import type { Batch, BatchSource } from '../data/batch.ts';
import type { TableStore } from '../embedding/table-store.ts';
import type { Device } from '../device/device.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { TimelineEvent } from '../pipeline/timeline.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

/** A checkpoint's share of a policy: small values as JSON, arrays as tensors. */
export interface PolicyState {
  json: Record<string, unknown>;
  tensors: Map<string, TensorArray>;
}

/** Receives a policy's decisions (hot set chosen, staleness threshold, ...) for the run's events. */
export type PolicyEvents = (event: string, fields: Record<string, unknown>) => void;

/** What a step trained: its samples and their mean loss, a number or, on a device that computes it
 *  asynchronously, a promise (so no device is made to stall every step). */
export interface StepResult {
  samples: number;
  loss: number | Promise<number>;
}

/** What every policy is built from. */
export interface PolicyContext {
  /** Runs the math, holds the fast tier, gives the lanes. */
  device: Device;
  model: Model;
  optimizer: Optimizer;
  /** Every row of every table: the home tier's memory. */
  home: TableStore;
  source: BatchSource;
  /** The checkpoint being resumed, for the state a policy needs at construction (FAE's hot set). */
  saved: { json: Record<string, unknown>; tensors: TensorReader } | null;
}

export interface Policy {
  readonly name: string;
  events: PolicyEvents;
  batchesPerEpoch(source: BatchSource): number;
  /** The mini-batches of one epoch in training order; with fromStep > 0, the rest of an epoch whose
   *  first fromStep batches were trained before restoreState. */
  schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch>;
  /** Forward, backward and one optimizer step on a mini-batch. */
  step(batch: Batch): StepResult;
  /** Finishes work in flight and makes the home tables current (before an evaluation or a checkpoint). */
  settle(): void;
  /** What a checkpoint must hold to continue exactly (called after settle). */
  saveState(): PolicyState;
  restoreState(json: Record<string, unknown>, tensors: TensorReader): void;
  /** Running counts for the metrics lines (inputs skipped, popular inputs, ...). */
  counters(): Record<string, number>;
  /** What the policy decided and measured (hot set, shares, syncs), for the run's summary. */
  report(): Record<string, unknown>;
  /** Lines for the console: once built (what it chose), and once training ends (what it did, in words). */
  describe(): string[];
  summary(trainSeconds: number): string[];
  /** The pipeline's timeline (empty for policies without one). */
  timeline(): readonly TimelineEvent[];
}
