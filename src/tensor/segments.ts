/**
 * A jagged batch's lookups grouped by the row they read: each distinct row once (ascending), and the bags (t * bags + b)
 * that looked it up, in batch order. A device sums each row's gradient over its segment and updates the row once,
 * with no float atomics and the same bits every run (FBGEMM's backward sorts on the device; here the ids are on the
 * host first, so the host sorts).
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

export function rowSegments(j: Jagged): RowSegments {
  const n = j.offsets[j.tables * j.bags] - j.offsets[0], bagOf = new Int32Array(n), order = new Int32Array(n);
  for (let bag = 0; bag < j.tables * j.bags; bag++) for (let q = j.offsets[bag]; q < j.offsets[bag + 1]; q++) bagOf[q - j.offsets[0]] = bag;
  for (let q = 0; q < n; q++) order[q] = q;
  const id = (q: number) => j.ids[j.offsets[0] + q];
  order.sort((a, b) => id(a) - id(b) || a - b);
  const rows: number[] = [], starts: number[] = [], lookups = new Int32Array(n);
  order.forEach((q, i) => {
    if (i === 0 || id(q) !== id(order[i - 1])) {
      rows.push(id(q));
      starts.push(i);
    }
    lookups[i] = bagOf[q];
  });
  starts.push(n);
  return { rows: Int32Array.from(rows), starts: Int32Array.from(starts), lookups };
}
