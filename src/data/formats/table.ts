/**
 * Records read from a non-Criteo source as columns of raw values, and their encoding into a dataset:
 * every categorical column numbered by descending frequency (id 0 the hottest; ties in order of first
 * appearance; values seen fewer than min-count times share the last id), dense values as log(1 + max(x, 0)).
 */
import type { Dataset } from '../dataset.ts';

export interface RawTable {
  labels: number[];
  dense: number[][];
  categorical: string[][];
  denseNames: string[];
  categoricalNames: string[];
}

export function emptyTable(denseNames: string[], categoricalNames: string[]): RawTable {
  return { labels: [], dense: denseNames.map(() => []), categorical: categoricalNames.map(() => []), denseNames, categoricalNames };
}

export function encodeTable(table: RawTable, minCount = 1): Dataset {
  const rows = table.labels.length, nd = table.dense.length;
  const dense = new Float32Array(rows * nd);
  table.dense.forEach((column, j) => column.forEach((v, r) => (dense[r * nd + j] = Math.log1p(Math.max(v, 0)))));
  const tableRows: number[] = [];
  const categorical = table.categorical.map((column) => {
    const counts = new Map<string, number>();
    for (const v of column) counts.set(v, (counts.get(v) ?? 0) + 1);
    const kept = [...counts].filter(([, n]) => n >= minCount).sort((a, b) => b[1] - a[1]); // stable: first appearance on ties
    const ids = new Map(kept.map(([v], id) => [v, id]));
    tableRows.push(kept.length + 1);
    return Int32Array.from(column, (v) => ids.get(v) ?? kept.length);
  });
  return { rows, denseFeatures: nd, tableRows, dense, categorical, labels: Float32Array.from(table.labels) };
}
