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
    rowsFor50: rowsFor(0.5), rowsFor90: rowsFor(0.9), rowsFor99: rowsFor(0.99), curve,
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
