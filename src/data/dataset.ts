/** A labelled click dataset held in memory, column-wise, so a contiguous range of rows is a set of views. */
import type { Batch } from './batch.ts';
import { jaggedOf } from '../tensor/jagged.ts';

export interface Dataset {
  readonly rows: number;
  readonly denseFeatures: number;
  /** Row count of each categorical feature's table (every id is below it). */
  readonly tableRows: number[];
  /** [rows x denseFeatures], log-transformed. */
  readonly dense: Float32Array;
  /** One column of row ids per categorical feature: one id per row, or, for a multi-hot feature, every id of
   *  every row's bag in row order, delimited by its offsets. */
  readonly categorical: Int32Array[];
  /** Per feature, null when it is one-hot, or the CSR offsets [rows + 1] of its bags. Absent: all one-hot. */
  readonly offsets?: (Int32Array | null)[];
  readonly labels: Float32Array;
}

/** The bags of the listed rows of a multi-hot column: their ids in order, and offsets from 0. */
function gatherBags(ids: Int32Array, offsets: Int32Array, rows: ArrayLike<number>): { ids: Int32Array; offsets: Int32Array } {
  const out = new Int32Array(rows.length + 1);
  for (let i = 0; i < rows.length; i++) out[i + 1] = out[i] + offsets[rows[i] + 1] - offsets[rows[i]];
  const gathered = new Int32Array(out[rows.length]);
  for (let i = 0; i < rows.length; i++) gathered.set(ids.subarray(offsets[rows[i]], offsets[rows[i] + 1]), out[i]);
  return { ids: gathered, offsets: out };
}

/** Rows [start, end) as a dataset sharing the same memory (a multi-hot feature's offsets are rebased: a copy). */
export function sliceRows(data: Dataset, start: number, end: number): Dataset {
  const nd = data.denseFeatures, offsets = data.offsets;
  return {
    rows: end - start,
    denseFeatures: nd,
    tableRows: data.tableRows,
    dense: data.dense.subarray(start * nd, end * nd),
    categorical: data.categorical.map((c, t) => (offsets?.[t] ? c.subarray(offsets[t]![start], offsets[t]![end]) : c.subarray(start, end))),
    ...(offsets && { offsets: offsets.map((o) => o && Int32Array.from(o.subarray(start, end + 1), (v) => v - o[start])) }),
    labels: data.labels.subarray(start, end),
  };
}

/** The given rows of data, in that order, as a new dataset (plain loops: this assembles every shuffled batch). */
export function selectRows(data: Dataset, rows: Int32Array): Dataset {
  const nd = data.denseFeatures, n = rows.length, dense = new Float32Array(n * nd), labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    labels[i] = data.labels[r];
    for (let j = 0; j < nd; j++) dense[i * nd + j] = data.dense[r * nd + j];
  }
  const bags = data.offsets?.map((o, t) => o && gatherBags(data.categorical[t], o, rows));
  const categorical = data.categorical.map((column, t) => {
    if (bags?.[t]) return bags[t]!.ids;
    const ids = new Int32Array(n);
    for (let i = 0; i < n; i++) ids[i] = column[rows[i]];
    return ids;
  });
  return {
    rows: n, denseFeatures: nd, tableRows: data.tableRows, dense, categorical, labels,
    ...(bags && { offsets: bags.map((b) => b?.offsets ?? null) }),
  };
}

/** Mini-batches over the rows listed in `order` (a permutation or a subset), or over every row in storage
 *  order, as views, when order is null; the first `from` batches are left out. */
export function* batchesOf(data: Dataset, batchSize: number, order: Int32Array | null, limit = Infinity, from = 0): Generator<Batch> {
  const rows = order ? order.length : data.rows;
  const count = Math.min(Math.ceil(rows / batchSize), limit);
  for (let i = from; i < count; i++) {
    const start = i * batchSize, size = Math.min(batchSize, rows - start);
    const part = order ? selectRows(data, order.subarray(start, start + size)) : sliceRows(data, start, start + size);
    yield { size, dense: part.dense, sparse: jaggedOf(size, part.categorical, part.offsets), labels: part.labels };
  }
}
