/**
 * Rows on the SSD: a file per table, rows in id order (ids are numbered by descending frequency, so the hottest rows
 * are each file's head), the row-wise optimizer state in a file beside it, read and written in 4 KiB blocks with
 * O_DIRECT (src/io/block-file.ts) on a lane of their own. A batch's work reads the blocks its lookups touch, gathers
 * the distinct rows into a compact table, pools or updates that with the compute kernels (the same arithmetic as a
 * memory tier, so the same bits), and writes the changed blocks back behind the compute, consecutive blocks in one
 * request. An update of the batch just pooled reuses the rows that pool read (the step's one read).
 *
 * Read-ahead: prefetch(ids) starts reading an upcoming batch's blocks while the compute runs. A block written after
 * that read was queued is forwarded into the prefetched copy (read-after-write: the copy is then the block as
 * written), so a prefetched batch pools exactly what a synchronous read would. Reads and writes go on lanes of their
 * own (a read never queues behind a write-back); a read of a block whose write is still in flight takes the block
 * from the write's buffer instead of the disk. With an undo log (checkpoints), each block's first write after a
 * checkpoint logs the block as it was, durably, before the write is queued.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { alignedBuffer, BlockFile, type BlockIo, blockBytes, type BlockPart, BlockQueue } from '../io/block-file.ts';
import { StorageError } from '../util/errors.ts';
import type { UndoLog } from '../io/undo-log.ts';
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import { type Jagged, sameJagged } from '../tensor/jagged.ts';
import type { TableConfig } from './tables.ts';
import type { EmbeddingTier, SparseRule } from './tier.ts';

const floatsPerBlock = blockBytes / 4;
/** Blocks written at once while initialising a file (16 MiB). */
const initBlocks = 4096;
/** Steps whose write-backs may be in flight before the oldest is waited for. */
const writesInFlight = 2;
/** Reads ahead kept: older ones (made for batches that were never pooled, e.g. ones a policy then changed) go. */
const maxAhead = 8;

/** A lane job, shared by the reads it moves; its id is cleared once waited for. */
interface Pending {
  job: number | null;
}

/** Blocks of one file read into a buffer (blocks[i] at block i of data) by a job (done once its pending is). */
interface BlockRead {
  file: number;
  blocks: Int32Array;
  base: Float32Array;
  data: Float32Array;
  pending: Pending;
}

/** One table's rows of a batch: the distinct rows (ascending) and the blocks holding them and their state. */
interface TableRead {
  rows: Int32Array;
  weights: BlockRead | null;
  states: BlockRead | null;
}

/** A batch's reads, with the ids they were made for (a later pool takes them only for the same ids). */
export interface Fetch {
  ids: Jagged;
  tables: TableRead[];
  /** Whether the rows' state was read. */
  withState: boolean;
}

/** (Table, row) pairs being read. */
export interface RowsRead {
  tables: Int32Array;
  rows: Int32Array;
  fetch: Fetch;
}

/** A fetch gathered: per table, the rows' values and state, compact, and the batch's ids rewritten to them. */
interface Gathered {
  fetch: Fetch;
  values: Float32Array[];
  states: Float32Array[] | null;
  local: Jagged;
}

export class SsdTier implements EmbeddingTier {
  readonly kind = 'ssd';
  readonly lane = null;
  private readonly rowsPerBlock: number;
  private readonly queue: BlockQueue;
  private readonly writer: BlockQueue;
  /** Blocks in write-backs not yet waited for, by file and block: the latest write's buffer and place. */
  private readonly writing = new Map<number, { data: Float32Array; at: number; write: number }>();
  private writeCount = 0;
  /** Prefetched batches, oldest first. */
  private readonly ahead: Fetch[] = [];
  /** Row reads started and not finished (a cache's misses loading ahead). */
  private readonly reading = new Set<Fetch>();
  /** The last pool's batch, gathered, for that batch's update. */
  private pooled: Gathered | null = null;
  /** Write-backs in flight: a step's job, the buffers it writes from and the blocks it writes (keys of `writing`). */
  private readonly writes: { job: number; buffers: Float32Array[]; keys: number[]; write: number }[] = [];
  private readonly free: Float32Array[] = [];
  /** Undo log of the blocks' first writes since the last checkpoint (set by the table store). */
  journal: UndoLog | null = null;
  /** Lookups pooled, blocks moved, reads ahead taken or not, and the reads' time on the lane against the time the
   *  compute waited for them (the rest was hidden behind it). */
  readonly stats = { lookups: 0, blocksRead: 0, blocksWritten: 0, forwardedBlocks: 0, prefetchHits: 0, prefetchMisses: 0, readNs: 0, readWaitNs: 0 };

  /** files: table t's rows at t, its state (when kept) at tables + t. */
  private constructor(
    private readonly kernels: Kernels, readonly tables: readonly TableConfig[], readonly dim: number, readonly files: readonly BlockFile[],
    private readonly withState: boolean, io: BlockIo,
  ) {
    this.rowsPerBlock = floatsPerBlock / dim;
    this.queue = new BlockQueue('ssd', io);
    this.writer = new BlockQueue('ssd writes', io);
  }

  /** The files' names in dir, rows then state. */
  static fileNames(tables: number, withState: boolean): string[] {
    const names = Array.from({ length: tables }, (_, t) => `table${t}.rows`);
    return withState ? [...names, ...names.map((_, t) => `table${t}.state`)] : names;
  }

  /** Blocks of each file: rows, then state. */
  static fileBlocks(tables: readonly TableConfig[], withState: boolean): number[] {
    const dim = tables[0]?.dim ?? 1, rows = tables.map((t) => Math.ceil((t.rows * dim) / floatsPerBlock));
    return withState ? [...rows, ...tables.map((t) => Math.ceil(t.rows / floatsPerBlock))] : rows;
  }

  /** New files in `dir`, initialised as HostTables(kernels, tables, seed) would be (and the state at state.initial). */
  static create(dir: string, kernels: Kernels, tables: readonly TableConfig[], seed: number, state: { initial: number } | null, io: BlockIo): SsdTier {
    const dim = checkedDim(tables), names = SsdTier.fileNames(tables.length, state !== null);
    const files = names.map((n) => BlockFile.open(join(dir, n), { create: true, direct: true }));
    const tier = new SsdTier(kernels, tables, dim, files, state !== null, io);
    tables.forEach(({ rows }, t) => {
      const bound = Math.sqrt(1 / rows);
      tier.writeFilled(t, rows * dim, (part, first) => kernels.fillUniform(part, seed, t, -bound, bound, first));
      if (state) tier.writeFilled(tables.length + t, rows, (part) => part.fill(state.initial));
    });
    tier.flush();
    return tier;
  }

  /** The files a run left in `dir`. */
  static open(dir: string, kernels: Kernels, tables: readonly TableConfig[], withState: boolean, io: BlockIo): SsdTier {
    const dim = checkedDim(tables), names = SsdTier.fileNames(tables.length, withState);
    for (const n of names) if (!existsSync(join(dir, n))) throw new StorageError(`${join(dir, n)}: missing (the ssd tables are incomplete)`);
    return new SsdTier(kernels, tables, dim, names.map((n) => BlockFile.open(join(dir, n), { create: false, direct: true })), withState, io);
  }

  get bytes(): number {
    return this.tables.reduce((a, t) => a + t.rows * (this.dim + (this.withState ? 1 : 0)) * 4, 0);
  }

  /** Starts reading an upcoming batch's blocks (its pool takes them if its ids are these). */
  prefetch(ids: Jagged): void {
    this.ahead.push(this.fetchBatch(ids));
    if (this.ahead.length > maxAhead) this.releaseFetch(this.ahead.shift()!);
  }

  pool(ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): null {
    this.dropPooled();
    this.stats.lookups += ids.ids.length;
    this.pooled = this.gather(this.takeFetch(ids));
    this.kernels.embeddingForward(this.pooled.values, this.pooled.local, layout, out, accumulate);
    return null;
  }

  repool(): never {
    throw new Error('repool is a lane job: the ssd tier pools inline and forwards the rows it writes into what it read ahead');
  }

  update(ids: Jagged, layout: SlotLayout, grad: () => Float32Array, rule: SparseRule): null {
    const adagrad = rule.optimizer === 'rowwise-adagrad';
    if (adagrad && !this.withState) throw new Error('the ssd tier was built without optimizer state');
    const g = this.pooled?.fetch.ids === ids ? this.pooled : this.gather(this.takeFetch(ids));
    this.pooled = null;
    this.kernels.embeddingUpdate(g.values, g.local, layout, grad(), { ...rule, states: adagrad ? g.states : null });
    this.scatter(g, adagrad);
    return null;
  }

  /** Rows (table t's row for each pair) into into [n x dim], and their row-wise state into state. */
  readRows(tables: Int32Array, rows: Int32Array, into: Float32Array, state: Float32Array | null): void {
    this.finishRows(this.startRows(tables, rows, state !== null), into, state);
  }

  /** Starts reading (table, row) pairs; finishRows copies them out. Blocks written meanwhile are forwarded into the read. */
  startRows(tables: Int32Array, rows: Int32Array, withState: boolean): RowsRead {
    const read = { tables, rows, fetch: this.fetchPairs(tables, rows, withState) };
    this.reading.add(read.fetch);
    return read;
  }

  finishRows(read: RowsRead, into: Float32Array, state: Float32Array | null): void {
    this.reading.delete(read.fetch);
    const g = this.gather(read.fetch), d = this.dim, { tables, rows } = read;
    for (let i = 0; i < rows.length; i++) {
      const t = tables[i], u = indexOf(g.fetch.tables[t].rows, rows[i]);
      into.set(g.values[t].subarray(u * d, (u + 1) * d), i * d);
      if (state) state[i] = g.states![t][u];
    }
    this.releaseFetch(g.fetch);
  }

  writeRows(tables: Int32Array, rows: Int32Array, from: Float32Array, state: Float32Array | null): void {
    this.dropPooled(); // its gathered copy would miss these rows
    const g = this.gatherPairs(tables, rows, state !== null), d = this.dim;
    for (let i = 0; i < rows.length; i++) {
      const t = tables[i], u = indexOf(g.fetch.tables[t].rows, rows[i]);
      g.values[t].set(from.subarray(i * d, (i + 1) * d), u * d);
      if (state) g.states![t][u] = state[i];
    }
    this.scatter(g, state !== null);
  }

  /** Waits for every write-back and makes the files durable (a checkpoint's tables are then on the disk). */
  flush(): void {
    while (this.writes.length > 0) this.reapWrite();
    for (const f of this.files) f.sync();
  }

  /** Finishes the transfers in flight and closes its files (the rows stay in them). */
  release(): void {
    this.dropPooled();
    for (const f of [...this.ahead.splice(0), ...this.reading]) this.releaseFetch(f);
    this.reading.clear();
    while (this.writes.length > 0) this.reapWrite();
    for (const f of this.files) f.close();
  }

  /** The read ahead made for these ids (those queued before it will never be taken, and go), or a read now (the
   *  reads ahead stay for the batches they were made for: this pool came between, as an evaluation's do). */
  private takeFetch(ids: Jagged): Fetch {
    const at = this.ahead.findIndex((f) => sameJagged(f.ids, ids));
    if (at < 0) {
      if (this.ahead.length > 0) this.stats.prefetchMisses++;
      return this.fetchBatch(ids);
    }
    for (const f of this.ahead.splice(0, at)) this.releaseFetch(f);
    this.stats.prefetchHits++;
    return this.ahead.shift()!;
  }

  /** Queues the reads of a batch's blocks (one job). */
  private fetchBatch(ids: Jagged): Fetch {
    const { bags } = ids;
    return this.submitReads({
      ids, withState: this.withState,
      tables: this.tables.map((_, t) => this.fetchRows(t, distinctRows(ids.ids.subarray(ids.offsets[t * bags], ids.offsets[(t + 1) * bags])), this.withState)),
    });
  }

  /** Queues a fetch's reads as one job; blocks with a write in flight are copied from it now and not read. */
  private submitReads(fetch: Fetch): Fetch {
    const reads = fetch.tables.flatMap((t) => [t.weights, t.states]).filter((r): r is BlockRead => r !== null), parts: BlockPart[] = [];
    for (const r of reads) {
      let from = 0;
      for (let i = 0; i <= r.blocks.length; i++) {
        const inFlight = i < r.blocks.length ? this.writing.get(this.blockKey(r.file, r.blocks[i])) : undefined;
        if (i < r.blocks.length && !inFlight) continue;
        if (i > from) parts.push({ file: this.files[r.file], blocks: r.blocks.subarray(from, i), data: r.data.subarray(from * floatsPerBlock, i * floatsPerBlock) });
        from = i + 1;
        if (inFlight) r.data.set(inFlight.data.subarray(inFlight.at * floatsPerBlock, (inFlight.at + 1) * floatsPerBlock), i * floatsPerBlock);
      }
    }
    const pending: Pending = { job: parts.length > 0 ? this.queue.submit(false, parts) : null };
    for (const r of reads) r.pending = pending;
    return fetch;
  }

  private blockKey(file: number, block: number): number {
    return block * this.files.length + file;
  }

  private fetchRows(t: number, rows: Int32Array, withState: boolean): TableRead {
    const n = this.tables[t].rows;
    if (rows.length > 0 && (rows[0] < 0 || rows[rows.length - 1] >= n)) {
      throw new RangeError(`row ${rows[0] < 0 ? rows[0] : rows[rows.length - 1]} is outside table ${t}'s ${n} rows`);
    }
    if (rows.length === 0) return { rows, weights: null, states: null };
    return {
      rows,
      weights: this.read(t, blocksOf(rows, this.rowsPerBlock)),
      states: withState ? this.read(this.tables.length + t, blocksOf(rows, floatsPerBlock)) : null,
    };
  }

  private read(file: number, blocks: Int32Array): BlockRead {
    const base = this.acquire(blocks.length), data = base.subarray(0, blocks.length * floatsPerBlock);
    this.stats.blocksRead += blocks.length;
    return { file, blocks, base, data, pending: { job: null } };
  }

  /** A fetch of (table, row) pairs, read now and gathered. */
  private gatherPairs(tables: Int32Array, rows: Int32Array, withState: boolean): Gathered {
    return this.gather(this.fetchPairs(tables, rows, withState));
  }

  private fetchPairs(tables: Int32Array, rows: Int32Array, withState: boolean): Fetch {
    if (withState && !this.withState) throw new Error('the ssd tier was built without optimizer state');
    const byTable: number[][] = this.tables.map(() => []);
    tables.forEach((t, i) => byTable[t].push(rows[i]));
    const none = { tables: 0, bags: 0, ids: new Int32Array(0), offsets: new Int32Array(1) };
    return this.submitReads({ ids: none, withState, tables: byTable.map((r, t) => this.fetchRows(t, distinctRows(Int32Array.from(r)), withState)) });
  }

  /** Waits for a fetch's reads and copies its rows out of the blocks; the batch's ids rewritten to those rows. */
  private gather(fetch: Fetch): Gathered {
    const d = this.dim, { ids } = fetch, local = new Int32Array(ids.ids.length);
    // At least one element each: the kernels take an empty typed array for a missing one.
    const values = fetch.tables.map(({ rows, weights }) => {
      const out = new Float32Array(Math.max(1, rows.length) * d);
      if (weights) this.settle(weights);
      rows.forEach((r, u) => {
        const at = indexOf(weights!.blocks, Math.floor(r / this.rowsPerBlock)) * floatsPerBlock + (r % this.rowsPerBlock) * d;
        out.set(weights!.data.subarray(at, at + d), u * d);
      });
      return out;
    });
    const states = fetch.withState ? fetch.tables.map(({ rows, states }) => {
      const out = new Float32Array(Math.max(1, rows.length));
      if (!states) return out;
      this.settle(states);
      rows.forEach((r, u) => (out[u] = states.data[indexOf(states.blocks, Math.floor(r / floatsPerBlock)) * floatsPerBlock + (r % floatsPerBlock)]));
      return out;
    }) : null;
    for (let t = 0; t < ids.tables; t++) {
      const rows = fetch.tables[t].rows;
      for (let q = ids.offsets[t * ids.bags]; q < ids.offsets[(t + 1) * ids.bags]; q++) local[q] = indexOf(rows, ids.ids[q]);
    }
    return { fetch, values, states, local: { ...ids, ids: local } };
  }

  /** Writes the gathered rows (and, with withState, their state) back through their blocks: logged first, forwarded
   *  into every read ahead, then queued. */
  private scatter(g: Gathered, withState: boolean): void {
    const d = this.dim, reads: BlockRead[] = [];
    g.fetch.tables.forEach(({ rows, weights, states }, t) => {
      if (weights) {
        this.journal?.record(weights.file, weights.blocks, weights.data);
        rows.forEach((r, u) => {
          const at = indexOf(weights.blocks, Math.floor(r / this.rowsPerBlock)) * floatsPerBlock + (r % this.rowsPerBlock) * d;
          weights.data.set(g.values[t].subarray(u * d, (u + 1) * d), at);
        });
        reads.push(weights);
      }
      if (states && withState) {
        this.journal?.record(states.file, states.blocks, states.data);
        rows.forEach((r, u) => (states.data[indexOf(states.blocks, Math.floor(r / floatsPerBlock)) * floatsPerBlock + (r % floatsPerBlock)] = g.states![t][u]));
        reads.push(states);
      } else if (states) {
        this.free.push(states.base);
      }
    });
    this.journal?.sync();
    for (const read of reads) {
      this.forward(read);
      this.stats.blocksWritten += read.blocks.length;
    }
    this.queueWrite(reads.map((r) => ({ file: r.file, blocks: r.blocks, data: r.data })), reads.map((r) => r.base));
  }

  /** Copies written blocks into the reads ahead that hold them (after those reads ran, so they are not overwritten). */
  private forward(written: BlockRead): void {
    for (const fetch of [...this.ahead, ...this.reading]) {
      for (const t of fetch.tables) {
        const read = written.file < this.tables.length ? t.weights : t.states;
        if (!read || read.file !== written.file) continue;
        let i = 0, j = 0;
        while (i < written.blocks.length && j < read.blocks.length) {
          if (written.blocks[i] < read.blocks[j]) i++;
          else if (written.blocks[i] > read.blocks[j]) j++;
          else {
            this.settle(read);
            read.data.set(written.data.subarray(i * floatsPerBlock, (i + 1) * floatsPerBlock), j * floatsPerBlock);
            this.stats.forwardedBlocks++;
            i++;
            j++;
          }
        }
      }
    }
  }

  /** Waits for a read's job (once for all the reads it moves). */
  private settle(read: BlockRead): void {
    const job = read.pending.job;
    if (job === null) return;
    read.pending.job = null;
    const t0 = process.hrtime.bigint(), { startNs, endNs } = this.queue.wait(job);
    this.stats.readWaitNs += Number(process.hrtime.bigint() - t0);
    this.stats.readNs += endNs - startNs;
  }

  /** Queues blocks to be written (behind the compute), at most writesInFlight steps of them in flight. */
  private queueWrite(parts: { file: number; blocks: Int32Array; data: Float32Array }[], buffers: Float32Array[]): void {
    const write = ++this.writeCount, keys: number[] = [];
    for (const p of parts) {
      p.blocks.forEach((b, i) => {
        const key = this.blockKey(p.file, b);
        this.writing.set(key, { data: p.data, at: i, write });
        keys.push(key);
      });
    }
    const job = this.writer.submit(true, parts.map((p) => ({ file: this.files[p.file], blocks: p.blocks, data: p.data })));
    this.writes.push({ job, buffers, keys, write });
    if (this.writes.length > writesInFlight) this.reapWrite();
  }

  private reapWrite(): void {
    const { job, buffers, keys, write } = this.writes.shift()!;
    this.writer.wait(job);
    for (const key of keys) if (this.writing.get(key)?.write === write) this.writing.delete(key);
    this.free.push(...buffers);
  }

  private dropPooled(): void {
    if (this.pooled) this.releaseFetch(this.pooled.fetch);
    this.pooled = null;
  }

  /** Gives a fetch's buffers back once its reads ran. */
  private releaseFetch(fetch: Fetch): void {
    for (const t of fetch.tables) {
      for (const read of [t.weights, t.states]) {
        if (!read) continue;
        this.settle(read);
        this.free.push(read.base);
      }
    }
  }

  /** An aligned buffer of at least `blocks` blocks: the smallest free one that holds them, else a new one. */
  private acquire(blocks: number): Float32Array {
    const floats = blocks * floatsPerBlock;
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.length >= floats && (best < 0 || b.length < this.free[best].length)) best = i;
    });
    if (best >= 0) return this.free.splice(best, 1)[0];
    return alignedBuffer(2 ** Math.ceil(Math.log2(Math.max(1, blocks))));
  }

  /** Writes `floats` values made by fill(part, first index) into file f, a chunk of blocks at a time, two in flight. */
  private writeFilled(f: number, floats: number, fill: (part: Float32Array, first: number) => void): void {
    const blocks = Math.ceil(floats / floatsPerBlock);
    for (let first = 0; first < blocks; first += initBlocks) {
      const count = Math.min(initBlocks, blocks - first), from = first * floatsPerBlock, size = Math.min(count * floatsPerBlock, floats - from);
      const buffer = this.acquire(initBlocks), data = buffer.subarray(0, count * floatsPerBlock);
      data.fill(0);
      fill(data.subarray(0, size), from);
      const written = Int32Array.from({ length: count }, (_, i) => first + i);
      this.queueWrite([{ file: f, blocks: written, data }], [buffer]);
    }
  }
}

function checkedDim(tables: readonly TableConfig[]): number {
  const dim = tables[0]?.dim ?? 0;
  if (dim <= 0 || floatsPerBlock % dim !== 0) throw new RangeError(`the ssd tier stores rows of a power-of-two dimension up to ${floatsPerBlock}, not ${dim}`);
  return dim;
}

/** The distinct values, ascending. */
function distinctRows(ids: Int32Array): Int32Array {
  return Int32Array.from(new Set(ids)).sort();
}

/** The distinct blocks (ascending) holding the ascending rows, `perBlock` rows a block. */
function blocksOf(rows: Int32Array, perBlock: number): Int32Array {
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
