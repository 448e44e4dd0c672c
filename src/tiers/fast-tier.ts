/**
 * The fast tier: the hot rows in one compact table indexed by slot (FAE's hot embedding table), with their
 * row-wise Adagrad state when training uses it. It lives on the compute device; on a CPU-only machine it
 * is a compact, cache-friendly table beside the host tables, which stay where they are.
 *
 * Host and fast copies are kept coherent by dirty flags per slot: a batch that updates a hot row on one
 * side marks it, and a sync copies only the marked rows to the other side.
 */
import { freemem } from 'node:os';
import type { Bags, Kernels } from '../kernels/kernels.ts';
import type { EmbeddingStore, EmbeddingTables } from '../model/embeddings.ts';
import type { HotSet } from '../popularity/hot-set.ts';
import { formatBytes } from '../util/bytes.ts';

export class FastTierError extends Error {}

export class FastTier {
  readonly weights: Float32Array;
  /** Row-wise Adagrad state of the hot rows (null under SGD). */
  private readonly states: Float32Array | null;
  /** Per slot: the host copy is newer (set by host-side updates) / the fast copy is newer. */
  private readonly hostNewer: Uint8Array;
  private readonly fastNewer: Uint8Array;
  readonly bytes: number;

  /** rowWiseState: the optimizer's initial accumulator when it keeps row-wise state, else null. */
  constructor(
    private readonly kernels: Kernels, readonly hot: HotSet, readonly dim: number, private readonly tables: number,
    private readonly rowWiseState: { initial: number } | null, capacityBytes = freemem(),
  ) {
    this.bytes = hot.size * hot.bytesPerRow;
    if (this.bytes > hot.budgetBytes) {
      throw new FastTierError(`the hot set needs ${this.bytes} bytes, over its budget of ${hot.budgetBytes}`);
    }
    if (this.bytes > capacityBytes) {
      throw new FastTierError(
        `the fast tier needs ${formatBytes(this.bytes)} (${hot.size.toLocaleString('en-US')} rows x ${hot.bytesPerRow} bytes) ` +
          `but the device has ${formatBytes(capacityBytes)} free; lower --hot-budget`,
      );
    }
    this.weights = kernels.allocateTable(hot.size * dim);
    this.states = rowWiseState ? kernels.allocateTable(hot.size).fill(rowWiseState.initial) : null;
    this.hostNewer = new Uint8Array(hot.size).fill(1);
    this.fastNewer = new Uint8Array(hot.size);
  }

  /** The fast tier as a store for hot batches, whose ids are slots: the same compact table for every table. */
  store(): EmbeddingStore {
    return {
      weights: Array.from({ length: this.tables }, () => this.weights),
      rowWiseStates: () => {
        if (!this.states) throw new FastTierError('the fast tier was built without optimizer state');
        return Array.from({ length: this.tables }, () => this.states!);
      },
    };
  }

  /** Records that a batch on the host tables updated these rows (original ids). */
  markHostUpdates(bags: Bags): void {
    for (const slots of this.kernels.partitionLookups(this.hot.slotOf, bags).fast.indices) {
      for (let p = 0; p < slots.length; p++) this.hostNewer[slots[p]] = 1;
    }
  }

  /** Records that a hot batch updated these slots. */
  markFastUpdates(bags: Bags): void {
    for (const idx of bags.indices) for (let p = 0; p < idx.length; p++) this.fastNewer[idx[p]] = 1;
  }

  /** Copies the rows the host changed into the fast tier; returns how many. */
  loadFromHost(host: EmbeddingTables): number {
    return this.copy(host, this.hostNewer, true);
  }

  /** Copies the rows hot batches changed back to the host tables; returns how many. */
  storeToHost(host: EmbeddingTables): number {
    return this.copy(host, this.fastNewer, false);
  }

  private copy(host: EmbeddingTables, dirty: Uint8Array, toFast: boolean): number {
    const { dim } = this;
    const { tableOfSlot, rowOfSlot } = this.hot;
    if (toFast && this.fastNewer.some((v, s) => v && dirty[s])) {
      throw new FastTierError('a hot row changed on both tiers since the last sync');
    }
    const hostStates = this.rowWiseState ? host.rowWiseStates(this.rowWiseState.initial) : null;
    let copied = 0;
    for (let s = 0; s < dirty.length; s++) {
      if (!dirty[s]) continue;
      dirty[s] = 0;
      copied++;
      const w = host.weights[tableOfSlot[s]], at = rowOfSlot[s] * dim, f = s * dim;
      if (toFast) for (let j = 0; j < dim; j++) this.weights[f + j] = w[at + j];
      else for (let j = 0; j < dim; j++) w[at + j] = this.weights[f + j];
      if (hostStates && this.states) {
        if (toFast) this.states[s] = hostStates[tableOfSlot[s]][rowOfSlot[s]];
        else hostStates[tableOfSlot[s]][rowOfSlot[s]] = this.states[s];
      }
    }
    return copied;
  }
}

