/**
 * Rows on the SSD: a file per table, rows in id order (ids are numbered by descending frequency, so the hottest rows
 * are each file's head), the row-wise optimizer state in a file beside it, read and written in 4 KiB blocks with
 * O_DIRECT (src/io/block-file.ts). A batch's work reads the blocks its lookups touch, gathers the distinct rows into
 * a compact table, pools or updates that with the compute kernels (the same arithmetic as a memory tier, so the same
 * bits), and writes the changed blocks back; an update of the batch just pooled reuses the rows that pool read (the
 * step's one read), unless rows were written between. New files are initialised as HostTables initialises its
 * tables (the same values, chunk by chunk). This version runs inline; read-ahead on a lane comes with the pipeline's
 * part.
 */
import { join } from 'node:path';
import { alignedBuffer, BlockFile, blockBytes, type IoEngine } from '../io/block-file.ts';
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { TableConfig } from './tables.ts';
import type { EmbeddingTier, SparseRule } from './tier.ts';

const floatsPerBlock = blockBytes / 4;
/** Blocks written at once while initialising a file (16 MiB). */
const initBlocks = 4096;

export interface SsdIo {
  engine: IoEngine;
  queueDepth: number;
}

/** One table's rows of a batch, gathered: the distinct rows (ascending), their values and state, and the blocks read. */
interface Gathered {
  rows: Int32Array;
  values: Float32Array;
  states: Float32Array | null;
  blocks: { weights: Int32Array; weightData: Float32Array; states: Int32Array; stateData: Float32Array } | null;
}

export class SsdTier implements EmbeddingTier {
  readonly kind = 'ssd';
  readonly lane = null;
  private readonly rowsPerBlock: number;
  /** Block buffers by table and file, kept between batches (grown when a batch needs more). */
  private readonly scratch = new Map<string, Float32Array>();
  /** The last pool's batch and what it gathered (with state where the tier keeps it), for that batch's update. */
  private pooled: { ids: Jagged; compact: Gathered[]; local: Jagged } | null = null;

  private constructor(
    private readonly kernels: Kernels, readonly tables: readonly TableConfig[], readonly dim: number,
    private readonly weightFiles: BlockFile[], private readonly stateFiles: BlockFile[] | null, private readonly io: SsdIo,
  ) {
    this.rowsPerBlock = floatsPerBlock / dim;
  }

  /** New files in `dir` (table<t>.rows, table<t>.state), initialised as HostTables(kernels, tables, seed) would be. */
  static create(dir: string, kernels: Kernels, tables: readonly TableConfig[], seed: number, state: { initial: number } | null, io: SsdIo): SsdTier {
    const dim = tables[0]?.dim ?? 0;
    if (dim <= 0 || floatsPerBlock % dim !== 0) throw new RangeError(`the ssd tier stores rows of a power-of-two dimension up to ${floatsPerBlock}, not ${dim}`);
    const open = (name: string) => BlockFile.open(join(dir, name), { create: true, direct: true });
    const weights = tables.map((_, t) => open(`table${t}.rows`)), states = state ? tables.map((_, t) => open(`table${t}.state`)) : null;
    const buffer = alignedBuffer(initBlocks);
    tables.forEach(({ rows }, t) => {
      const bound = Math.sqrt(1 / rows);
      writeFilled(weights[t], buffer, rows * dim, io, (part, first) => kernels.fillUniform(part, seed, t, -bound, bound, first));
      if (states) writeFilled(states[t], buffer, rows, io, (part) => part.fill(state!.initial));
    });
    return new SsdTier(kernels, tables, dim, weights, states, io);
  }

  get bytes(): number {
    return this.tables.reduce((a, t) => a + t.rows * (this.dim + (this.stateFiles ? 1 : 0)) * 4, 0);
  }

  pool(ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): null {
    this.pooled = { ids, ...this.gatherBatch(ids, this.stateFiles !== null) };
    this.kernels.embeddingForward(this.pooled.compact.map((g) => g.values), this.pooled.local, layout, out, accumulate);
    return null;
  }

  repool(): never {
    throw new Error('repool is a lane job: this ssd tier runs inline');
  }

  update(ids: Jagged, layout: SlotLayout, grad: () => Float32Array, rule: SparseRule): null {
    const adagrad = rule.optimizer === 'rowwise-adagrad';
    if (adagrad && !this.stateFiles) throw new Error('the ssd tier was built without optimizer state');
    const { compact, local } = this.pooled?.ids === ids ? this.pooled : this.gatherBatch(ids, adagrad);
    this.pooled = null;
    this.kernels.embeddingUpdate(compact.map((g) => g.values), local, layout, grad(), { ...rule, states: adagrad ? compact.map((g) => g.states!) : null });
    compact.forEach((g, t) => this.scatter(t, g));
    return null;
  }

  /** Rows (table t's row for each pair) into into [n x dim], and their row-wise state into state. */
  readRows(tables: Int32Array, rows: Int32Array, into: Float32Array, state: Float32Array | null): void {
    this.pooled = null; // its gather reuses the block buffers the last pool's rows were read into
    this.eachTable(tables, rows, state !== null, (_t, g, positions) => {
      for (const i of positions) {
        const u = indexOf(g.rows, rows[i]);
        into.set(g.values.subarray(u * this.dim, (u + 1) * this.dim), i * this.dim);
        if (state) state[i] = g.states![u];
      }
    });
  }

  writeRows(tables: Int32Array, rows: Int32Array, from: Float32Array, state: Float32Array | null): void {
    this.pooled = null;
    this.eachTable(tables, rows, state !== null, (t, g, positions) => {
      for (const i of positions) {
        const u = indexOf(g.rows, rows[i]);
        g.values.set(from.subarray(i * this.dim, (i + 1) * this.dim), u * this.dim);
        if (state) g.states![u] = state[i];
      }
      this.scatter(t, g);
    });
  }

  /** Closes its files (the rows stay in them). */
  release(): void {
    for (const f of [...this.weightFiles, ...(this.stateFiles ?? [])]) f.close();
  }

  /** Groups (table, row) pairs by table, gathers each table's rows and hands over the pairs' positions. */
  private eachTable(tables: Int32Array, rows: Int32Array, withState: boolean, fn: (t: number, g: Gathered, positions: number[]) => void): void {
    if (withState && !this.stateFiles) throw new Error('the ssd tier was built without optimizer state');
    const byTable = new Map<number, number[]>();
    tables.forEach((t, i) => {
      const positions = byTable.get(t);
      if (positions) positions.push(i);
      else byTable.set(t, [i]);
    });
    for (const [t, positions] of byTable) fn(t, this.gather(t, Int32Array.from(positions, (i) => rows[i]), withState), positions);
  }

  /** Every table's lookups gathered, and the batch's ids rewritten to the compact rows. */
  private gatherBatch(ids: Jagged, withState: boolean): { compact: Gathered[]; local: Jagged } {
    const local = new Int32Array(ids.ids.length), { bags } = ids;
    const compact = this.tables.map((_, t) => {
      const from = ids.offsets[t * bags], to = ids.offsets[(t + 1) * bags], g = this.gather(t, ids.ids.subarray(from, to), withState);
      for (let q = from; q < to; q++) local[q] = indexOf(g.rows, ids.ids[q]);
      return g;
    });
    return { compact, local: { ...ids, ids: local } };
  }

  /** Reads the blocks that hold table t's `wanted` rows and gathers those rows (and their state). */
  private gather(t: number, wanted: Int32Array, withState: boolean): Gathered {
    const n = this.tables[t].rows;
    for (const r of wanted) if (r < 0 || r >= n) throw new RangeError(`row ${r} is outside table ${t}'s ${n} rows`);
    const rows = Int32Array.from(new Set(wanted)).sort(), d = this.dim;
    if (rows.length === 0) return { rows, values: new Float32Array(0), states: withState ? new Float32Array(0) : null, blocks: null };
    const weightBlocks = distinct(rows, this.rowsPerBlock), stateBlocks = withState ? distinct(rows, floatsPerBlock) : new Int32Array(0);
    const weightData = this.read(this.weightFiles[t], weightBlocks, `${t} rows`);
    const stateData = withState ? this.read(this.stateFiles![t], stateBlocks, `${t} state`) : new Float32Array(0);
    const values = new Float32Array(rows.length * d), states = withState ? new Float32Array(rows.length) : null;
    rows.forEach((r, u) => {
      const at = indexOf(weightBlocks, Math.floor(r / this.rowsPerBlock)) * floatsPerBlock + (r % this.rowsPerBlock) * d;
      values.set(weightData.subarray(at, at + d), u * d);
      if (states) states[u] = stateData[indexOf(stateBlocks, Math.floor(r / floatsPerBlock)) * floatsPerBlock + (r % floatsPerBlock)];
    });
    return { rows, values, states, blocks: { weights: weightBlocks, weightData, states: stateBlocks, stateData } };
  }

  /** Writes table t's gathered rows (and state, when gathered) back through the blocks they were read from. */
  private scatter(t: number, g: Gathered): void {
    if (!g.blocks) return;
    const { weights, weightData, states, stateData } = g.blocks, d = this.dim;
    g.rows.forEach((r, u) => {
      const at = indexOf(weights, Math.floor(r / this.rowsPerBlock)) * floatsPerBlock + (r % this.rowsPerBlock) * d;
      weightData.set(g.values.subarray(u * d, (u + 1) * d), at);
      if (g.states) stateData[indexOf(states, Math.floor(r / floatsPerBlock)) * floatsPerBlock + (r % floatsPerBlock)] = g.states[u];
    });
    this.weightFiles[t].transfer(true, weights, weightData, this.io.engine, this.io.queueDepth);
    if (g.states) this.stateFiles![t].transfer(true, states, stateData, this.io.engine, this.io.queueDepth);
  }

  /** Reads the blocks into the scratch buffer `key` (a view of exactly those blocks). */
  private read(file: BlockFile, blocks: Int32Array, key: string): Float32Array {
    let buffer = this.scratch.get(key);
    if (!buffer || buffer.length < blocks.length * floatsPerBlock) this.scratch.set(key, (buffer = alignedBuffer(Math.max(blocks.length, 2 * (buffer?.length ?? 0) / floatsPerBlock))));
    const data = buffer.subarray(0, blocks.length * floatsPerBlock);
    file.transfer(false, blocks, data, this.io.engine, this.io.queueDepth);
    return data;
  }
}

/** The distinct blocks (ascending) holding the ascending rows, `perBlock` rows a block. */
function distinct(rows: Int32Array, perBlock: number): Int32Array {
  const blocks: number[] = [];
  for (const r of rows) {
    const b = Math.floor(r / perBlock);
    if (blocks.at(-1) !== b) blocks.push(b);
  }
  return Int32Array.from(blocks);
}

/** The position of `value` in an ascending array that holds it (binary search). */
function indexOf(sorted: Int32Array, value: number): number {
  let lo = 0, hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Writes `floats` values made by fill(part, first index) into a new file, a chunk of blocks at a time. */
function writeFilled(file: BlockFile, buffer: Float32Array, floats: number, io: SsdIo, fill: (part: Float32Array, first: number) => void): void {
  const blocks = Math.ceil(floats / floatsPerBlock);
  for (let first = 0; first < blocks; first += initBlocks) {
    const count = Math.min(initBlocks, blocks - first), from = first * floatsPerBlock, size = Math.min(count * floatsPerBlock, floats - from);
    buffer.fill(0);
    fill(buffer.subarray(0, size), from);
    file.transfer(true, Int32Array.from({ length: count }, (_, i) => first + i), buffer, io.engine, io.queueDepth);
  }
}
