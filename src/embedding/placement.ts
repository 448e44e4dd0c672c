/**
 * Where every embedding row lives: a tier and a slot there. Tiers are ordered fastest first; the last is the home
 * tier, which holds every row at its own id (the host tables), so only the rows placed in a faster tier carry a
 * slot. Slots are numbered across the placed tiers in the planner's order (tier 0's first), so one slot map per
 * table answers both questions and the split is one lookup per id, as today's two-tier hot set was.
 */
import type { Kernels } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';

export class Placement {
  /** slotOf[t][row]: the row's slot across the placed tiers, or -1 when it lives only in the home tier. */
  readonly slotOf: Int32Array[];

  /** tierEnd[k]: the end of tier k's slots (tier k holds slots tierEnd[k - 1] .. tierEnd[k] - 1), one per placed tier;
   *  slotOf: the slot maps when another placement of the same slots has them (they take 4 bytes a row). */
  constructor(
    readonly tableRows: readonly number[], readonly tableOfSlot: Int32Array, readonly rowOfSlot: Int32Array, readonly tierEnd: Int32Array, slotOf?: Int32Array[],
  ) {
    if (tierEnd.length === 0 || tierEnd[tierEnd.length - 1] !== tableOfSlot.length) throw new RangeError('the placed tiers must end at the last slot');
    if (slotOf) {
      this.slotOf = slotOf;
      return;
    }
    this.slotOf = tableRows.map((n) => new Int32Array(n).fill(-1));
    for (let s = 0; s < tableOfSlot.length; s++) this.slotOf[tableOfSlot[s]][rowOfSlot[s]] = s;
  }

  /** Tiers, the home tier included. */
  get tiers(): number {
    return this.tierEnd.length + 1;
  }

  get home(): number {
    return this.tierEnd.length;
  }

  /** The first slot of placed tier k. */
  private tierStart(k: number): number {
    return k > 0 ? this.tierEnd[k - 1] : 0;
  }

  /** Rows held by placed tier k. */
  rowsIn(k: number): number {
    return this.tierEnd[k] - this.tierStart(k);
  }

  /** The (table, row) of each slot of placed tier k, slot by slot. */
  slotsOf(k: number): { tables: Int32Array; rows: Int32Array } {
    const from = this.tierStart(k);
    return { tables: this.tableOfSlot.subarray(from, this.tierEnd[k]), rows: this.rowOfSlot.subarray(from, this.tierEnd[k]) };
  }

  /** The tier of a row. */
  tierOf(table: number, row: number): number {
    const slot = this.slotOf[table][row];
    if (slot < 0) return this.home;
    let k = 0;
    while (slot >= this.tierEnd[k]) k++;
    return k;
  }

  /** Placed tiers 0 to k as one tier in front of the home tier, its slots numbered as across them. */
  upTo(k: number): Placement {
    const end = this.tierEnd[k], all = k === this.tierEnd.length - 1; // up to the last tier: the same slots, the same maps
    return new Placement(this.tableRows, this.tableOfSlot.subarray(0, end), this.rowOfSlot.subarray(0, end), Int32Array.of(end), all ? this.slotOf : undefined);
  }

  /** A batch's lookups as one jagged per tier, in batch order: placed tiers' as local slots, the home tier's as ids. */
  split(kernels: Kernels, ids: Jagged): Jagged[] {
    return kernels.splitLookups(this.slotOf, this.tierEnd, ids);
  }
}
