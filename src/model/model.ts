/**
 * The model seam: what a policy, the optimizer and the trainer may ask of a model (DLRM today, TBSM next). Its sparse
 * part declares the tables and where their pooled vectors go; the tiers hold and pool the rows, so a model never
 * owns embedding storage and never calls back into a policy: a step runs the dense part, has the tiers fill the
 * pooled buffer (overlapping the dense work when it likes), then runs the rest.
 */
import type { Batch } from '../data/batch.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import type { TableConfig } from '../embedding/tables.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { SlotLayout } from '../kernels/kernels.ts';
import type { PhaseTimes } from '../util/phase-times.ts';
import type { DenseParam } from './mlp.ts';

export interface SparseArch {
  readonly tables: readonly TableConfig[];
  /** Ids per input and table that each pool alone: 1 for DLRM (an input's bag pools), tsLength + 1 for TBSM. */
  readonly events: number;
  /** The bags the tiers pool for a batch's lookups (its inputs' bags, one per input and table), one per slot of
   *  layout(n): the inputs' own for DLRM; one per event (each id alone) for TBSM, whose inputs are sequences. */
  bags(inputs: Jagged): Jagged;
  /** Where each table's pooled vector sits in the pooled buffer of n inputs. */
  layout(n: number): SlotLayout;
  /** Floats of the pooled buffer of n inputs. */
  pooledFloats(n: number): number;
}

/** How the dense parameters learn: SGD (applied as the backward pass goes), or Adagrad with an element-wise state
 *  per parameter, kept by the optimizer (`state` hands out a parameter's, created on first use). */
export type DenseRule =
  | { name: 'sgd'; lr: number }
  | { name: 'adagrad'; lr: number; eps: number; state(param: DenseParam): Float32Array };

export interface Model {
  readonly sparse: SparseArch;
  /** Seeds the parameters' initialisation; the home tables are initialised from it too. */
  readonly seed: number;
  /** Floating-point operations of the dense part per input and training step: forward, and a backward of twice
   *  its cost (the input and the weight gradients), as a performance model counts them. */
  denseFlops(): number;
  /** Values per input of the output (1: a logit). */
  readonly outputs: number;
  /** When set, the model's embedding work is timed into it. */
  times: PhaseTimes | null;
  denseParams(): DenseParam[];
  /** The dense work before the embeddings; returns the model's pooled buffer for the batch, for the tiers to fill. */
  forwardDense(batch: Batch): Float32Array;
  /** The rest of the forward pass once `pooled` (the model's buffer or the caller's) holds every table's vectors. */
  forwardOutput(pooled: Float32Array): Float32Array;
  /** Trains on the batch whose pooled buffer is filled: the rest of the forward pass, the mean BCE loss against
   *  labels, the backward pass and the dense update by rule; returns the loss. The pooled vectors' gradient is left
   *  in embeddingGrad(). */
  learn(pooled: Float32Array, labels: Float32Array, rule: DenseRule): number;
  embeddingGrad(): Float32Array;
  /** Brings the dense parameters (and the rule's state) back into denseParams()' arrays from where the model
   *  computes, before they are read (a checkpoint); a no-op where they are the arrays it computes on. */
  syncToHost(rule: DenseRule): void;
  /** Sends denseParams()' arrays (and, at its next step, the rule's state) to where the model computes, after they were set. */
  syncFromHost(): void;
  /** A placed tier in the device's memory whose work joins this model's step (absent: the device computes in host
   *  memory, and a placed tier is a compact host table). */
  deviceTier?(rows: number, state: { initial: number } | null): EmbeddingTier;
}

/** Each table's row count. */
export function tableRowsOf(model: Model): number[] {
  return model.sparse.tables.map((t) => t.rows);
}

/** The whole forward pass with every lookup pooled from one tier (inline), embedding time recorded. */
export function forwardOn(model: Model, batch: Batch, tier: EmbeddingTier): Float32Array {
  const pooled = model.forwardDense(batch), t0 = process.hrtime.bigint();
  tier.pool(model.sparse.bags(batch.sparse), model.sparse.layout(batch.size), pooled);
  model.times?.add('embedding', process.hrtime.bigint() - t0);
  return model.forwardOutput(pooled);
}
