/**
 * An embedding tier: rows held somewhere (the compute device's memory, host memory, later an SSD or a remote
 * store) that can pool bags, apply a sparse update, and read or write rows for syncs and migration. A tier whose
 * memory the compute threads reach runs inline; a slow one does its work on a lane and returns the job to wait for.
 * FBGEMM's EmbeddingLocation is the kind; the lane is where its work queues.
 */
import type { Lane } from '../io/lane.ts';
import type { Kernels, SlotLayout, SparseOptimizer } from '../kernels/kernels.ts';
import type { RowChangeMeter } from '../popularity/staleness.ts';
import { idsOf, type Jagged, tableBags } from '../tensor/jagged.ts';

export type TierKind = 'device' | 'host' | 'ssd' | 'remote';

/** A sparse update's rule; each tier applies it with the optimizer state it keeps beside its rows. */
export interface SparseRule {
  optimizer: SparseOptimizer;
  lr: number;
  eps: number;
}

export interface EmbeddingTier {
  readonly kind: TierKind;
  /** null: inline on the compute device; else every pool and update is a job on this lane. */
  readonly lane: Lane | null;
  readonly dim: number;
  readonly bytes: number;
  /** Pools the bags (ids in this tier's slots) into out at the layout's slots; a lane job id, or null when done.
   *  On a lane the bags overwrite their slots (accumulate is for inline tiers). */
  pool(ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate?: boolean): number | null;
  /** Re-pools the bags that read a row of `touched` (a jagged whose ids were updated since): a lane job, or null. */
  repool(ids: Jagged, layout: SlotLayout, out: Float32Array, touched: Jagged): number | null;
  /** Applies the pooled gradient (grad(): asked for only where the tier reads it on the host). */
  update(ids: Jagged, layout: SlotLayout, grad: () => Float32Array, rule: SparseRule): number | null;
  /** Copies rows (table t's slot s for each pair) into into [n x dim], and their row-wise state into state. */
  readRows(tables: Int32Array, slots: Int32Array, into: Float32Array, state: Float32Array | null): void;
  writeRows(tables: Int32Array, slots: Int32Array, from: Float32Array, state: Float32Array | null): void;
  /** Starts reading an upcoming batch's rows (ids in this tier's slots), for its pool; absent where reads are not slow. */
  prefetch?(ids: Jagged): void;
  /** Frees memory the tier holds outside the process's heap (a device's); absent where there is none. */
  release?(): void;
  /** A meter of how far its rows move, measured where they are (absent: on copies read to the host). */
  changeMeter?(): RowChangeMeter;
}

/**
 * Rows in memory the CPU addresses: per table (the home tables) or one compact table shared by every table (a
 * placed tier, whose slots are unique across tables). Device or host by where it sits; inline or on a lane.
 */
export class MemoryTier implements EmbeddingTier {
  readonly dim: number;

  /** weights[t] and states?.[t]: table t's rows (the same compact arrays for every table in a placed tier). */
  constructor(
    readonly kind: TierKind, private readonly kernels: Kernels, readonly weights: Float32Array[], readonly states: Float32Array[] | null,
    dim: number, readonly lane: Lane | null = null,
  ) {
    this.dim = dim;
  }

  get bytes(): number {
    const unique = new Set([...this.weights, ...(this.states ?? [])]);
    return [...unique].reduce((a, w) => a + w.byteLength, 0);
  }

  pool(ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): number | null {
    if (this.lane) {
      if (accumulate) throw new Error('a lane pools into its own buffer: accumulate is for inline tiers');
      return this.lane.gather(this.weights, tableBags(ids), layout, out);
    }
    this.kernels.embeddingForward(this.weights, ids, layout, out, accumulate);
    return null;
  }

  repool(ids: Jagged, layout: SlotLayout, out: Float32Array, touched: Jagged): number | null {
    if (!this.lane) throw new Error('repool is a lane job: an inline tier is never read ahead');
    const rows = Array.from({ length: touched.tables }, (_, t) => idsOf(touched, t));
    return this.lane.refetch(this.weights, tableBags(ids), layout, out, rows);
  }

  update(ids: Jagged, layout: SlotLayout, grad: () => Float32Array, rule: SparseRule): number | null {
    const update = { ...rule, states: rule.optimizer === 'rowwise-adagrad' ? this.requireStates() : null };
    if (this.lane) return this.lane.update(this.weights, tableBags(ids), layout, grad(), update);
    this.kernels.embeddingUpdate(this.weights, ids, layout, grad(), update);
    return null;
  }

  private requireStates(): Float32Array[] {
    if (!this.states) throw new Error(`the ${this.kind} tier was built without optimizer state`);
    return this.states;
  }

  readRows(tables: Int32Array, slots: Int32Array, into: Float32Array, state: Float32Array | null): void {
    const d = this.dim, states = state && this.requireStates();
    for (let i = 0; i < slots.length; i++) {
      const w = this.weights[tables[i]], at = slots[i] * d;
      for (let j = 0; j < d; j++) into[i * d + j] = w[at + j];
      if (states) state![i] = states[tables[i]][slots[i]];
    }
  }

  writeRows(tables: Int32Array, slots: Int32Array, from: Float32Array, state: Float32Array | null): void {
    const d = this.dim, states = state && this.requireStates();
    for (let i = 0; i < slots.length; i++) {
      const w = this.weights[tables[i]], at = slots[i] * d;
      for (let j = 0; j < d; j++) w[at + j] = from[i * d + j];
      if (states) states[tables[i]][slots[i]] = state![i];
    }
  }
}

/** A placed tier's memory: one compact table of its rows (and their row-wise state when training keeps one). */
export function compactTier(
  kind: TierKind, kernels: Kernels, tables: number, rows: number, dim: number, state: { initial: number } | null, lane: Lane | null = null,
): MemoryTier {
  const room = Math.max(1, rows); // a tier the planner left empty still has an array to name
  const weights = kernels.allocateTable(room * dim), states = state ? kernels.allocateTable(room).fill(state.initial) : null;
  return new MemoryTier(kind, kernels, Array(tables).fill(weights), states && Array(tables).fill(states), dim, lane);
}
