/** Skew statistics of an access profile: how few rows carry most lookups, per table and pooled. */
import type { AccessProfile, RowRanking } from './profiler.ts';

export interface SkewStats {
  name: string;
  rows: number;
  lookups: number;
  /** Share of lookups on the hottest 1% and 10% of the rows. */
  top1: number;
  top10: number;
  /** How many rows carry 50%, 90% and 99% of the lookups. */
  rowsFor50: number;
  rowsFor90: number;
  rowsFor99: number;
  /** Lookups of the hottest row, and of the median row among those looked up (FAE's "accessed up to 10000X more"
   *  compares the two). */
  hottest: number;
  medianAccessed: number;
  /** Cumulative curve: (share of rows, share of lookups) at log-spaced row shares. */
  curve: { rowShare: number; lookupShare: number }[];
}

function statsOf(name: string, rows: number, descending: ArrayLike<number>): SkewStats {
  let lookups = 0;
  for (let i = 0; i < descending.length; i++) lookups += descending[i];
  const prefix = new Float64Array(descending.length + 1);
  for (let i = 0; i < descending.length; i++) prefix[i + 1] = prefix[i] + descending[i];
  const shareOfTop = (k: number) => (lookups === 0 ? 0 : prefix[Math.min(Math.max(k, 0), descending.length)] / lookups);
  const rowsFor = (share: number) => {
    let lo = 0, hi = descending.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (prefix[mid + 1] >= share * lookups) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  };
  const curve: SkewStats['curve'] = [];
  for (let e = -6; e <= 0; e += 0.25) {
    const rowShare = 10 ** e;
    if (rowShare * rows < 1) continue;
    curve.push({ rowShare, lookupShare: shareOfTop(Math.round(rowShare * rows)) });
  }
  return {
    name, rows, lookups, top1: shareOfTop(Math.ceil(rows * 0.01)), top10: shareOfTop(Math.ceil(rows * 0.1)),
    rowsFor50: rowsFor(0.5), rowsFor90: rowsFor(0.9), rowsFor99: rowsFor(0.99),
    hottest: descending[0] ?? 0, medianAccessed: descending[Math.floor(descending.length / 2)] ?? 0, curve,
  };
}

/** Skew per table (named by its column, C1.. when unnamed) and over all tables pooled. */
export function skewStats(profile: AccessProfile, ranking: RowRanking, names?: string[]): { tables: SkewStats[]; pooled: SkewStats } {
  const tables = profile.counts.map((c, t) => {
    const nonzero = c.filter((v) => v > 0).sort().reverse();
    return statsOf(names?.[t] ?? `C${t + 1}`, profile.tableRows[t], nonzero);
  });
  const pooled = statsOf('all tables', profile.tableRows.reduce((a, b) => a + b, 0), ranking.counts);
  return { tables, pooled };
}

/** The lookups of each distinct id of a column, most first: one counter per table row when the table is not much
 *  larger than the lookups, else from the ids sorted, so that memory and time follow the lookups (a hashed table may
 *  have 2^31 rows for a few thousand ids). */
function countsOfIds(ids: Int32Array, tableRows: number): Uint32Array {
  if (tableRows <= 4 * ids.length) {
    const counts = new Uint32Array(tableRows);
    for (let i = 0; i < ids.length; i++) counts[ids[i]]++;
    return counts.filter((c) => c > 0).sort().reverse();
  }
  const sorted = ids.slice().sort(), counts: number[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[i]) j++;
    counts.push(j - i);
    i = j;
  }
  return Uint32Array.from(counts).sort().reverse();
}

/** Skew per column of every lookup in `columns` (tables of tableRows rows), with the distinct ids each uses, and pooled. */
export function skewOfIds(columns: Int32Array[], tableRows: number[], names: string[]): { tables: (SkewStats & { used: number })[]; pooled: SkewStats } {
  const counts = columns.map((ids, t) => countsOfIds(ids, tableRows[t]));
  const tables = counts.map((c, t) => ({ ...statsOf(names[t], tableRows[t], c), used: c.length }));
  const all = new Uint32Array(counts.reduce((n, c) => n + c.length, 0));
  counts.reduce((at, c) => (all.set(c, at), at + c.length), 0);
  return { tables, pooled: statsOf('all tables', tableRows.reduce((a, b) => a + b, 0), all.sort().reverse()) };
}
