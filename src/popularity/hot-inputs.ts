/**
 * Hot inputs: an input is hot when every lookup falls in the fast tier (FAE's rule). The share of them by budget
 * (from a profile's ranking), and the split of a dataset's inputs under a placement's slot maps.
 */
import type { Dataset } from '../data/dataset.ts';
import type { AccessProfile, RowRanking } from './profiler.ts';

/**
 * Where the rows the sample never saw go in the hot set: nowhere (cold at any budget, as hotline's FAE places its
 * fast tier), or after the ranked rows in the authors' order, which their profiler's argsort()[::-1] over the stacked
 * tables gives: the zero-count rows from the last table's last row backwards, so a large budget holds whole late
 * tables whatever their use (the tutorial's 44.4% at 512 MB owes part of its hot inputs to this).
 */
export type UnseenRows = 'cold' | 'authors';

/**
 * The share of the dataset's inputs that would be hot (every lookup in the hot set) at each global budget,
 * from one pass: an input is hot under a budget of N rows exactly when its coldest lookup ranks below N.
 */
export function hotInputCurve(
  profile: AccessProfile, ranking: RowRanking, data: Dataset, bytesPerRow: number, budgetsBytes: number[], unseen: UnseenRows = 'cold',
): { budgetBytes: number; hotShare: number }[] {
  const { categorical: columns, rows, offsets } = data;
  const rankOf = profile.tableRows.map((n) => new Int32Array(n).fill(-1));
  for (let i = 0; i < ranking.rows.length; i++) rankOf[ranking.tables[i]][ranking.rows[i]] = i;
  if (unseen === 'authors') {
    let next = ranking.rows.length;
    for (let t = rankOf.length - 1; t >= 0; t--) for (let r = rankOf[t].length - 1; r >= 0; r--) if (rankOf[t][r] < 0) rankOf[t][r] = next++;
  }
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

/** Splits the inputs into hot (at least `threshold` of their lookups, every id of every bag, have a slot below
 *  fastSlots in slotOf, the fast tier's; 1 = all: for TBSM, its whole history) and cold. */
export function classifyInputs(
  data: Pick<Dataset, 'categorical' | 'rows' | 'offsets'>, slotOf: Int32Array[], fastSlots: number, threshold = 1,
): { hot: Int32Array; cold: Int32Array } {
  const { categorical: columns, offsets } = data, hotRows: number[] = [], coldRows: number[] = [];
  for (let i = 0; i < data.rows; i++) {
    let hits = 0, lookups = 0;
    for (let t = 0; t < columns.length; t++) {
      const bag = offsets?.[t], from = bag ? bag[i] : i, to = bag ? bag[i + 1] : i + 1;
      for (let p = from; p < to; p++) {
        const slot = slotOf[t][columns[t][p]];
        if (slot >= 0 && slot < fastSlots) hits++;
      }
      lookups += to - from;
    }
    (hits >= Math.ceil(threshold * lookups - 1e-9) ? hotRows : coldRows).push(i);
  }
  return { hot: Int32Array.from(hotRows), cold: Int32Array.from(coldRows) };
}
