/**
 * FAE's input profiler: exact per-row access counts over a sample of the training inputs (drawn uniformly
 * with replacement, as the authors' code does; rate 1 counts every input once), and the global ranking of
 * the rows by count that the hot set and the hot-input curve are read from.
 */
import type { Dataset } from '../data/dataset.ts';
import { Rng } from '../util/rng.ts';

export interface AccessProfile {
  tableRows: number[];
  /** counts[t][row]: lookups of row in table t among the sampled inputs. */
  counts: Uint32Array[];
  /** The sampled inputs (row numbers of the dataset), with repeats when drawn with replacement. */
  sampledInputs: Int32Array;
  lookups: number;
}

export function profileAccesses(data: Dataset, samplingRate: number, seed: number): AccessProfile {
  if (!(samplingRate > 0 && samplingRate <= 1)) throw new RangeError(`sampling rate must be in (0, 1], got ${samplingRate}`);
  let sampledInputs: Int32Array;
  if (samplingRate === 1) {
    sampledInputs = Int32Array.from({ length: data.rows }, (_, i) => i);
  } else {
    const rng = new Rng(seed, 4242);
    sampledInputs = Int32Array.from({ length: Math.max(1, Math.floor(samplingRate * data.rows)) }, () => rng.int(data.rows));
  }
  const counts = data.tableRows.map((n) => new Uint32Array(n));
  let lookups = 0;
  data.categorical.forEach((column, t) => {
    const c = counts[t], offsets = data.offsets?.[t];
    if (!offsets) {
      for (let i = 0; i < sampledInputs.length; i++) c[column[sampledInputs[i]]]++;
      lookups += sampledInputs.length;
      return;
    }
    for (let i = 0; i < sampledInputs.length; i++) {
      const r = sampledInputs[i];
      for (let p = offsets[r]; p < offsets[r + 1]; p++) c[column[p]]++;
      lookups += offsets[r + 1] - offsets[r];
    }
  });
  return { tableRows: data.tableRows, counts, sampledInputs, lookups };
}

/** Rows with at least one access, hottest first; ties broken by table, then row (deterministic). */
export interface RowRanking {
  tables: Int32Array;
  rows: Int32Array;
  counts: Uint32Array;
}

export function rankRows(profile: AccessProfile): RowRanking {
  let touched = 0, maxCount = 0;
  for (const c of profile.counts) {
    for (let r = 0; r < c.length; r++) {
      if (c[r] > 0) {
        touched++;
        if (c[r] > maxCount) maxCount = c[r];
      }
    }
  }
  // Counting sort by descending count: stable, so (table, row) order holds within a count.
  const start = new Int32Array(maxCount + 2);
  for (const c of profile.counts) for (let r = 0; r < c.length; r++) if (c[r] > 0) start[maxCount - c[r] + 1]++;
  for (let k = 1; k < start.length; k++) start[k] += start[k - 1];
  const ranking: RowRanking = { tables: new Int32Array(touched), rows: new Int32Array(touched), counts: new Uint32Array(touched) };
  profile.counts.forEach((c, t) => {
    for (let r = 0; r < c.length; r++) {
      if (c[r] === 0) continue;
      const at = start[maxCount - c[r]]++;
      ranking.tables[at] = t;
      ranking.rows[at] = r;
      ranking.counts[at] = c[r];
    }
  });
  return ranking;
}
