/**
 * The planner: fills the tiers fastest first with the most accessed rows, each up to its budget (TorchRec's planner
 * proposes per table; this one places rows). Each row costs its weights plus the optimizer state a tier keeps with
 * it (row-wise Adagrad: one float). Rows go by global count (FAE's rule), or, with the per-table quota, the first
 * tier's rows are shared out in proportion to each table's lookups. Rows never seen are never placed, so a budget
 * larger than the sampled rows is left partly unused.
 */
import type { AccessProfile, RowRanking } from '../popularity/profiler.ts';
import { Placement } from './placement.ts';

export type HotQuota = 'global' | 'per-table';

export interface TierBudget {
  budgetBytes: number;
  bytesPerRow: number;
}

export function bytesPerRow(dim: number, stateFloatsPerRow: number): number {
  return 4 * (dim + stateFloatsPerRow);
}

/** Rows a budget holds. */
const rowsWithin = (b: TierBudget): number => Math.floor(b.budgetBytes / b.bytesPerRow);

/** A placement over the budgeted tiers (fastest first) and the home tier, from the ranked rows. */
export function planPlacement(profile: AccessProfile, ranking: RowRanking, budgets: readonly TierBudget[], quota: HotQuota = 'global'): Placement {
  const n = ranking.rows.length, taken = new Uint8Array(n), order: number[] = [], tierEnd = new Int32Array(budgets.length);
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
    for (let i = 0; i < n; i++) if (chosen[i]) order.push(i); // slots in rank order within the tier
    tierEnd[k] = order.length;
  });
  const tableOfSlot = Int32Array.from(order, (i) => ranking.tables[i]), rowOfSlot = Int32Array.from(order, (i) => ranking.rows[i]);
  return new Placement(profile.tableRows, tableOfSlot, rowOfSlot, tierEnd);
}
