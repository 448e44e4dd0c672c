/**
 * The hot set: the rows the fast tier holds under a byte budget. Each hot row costs its weights plus the
 * optimizer state the fast tier must hold with it (row-wise Adagrad: one float). Rows are taken by global
 * count (FAE's rule), or per table in proportion to each table's share of the lookups; rows never seen
 * in the sample are never hot, so a budget larger than the sampled rows is left partly unused.
 */
import type { Dataset } from '../data/dataset.ts';
import type { AccessProfile, RowRanking } from './profiler.ts';

export type HotQuota = 'global' | 'per-table';

export interface HotSet {
  budgetBytes: number;
  bytesPerRow: number;
  /** Hot rows held, at most floor(budget / bytesPerRow). */
  size: number;
  /** slotOf[t][row]: the row's slot in the fast tier, or -1 when cold. */
  slotOf: Int32Array[];
  tableOfSlot: Int32Array;
  rowOfSlot: Int32Array;
}

export function bytesPerHotRow(dim: number, stateFloatsPerRow: number): number {
  return 4 * (dim + stateFloatsPerRow);
}

export function selectHotSet(
  profile: AccessProfile, ranking: RowRanking, bytesPerRow: number, budgetBytes: number, quota: HotQuota = 'global',
): HotSet {
  const capacity = Math.floor(budgetBytes / bytesPerRow);
  const chosen = new Uint8Array(ranking.rows.length);
  let size = 0;
  if (quota === 'per-table') {
    const perTable = profile.counts.map(() => 0);
    for (let i = 0; i < ranking.tables.length; i++) perTable[ranking.tables[i]] += ranking.counts[i];
    const share = perTable.map((n) => Math.floor((capacity * n) / Math.max(1, profile.lookups)));
    for (let i = 0; i < ranking.rows.length && size < capacity; i++) {
      if (share[ranking.tables[i]] > 0) {
        share[ranking.tables[i]]--;
        chosen[i] = 1;
        size++;
      }
    }
  }
  for (let i = 0; i < ranking.rows.length && size < capacity; i++) {
    if (!chosen[i]) {
      chosen[i] = 1;
      size++;
    }
  }
  const tableOfSlot = new Int32Array(size), rowOfSlot = new Int32Array(size);
  let slot = 0;
  for (let i = 0; i < ranking.rows.length; i++) {
    if (!chosen[i]) continue;
    tableOfSlot[slot] = ranking.tables[i];
    rowOfSlot[slot] = ranking.rows[i];
    slot++;
  }
  return hotSetFromSlots(profile.tableRows, tableOfSlot, rowOfSlot, budgetBytes, bytesPerRow);
}

/** The hot set holding the given rows, slot by slot (as chosen, or as a checkpoint saved it). */
export function hotSetFromSlots(tableRows: number[], tableOfSlot: Int32Array, rowOfSlot: Int32Array, budgetBytes: number, bytesPerRow: number): HotSet {
  const slotOf = tableRows.map((n) => new Int32Array(n).fill(-1));
  for (let s = 0; s < tableOfSlot.length; s++) slotOf[tableOfSlot[s]][rowOfSlot[s]] = s;
  return { budgetBytes, bytesPerRow, size: tableOfSlot.length, slotOf, tableOfSlot, rowOfSlot };
}

/**
 * The share of the dataset's inputs that would be hot (every lookup in the hot set) at each global budget,
 * from one pass: an input is hot under a budget of N rows exactly when its coldest lookup ranks below N.
 * Rows the sample never saw have no rank, so an input touching one is cold at any budget, as under FAE.
 */
export function hotInputCurve(
  profile: AccessProfile, ranking: RowRanking, data: Dataset, bytesPerRow: number, budgetsBytes: number[],
): { budgetBytes: number; hotShare: number }[] {
  const { categorical: columns, rows, offsets } = data;
  const rankOf = profile.tableRows.map((n) => new Int32Array(n).fill(-1));
  for (let i = 0; i < ranking.rows.length; i++) rankOf[ranking.tables[i]][ranking.rows[i]] = i;
  const coldest = new Float64Array(rows);
  for (let input = 0; input < rows; input++) {
    let worst = 0;
    for (let t = 0; t < columns.length; t++) {
      const bag = offsets?.[t], from = bag ? bag[input] : input, to = bag ? bag[input + 1] : input + 1;
      for (let p = from; p < to; p++) {
        const r = rankOf[t][columns[t][p]];
        worst = r < 0 ? Infinity : Math.max(worst, r);
      }
    }
    coldest[input] = worst;
  }
  coldest.sort();
  return budgetsBytes.map((budgetBytes) => {
    const n = Math.floor(budgetBytes / bytesPerRow);
    let lo = 0, hi = coldest.length; // count of inputs whose coldest rank is below n
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (coldest[mid] < n) lo = mid + 1;
      else hi = mid;
    }
    return { budgetBytes, hotShare: lo / Math.max(1, coldest.length) };
  });
}

/** Splits the inputs into hot (at least `threshold` of their lookups hit hot rows; 1 = all) and cold. */
export function classifyInputs(columns: Int32Array[], rows: number, hot: HotSet, threshold = 1): { hot: Int32Array; cold: Int32Array } {
  const need = Math.ceil(threshold * columns.length - 1e-9);
  const hotRows: number[] = [], coldRows: number[] = [];
  for (let i = 0; i < rows; i++) {
    let hits = 0;
    for (let t = 0; t < columns.length; t++) if (hot.slotOf[t][columns[t][i]] >= 0) hits++;
    (hits >= need ? hotRows : coldRows).push(i);
  }
  return { hot: Int32Array.from(hotRows), cold: Int32Array.from(coldRows) };
}
