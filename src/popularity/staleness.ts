/**
 * Slipstream's staleness test (from the authors' released code): a hot row is stale when every element
 * moved less than T between two snapshots of the fast tier; an input is skippable when at least alpha of
 * its lookups hit stale rows (for TBSM, at least alpha of each table's sequence); T is found by bisection over [0, hi] so that the share of sampled hot
 * inputs that are skippable falls in D +- delta.
 */

export interface StaleSearchOptions {
  /** Target share of sampled inputs to skip (D), and the accepted band around it (delta). */
  targetDrop: number;
  band: number;
  /** Upper end of the search range of T, and the most bisection steps. */
  maxThreshold: number;
  maxSteps: number;
  /** Lookups of an input that must be stale for it to be skipped (alpha); Infinity: all of them. */
  alpha: number;
  /** Equal parts of an input's lookups that alpha applies to each: 1, or the tables for TBSM's sequences (the
   *  authors' TBSM rule: each of the three sequences has at least alpha stale lookups). */
  groups: number;
}

export interface StaleSearch {
  threshold: number;
  dropShare: number;
  steps: number;
  inBand: boolean;
}

/** Per slot, the largest change of an element between the snapshots; relative: over the row's largest
 *  element (a per-element ratio would explode on elements near zero). */
export function rowChanges(before: Float32Array, after: Float32Array, dim: number, relative: boolean): Float32Array {
  const rows = before.length / dim, change = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let worst = 0, size = 0;
    for (let j = r * dim; j < (r + 1) * dim; j++) {
      worst = Math.max(worst, Math.abs(after[j] - before[j]));
      size = Math.max(size, Math.abs(before[j]));
    }
    change[r] = relative ? worst / Math.max(size, 1e-12) : worst;
  }
  return change;
}

/** How far each row of a tier moved since a mark (rowChanges' measure), measured where the rows are. */
export interface RowChangeMeter {
  /** Keeps the rows as they are now, or as given (a checkpoint's). */
  mark(rows?: Float32Array): void;
  /** Per row, the change since the mark. */
  since(relative: boolean): Float32Array;
  /** The marked rows on the host (for a checkpoint). */
  marked(): Float32Array;
  /** Forgets the mark and frees what it held. */
  clear(): void;
}

/** A meter over rows read to the host: the mark is a copy, the change is computed on the CPU. */
export class HostChangeMeter implements RowChangeMeter {
  private before: Float32Array | null = null;

  constructor(private readonly read: () => Float32Array, private readonly dim: number) {}

  mark(rows?: Float32Array): void {
    this.before = rows ?? this.read();
  }

  since(relative: boolean): Float32Array {
    return rowChanges(this.marked(), this.read(), this.dim, relative);
  }

  marked(): Float32Array {
    if (!this.before) throw new Error('no rows were marked');
    return this.before;
  }

  clear(): void {
    this.before = null;
  }
}

/** Whether an input (its lookups as slots, in `groups` equal parts) is skippable: in every part, at least alpha of
 *  its lookups changed less than T. */
export function isStaleInput(slots: ArrayLike<number>, change: Float32Array, threshold: number, alpha: number, groups = 1): boolean {
  const part = slots.length / groups;
  for (let g = 0; g < groups; g++) {
    let stale = 0;
    for (let i = g * part; i < (g + 1) * part; i++) if (change[slots[i]] < threshold) stale++;
    if (stale < Math.min(alpha, part)) return false;
  }
  return true;
}

/** Bisection for T over the sampled inputs (one slot list each); off the band, the closest T found. */
export function searchThreshold(samples: Int32Array[], change: Float32Array, o: StaleSearchOptions): StaleSearch {
  const shareAt = (t: number) => samples.filter((s) => isStaleInput(s, change, t, o.alpha, o.groups)).length / Math.max(1, samples.length);
  let lo = 0, hi = o.maxThreshold;
  let best: StaleSearch = { threshold: 0, dropShare: shareAt(0), steps: 0, inBand: false };
  for (let step = 1; step <= o.maxSteps; step++) {
    const t = (lo + hi) / 2, share = shareAt(t);
    const inBand = Math.abs(share - o.targetDrop) <= o.band;
    if (inBand || Math.abs(share - o.targetDrop) < Math.abs(best.dropShare - o.targetDrop)) best = { threshold: t, dropShare: share, steps: step, inBand };
    if (inBand) return best;
    if (share < o.targetDrop) lo = t;
    else hi = t;
  }
  return { ...best, steps: o.maxSteps };
}
