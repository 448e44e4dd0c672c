/** A labelled click dataset held in memory, column-wise, so a contiguous range of rows is a set of views. */
import type { Batch } from './batch.ts';

export interface Dataset {
  readonly rows: number;
  readonly denseFeatures: number;
  /** Row count of each categorical feature's table (every id is below it). */
  readonly tableRows: number[];
  /** [rows x denseFeatures], log-transformed. */
  readonly dense: Float32Array;
  /** One column of row ids per categorical feature (one-hot). */
  readonly categorical: Int32Array[];
  readonly labels: Float32Array;
}

/** Rows [start, end) as a dataset sharing the same memory. */
export function sliceRows(data: Dataset, start: number, end: number): Dataset {
  const nd = data.denseFeatures;
  return {
    rows: end - start,
    denseFeatures: nd,
    tableRows: data.tableRows,
    dense: data.dense.subarray(start * nd, end * nd),
    categorical: data.categorical.map((c) => c.subarray(start, end)),
    labels: data.labels.subarray(start, end),
  };
}

/** The given rows of data, in that order, as a new dataset. */
export function selectRows(data: Dataset, rows: Int32Array): Dataset {
  const nd = data.denseFeatures, dense = new Float32Array(rows.length * nd);
  rows.forEach((r, i) => dense.set(data.dense.subarray(r * nd, (r + 1) * nd), i * nd));
  return {
    ...data, rows: rows.length, dense, labels: Float32Array.from(rows, (r) => data.labels[r]),
    categorical: data.categorical.map((c) => Int32Array.from(rows, (r) => c[r])),
  };
}

const identityOffsets = new Map<number, Int32Array>();

/** CSR offsets of one-hot bags: 0, 1, ..., size (shared, never written). */
export function oneHotOffsets(size: number): Int32Array {
  let o = identityOffsets.get(size);
  if (!o) {
    o = new Int32Array(size + 1);
    for (let i = 0; i <= size; i++) o[i] = i;
    identityOffsets.set(size, o);
  }
  return o;
}

/** Mini-batches over the rows listed in `order` (a permutation or a subset), or over every row in storage
 *  order, as zero-copy views, when order is null; the first `from` batches are left out. */
export function* batchesOf(data: Dataset, batchSize: number, order: Int32Array | null, limit = Infinity, from = 0): Generator<Batch> {
  const nd = data.denseFeatures;
  const rows = order ? order.length : data.rows;
  const count = Math.min(Math.ceil(rows / batchSize), limit);
  for (let i = from; i < count; i++) {
    const start = i * batchSize, size = Math.min(batchSize, rows - start);
    const offsets = oneHotOffsets(size);
    if (!order) {
      const view = sliceRows(data, start, start + size);
      yield { size, dense: view.dense, sparse: { indices: view.categorical, offsets: view.categorical.map(() => offsets) }, labels: view.labels };
      continue;
    }
    const dense = new Float32Array(size * nd), labels = new Float32Array(size);
    const indices = data.categorical.map(() => new Int32Array(size));
    for (let j = 0; j < size; j++) {
      const r = order[start + j];
      dense.set(data.dense.subarray(r * nd, (r + 1) * nd), j * nd);
      labels[j] = data.labels[r];
      for (let t = 0; t < indices.length; t++) indices[t][j] = data.categorical[t][r];
    }
    yield { size, dense, sparse: { indices, offsets: indices.map(() => offsets) }, labels };
  }
}
