/**
 * A batch's lookups as one jagged tensor (TorchRec's KeyedJaggedTensor, FBGEMM's TBE input): every table's ids in
 * one buffer, table-major, and one offsets array, so moving a batch to a device is one copy of each, not one per
 * table. Bag b of table t pools ids[offsets[t * bags + b] .. offsets[t * bags + b + 1]).
 */
export interface Jagged {
  readonly tables: number;
  /** Bags per table: the batch's inputs. */
  readonly bags: number;
  readonly ids: Int32Array;
  /** [tables * bags + 1], rising from 0 to ids.length. */
  readonly offsets: Int32Array;
}

/** The CSR view of table t's bags the CPU kernels take: the shared ids with the table's absolute offsets. */
export interface TableBags {
  indices: Int32Array[];
  offsets: Int32Array[];
}

const views = new WeakMap<Jagged, TableBags>();

/** Per-table views of a jagged batch (no copy; cached per batch). */
export function tableBags(j: Jagged): TableBags {
  let v = views.get(j);
  if (!v) {
    const offsets = Array.from({ length: j.tables }, (_, t) => j.offsets.subarray(t * j.bags, (t + 1) * j.bags + 1));
    v = { indices: offsets.map(() => j.ids), offsets };
    views.set(j, v);
  }
  return v;
}

/** Table t's ids, in bag order. */
export function idsOf(j: Jagged, t: number): Int32Array {
  return j.ids.subarray(j.offsets[t * j.bags], j.offsets[(t + 1) * j.bags]);
}

/** The ids of bag b of table t. */
export function bagOf(j: Jagged, t: number, b: number): Int32Array {
  return j.ids.subarray(j.offsets[t * j.bags + b], j.offsets[t * j.bags + b + 1]);
}

/** Every id of input b (its bag in each table), table by table. */
export function inputIds(j: Jagged, b: number): Int32Array {
  let n = 0;
  for (let t = 0; t < j.tables; t++) n += j.offsets[t * j.bags + b + 1] - j.offsets[t * j.bags + b];
  const out = new Int32Array(n);
  for (let t = 0, at = 0; t < j.tables; t++) {
    const bag = bagOf(j, t, b);
    out.set(bag, at);
    at += bag.length;
  }
  return out;
}

/** Builds a jagged batch from per-table columns: one id per bag (offsets null) or CSR bags with offsets from 0. */
export function jaggedOf(bags: number, columns: Int32Array[], columnOffsets?: readonly (Int32Array | null)[]): Jagged {
  const tables = columns.length, offsets = new Int32Array(tables * bags + 1);
  let total = 0;
  for (let t = 0; t < tables; t++) total += columnOffsets?.[t] ? columnOffsets[t]![bags] : bags;
  const ids = new Int32Array(total);
  let at = 0;
  for (let t = 0; t < tables; t++) {
    const off = columnOffsets?.[t] ?? null, base = t * bags;
    if (off) {
      ids.set(columns[t].subarray(0, off[bags]), at);
      for (let b = 1; b <= bags; b++) offsets[base + b] = at + off[b];
    } else {
      ids.set(columns[t].subarray(0, bags), at);
      for (let b = 1; b <= bags; b++) offsets[base + b] = at + b;
    }
    at = offsets[base + bags];
  }
  return { tables, bags, ids, offsets };
}

/** The given bags (inputs) of every table, in that order. */
export function selectBags(j: Jagged, inputs: ArrayLike<number>): Jagged {
  const n = inputs.length, offsets = new Int32Array(j.tables * n + 1);
  let total = 0;
  for (let t = 0; t < j.tables; t++) {
    for (let k = 0; k < n; k++) {
      const b = t * j.bags + inputs[k];
      total += j.offsets[b + 1] - j.offsets[b];
      offsets[t * n + k + 1] = total;
    }
  }
  const ids = new Int32Array(total);
  for (let t = 0; t < j.tables; t++) {
    for (let k = 0; k < n; k++) {
      const b = t * j.bags + inputs[k];
      ids.set(j.ids.subarray(j.offsets[b], j.offsets[b + 1]), offsets[t * n + k]);
    }
  }
  return { tables: j.tables, bags: n, ids, offsets };
}

/** Whether two jaggeds hold the same lookups (the same object, or equal shapes, offsets and ids). */
export function sameJagged(a: Jagged, b: Jagged): boolean {
  if (a === b) return true;
  if (a.tables !== b.tables || a.bags !== b.bags || a.ids.length !== b.ids.length || a.offsets.length !== b.offsets.length) return false;
  for (let i = 0; i < a.ids.length; i++) if (a.ids[i] !== b.ids[i]) return false;
  for (let i = 0; i < a.offsets.length; i++) if (a.offsets[i] !== b.offsets[i]) return false;
  return true;
}
