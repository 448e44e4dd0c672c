/**
 * A jagged batch's lookups grouped by the row they read: each distinct row once (ascending), and the bags (t * bags + b)
 * that looked it up, in batch order. A device sums each row's gradient over its segment and updates the row once,
 * with no float atomics and the same bits every run (FBGEMM's backward sorts on the device; here the ids are on the
 * host first, so the host sorts: a stable radix sort by id, 16 bits a pass, linear in the lookups).
 */
import type { Jagged } from './jagged.ts';

export interface RowSegments {
  /** The distinct rows, ascending. */
  rows: Int32Array;
  /** Segment u is lookups[starts[u] .. starts[u + 1]). */
  starts: Int32Array;
  /** The bag of each lookup, segment by segment. */
  lookups: Int32Array;
}

const radix = 1 << 16;
const counts = new Int32Array(radix + 1);

/** Lookup positions ordered by id, stable (equal ids keep batch order). */
function orderById(ids: Int32Array): Int32Array {
  const n = ids.length;
  let order = new Int32Array(n), spare = new Int32Array(n), largest = 0;
  for (let q = 0; q < n; q++) {
    order[q] = q;
    if (ids[q] < 0) throw new RangeError(`a negative id ${ids[q]} at lookup ${q}`);
    if (ids[q] > largest) largest = ids[q];
  }
  // Two passes at most (ids are below 2^31); the second only where an id needs more than 16 bits.
  for (let shift = 0; shift < 32 && (shift === 0 || largest >>> shift > 0); shift += 16) {
    counts.fill(0);
    for (let q = 0; q < n; q++) counts[((ids[q] >>> shift) & (radix - 1)) + 1]++;
    for (let d = 0; d < radix; d++) counts[d + 1] += counts[d];
    for (let i = 0; i < n; i++) {
      const q = order[i];
      spare[counts[(ids[q] >>> shift) & (radix - 1)]++] = q;
    }
    [order, spare] = [spare, order];
  }
  return order;
}

export function rowSegments(j: Jagged): RowSegments {
  const base = j.offsets[0], n = j.offsets[j.tables * j.bags] - base, ids = j.ids.subarray(base, base + n), bagOf = new Int32Array(n);
  for (let bag = 0; bag < j.tables * j.bags; bag++) for (let q = j.offsets[bag]; q < j.offsets[bag + 1]; q++) bagOf[q - base] = bag;
  const order = orderById(ids), lookups = new Int32Array(n), rows = new Int32Array(n), starts = new Int32Array(n + 1);
  let u = 0;
  for (let i = 0; i < n; i++) {
    const q = order[i];
    if (i === 0 || ids[q] !== ids[order[i - 1]]) {
      rows[u] = ids[q];
      starts[u++] = i;
    }
    lookups[i] = bagOf[q];
  }
  starts[u] = n;
  return { rows: rows.slice(0, u), starts: starts.slice(0, u + 1), lookups };
}
