/**
 * The planner: fills the tiers fastest first with the most accessed rows, each up to its budget (TorchRec's planner
 * proposes per table; this one places rows). Each row costs its weights plus the optimizer state a tier keeps with
 * it (row-wise Adagrad: one float). Rows go by global count (FAE's rule), or, with the per-table quota, the first
 * tier's rows are shared out in proportion to each table's lookups. Rows never seen are never placed, so a budget
 * larger than the sampled rows is left partly unused, unless the tier fills by id order: then the rest of its budget
 * takes unseen rows by ascending id, every table's id 0 first, then every table's id 1, ... (preprocess numbers ids
 * by descending frequency over the whole data, so a sample's ranking is continued by the data's own; on data whose
 * ids are not so numbered the rows filled in are merely arbitrary). Host memory in front of the SSD fills this way.
 */
import type { AccessProfile, RowRanking } from '../popularity/profiler.ts';
import { Placement } from './placement.ts';

export type HotQuota = 'global' | 'per-table';

export interface TierBudget {
  budgetBytes: number;
  bytesPerRow: number;
  /** Fill what the ranked rows leave of the budget with unseen rows by id order. */
  fillByIdOrder?: boolean;
}

export function bytesPerRow(dim: number, stateFloatsPerRow: number): number {
  return 4 * (dim + stateFloatsPerRow);
}

/** Rows a budget holds. */
const rowsWithin = (b: TierBudget): number => Math.floor(b.budgetBytes / b.bytesPerRow);

/** A placement over the budgeted tiers (fastest first) and the home tier, from the ranked rows. */
export function planPlacement(profile: AccessProfile, ranking: RowRanking, budgets: readonly TierBudget[], quota: HotQuota = 'global'): Placement {
  const n = ranking.rows.length, taken = new Uint8Array(n), tierEnd = new Int32Array(budgets.length);
  const tableOfSlot: number[] = [], rowOfSlot: number[] = [];
  /** Per table, a bit per row placed so far (made when a tier first fills by id order). */
  let placed: Uint8Array[] | null = null;
  budgets.forEach((budget, k) => {
    const capacity = rowsWithin(budget), chosen = new Uint8Array(n);
    let size = 0;
    const choose = (i: number) => {
      taken[i] = chosen[i] = 1;
      size++;
    };
    if (k === 0 && quota === 'per-table') {
      const perTable = profile.counts.map(() => 0);
      for (let i = 0; i < n; i++) perTable[ranking.tables[i]] += ranking.counts[i];
      const share = perTable.map((c) => Math.floor((capacity * c) / Math.max(1, profile.lookups)));
      for (let i = 0; i < n && size < capacity; i++) if (share[ranking.tables[i]]-- > 0) choose(i);
    }
    for (let i = 0; i < n && size < capacity; i++) if (!taken[i]) choose(i);
    for (let i = 0; i < n; i++) {
      if (!chosen[i]) continue; // slots in rank order within the tier
      tableOfSlot.push(ranking.tables[i]);
      rowOfSlot.push(ranking.rows[i]);
    }
    if (budget.fillByIdOrder && size < capacity) {
      placed ??= placedRows(profile.tableRows, tableOfSlot, rowOfSlot);
      fillByIdOrder(profile.tableRows, placed, capacity - size, tableOfSlot, rowOfSlot); // every ranked row is placed by now
    }
    tierEnd[k] = tableOfSlot.length;
  });
  return new Placement(profile.tableRows, Int32Array.from(tableOfSlot), Int32Array.from(rowOfSlot), tierEnd);
}

/** A bit per row of each table, set for the rows already given slots. */
function placedRows(tableRows: readonly number[], tables: number[], rows: number[]): Uint8Array[] {
  const bits = tableRows.map((r) => new Uint8Array(Math.ceil(r / 8)));
  tables.forEach((t, i) => (bits[t][rows[i] >> 3] |= 1 << (rows[i] & 7)));
  return bits;
}

/** Adds up to `room` rows that no tier holds, by id order across the tables. */
function fillByIdOrder(tableRows: readonly number[], placed: Uint8Array[], room: number, tables: number[], rows: number[]): void {
  const longest = Math.max(0, ...tableRows);
  for (let r = 0; r < longest && room > 0; r++) {
    for (let t = 0; t < tableRows.length && room > 0; t++) {
      if (r >= tableRows[t] || placed[t][r >> 3] & (1 << (r & 7))) continue;
      placed[t][r >> 3] |= 1 << (r & 7);
      tables.push(t);
      rows.push(r);
      room--;
    }
  }
}
