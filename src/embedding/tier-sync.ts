/**
 * Keeps a placed tier and the home tier coherent by dirty flags per slot: a batch that updates a placed row on one
 * side marks it, and a sync copies only the marked rows to the other side (through readRows and writeRows, so any
 * pair of tiers syncs the same way).
 */
import type { Kernels } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { Placement } from './placement.ts';
import type { EmbeddingTier } from './tier.ts';

export class TierSyncError extends Error {}

/** Rows a sync copies at once. */
const chunkRows = 1 << 16;

/** What a sync needs of a tier: row copies. */
export type RowCopies = Pick<EmbeddingTier, 'dim' | 'readRows' | 'writeRows'>;

/** A placed tier's row copies addressed by (table, row) through the placement that gave its slots (so it can stand
 *  as the home side of another tier's sync: FAE's host memory holding the hot rows' home copy). */
export function byRow(tier: EmbeddingTier, placement: Placement): RowCopies {
  const slotsOf = (tables: Int32Array, rows: Int32Array) => Int32Array.from(rows, (r, i) => placement.slotOf[tables[i]][r]);
  return {
    dim: tier.dim,
    readRows: (tables, rows, into, state) => tier.readRows(tables, slotsOf(tables, rows), into, state),
    writeRows: (tables, rows, from, state) => tier.writeRows(tables, slotsOf(tables, rows), from, state),
  };
}

export class TierSync {
  /** Per slot of the placed tier: the home copy is newer / the placed copy is newer. */
  private readonly homeNewer: Uint8Array;
  private readonly placedNewer: Uint8Array;

  /** withState: the tiers keep row-wise optimizer state, copied with the rows. */
  constructor(
    private readonly kernels: Kernels, private readonly placement: Placement, private readonly k: number,
    private readonly placed: RowCopies, private readonly home: RowCopies, private readonly withState: boolean,
  ) {
    this.homeNewer = new Uint8Array(placement.rowsIn(k)).fill(1);
    this.placedNewer = new Uint8Array(placement.rowsIn(k));
  }

  /** Records that a batch on the home tier (ids as rows) updated these rows. */
  markHomeUpdates(ids: Jagged): void {
    const slots = this.placement.split(this.kernels, ids)[this.k].ids;
    for (let p = 0; p < slots.length; p++) this.homeNewer[slots[p]] = 1;
  }

  /** Records that a batch on the placed tier (ids as its slots) updated these slots. */
  markPlacedUpdates(ids: Jagged): void {
    for (let p = 0; p < ids.ids.length; p++) this.placedNewer[ids.ids[p]] = 1;
  }

  /** Records that the placed tier's slots from .. to - 1 may have changed (written by another sync). */
  markPlacedRange(from: number, to: number): void {
    this.placedNewer.fill(1, from, to);
  }

  /** Copies the rows the home tier changed into the placed tier; returns how many. */
  loadFromHome(): number {
    if (this.placedNewer.some((v, s) => v && this.homeNewer[s])) throw new TierSyncError('a placed row changed on both tiers since the last sync');
    return this.copy(this.homeNewer, this.home, this.placed, true);
  }

  /** Copies the rows the placed tier changed back to the home tier; returns how many. */
  storeToHome(): number {
    return this.copy(this.placedNewer, this.placed, this.home, false);
  }

  /** Copies the dirty slots' rows, chunkRows at a time (a tier of millions of rows syncs in bounded memory). */
  private copy(dirty: Uint8Array, from: RowCopies, to: RowCopies, toPlaced: boolean): number {
    const { tables, rows } = this.placement.slotsOf(this.k), local = new Int32Array(chunkRows);
    let copied = 0;
    for (let s = 0; s < dirty.length;) {
      let n = 0;
      for (; s < dirty.length && n < chunkRows; s++) if (dirty[s]) local[n++] = s;
      if (n === 0) continue;
      const slots = local.subarray(0, n), table = Int32Array.from(slots, (x) => tables[x]), row = Int32Array.from(slots, (x) => rows[x]);
      const values = new Float32Array(n * from.dim), state = this.withState ? new Float32Array(n) : null;
      from.readRows(table, toPlaced ? row : slots, values, state);
      to.writeRows(table, toPlaced ? slots : row, values, state);
      copied += n;
    }
    dirty.fill(0);
    return copied;
  }
}
