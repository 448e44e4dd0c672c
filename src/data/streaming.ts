/**
 * Training from a dataset folder larger than memory: rows are read from the files in blocks (readRowRange, or
 * positional reads on the loader's lane), passed through a seeded shuffle buffer, and assembled into mini-batches, so
 * memory holds the buffer and one block whatever the dataset's size.
 */
import { join } from 'node:path';
import { Rng } from '../util/rng.ts';
import type { Batch, BatchSource } from './batch.ts';
import { type Manifest, readRowRange } from './binary-dataset.ts';
import { checkRows } from './dataset-checks.ts';
import type { Dataset } from './dataset.ts';
import { jaggedOf } from '../tensor/jagged.ts';
import { DataError } from '../util/errors.ts';

/** Rows held in fixed arrays, with a row copied between positions or out to a batch; a multi-hot feature keeps each
 *  row's bag as a view of the block it came from. */
class RowStore {
  readonly labels: Float32Array;
  readonly dense: Float32Array;
  readonly categorical: Int32Array[];
  readonly bags: (Int32Array[] | null)[];

  constructor(readonly capacity: number, readonly nd: number, multiHot: boolean[]) {
    this.labels = new Float32Array(capacity);
    this.dense = new Float32Array(capacity * nd);
    this.categorical = multiHot.map(() => new Int32Array(capacity));
    this.bags = multiHot.map((m) => (m ? new Array<Int32Array>(capacity) : null));
  }

  copyRow(from: number, to: RowStore, at: number): void {
    to.labels[at] = this.labels[from];
    to.dense.set(this.dense.subarray(from * this.nd, (from + 1) * this.nd), at * this.nd);
    for (let t = 0; t < this.categorical.length; t++) {
      if (this.bags[t]) to.bags[t]![at] = this.bags[t]![from];
      else to.categorical[t][at] = this.categorical[t][from];
    }
  }

  append(block: Dataset, at: number): void {
    this.labels.set(block.labels, at);
    this.dense.set(block.dense, at * this.nd);
    block.categorical.forEach((c, t) => {
      const offsets = block.offsets?.[t], bags = this.bags[t];
      if (!offsets || !bags) this.categorical[t].set(c, at);
      else for (let r = 0; r < block.rows; r++) bags[at + r] = c.subarray(offsets[r], offsets[r + 1]);
    });
  }

  batch(size: number): Batch {
    const offsets = this.bags.map((bags) => {
      if (!bags) return null;
      const off = new Int32Array(size + 1);
      for (let i = 0; i < size; i++) off[i + 1] = off[i] + bags[i].length;
      return off;
    });
    const columns = this.categorical.map((c, t) => {
      const bags = this.bags[t];
      if (!bags) return c;
      const ids = new Int32Array(offsets[t]![size]);
      for (let i = 0; i < size; i++) ids.set(bags[i], offsets[t]![i]);
      return ids;
    });
    return { size, labels: this.labels.slice(0, size), dense: this.dense.slice(0, size * this.nd), sparse: jaggedOf(size, columns, offsets) };
  }
}

/** What the loader needs of its lane (kernels.lane('loader'), src/io/lane.ts): positional reads run in order on a
 *  thread of their own, a job's count the bytes read. Declared here so data does not import the io layer above it. */
export interface BlockReader {
  read(path: string, position: number, target: ArrayBufferView): number;
  wait(job: number): { count: number };
}

/** A block being read on the lane (prefetch) into arrays shaped as a dataset. */
interface PendingBlock {
  block: Dataset;
  firstRow: number;
  reads: { job: number; bytes: number; path: string }[];
}

export class StreamingSource implements BatchSource {
  readonly batchesPerEpoch: number;

  /** With a lane, the next block is read on its thread while the current one feeds the training loop. */
  constructor(
    readonly dir: string, readonly manifest: Manifest, readonly start: number, readonly end: number,
    readonly batchSize: number, readonly bufferRows: number, readonly seed: number,
    readonly lane: BlockReader | null = null, readonly blockRows = 1 << 16,
  ) {
    this.batchesPerEpoch = Math.ceil((end - start) / batchSize);
  }

  private startBlock(at: number): PendingBlock {
    const m = this.manifest, end = Math.min(this.end, at + this.blockRows), n = end - at, nd = m.denseNames.length;
    const block: Dataset = {
      rows: n, denseFeatures: nd, tableRows: m.cardinalities, labels: new Float32Array(n), dense: new Float32Array(n * nd),
      categorical: m.categoricalNames.map(() => new Int32Array(n)),
    };
    // Multi-hot bags need their offsets before their ids: such blocks are read in this thread.
    if (!this.lane || m.bags) return { block: readRowRange(this.dir, m, at, end), firstRow: at, reads: [] };
    const file = (name: keyof Manifest['files']) => join(this.dir, m.files[name].path);
    const read = (path: string, position: number, target: ArrayBufferView) => ({ job: this.lane!.read(path, position, target), bytes: target.byteLength, path });
    const reads = [read(file('labels'), at * 4, block.labels), read(file('dense'), at * nd * 4, block.dense)];
    block.categorical.forEach((column, t) => reads.push(read(file('categorical'), (t * m.rows + at) * 4, column)));
    return { block, firstRow: at, reads };
  }

  private finishBlock(pending: PendingBlock): Dataset {
    const got = pending.reads.map((r) => this.lane!.wait(r.job).count); // every read lands before any is judged
    pending.reads.forEach((r, i) => {
      if (got[i] !== r.bytes) throw new DataError(`${r.path}: read ${got[i]} of ${r.bytes} bytes`);
    });
    if (pending.reads.length > 0) checkRows(this.dir, this.manifest, pending.block, pending.firstRow);
    return pending.block;
  }

  /** Every row once per epoch: blocks stream into the buffer, and rows leave it at random (seeded per epoch).
   *  The buffer's state after `from` batches depends on every draw before, so those are replayed, not trained. */
  *batches(epoch: number, from = 0): Iterable<Batch> {
    let index = 0;
    for (const batch of this.epochBatches(epoch)) if (index++ >= from) yield batch;
  }

  private *epochBatches(epoch: number): Iterable<Batch> {
    const m = this.manifest, nd = m.denseNames.length;
    const rng = new Rng(this.seed, 2000 + epoch);
    const multiHot = m.categoricalNames.map((name) => Boolean(m.bags?.[name]));
    const buffer = new RowStore(this.bufferRows + this.blockRows, nd, multiHot), batch = new RowStore(this.batchSize, nd, multiHot);
    let held = 0, filled = 0;
    const drawUntil = function* (this: StreamingSource, keep: number): Generator<Batch> {
      while (held > keep) {
        const pick = rng.int(held);
        buffer.copyRow(pick, batch, filled++);
        buffer.copyRow(--held, buffer, pick); // the last held row fills the gap
        if (filled === this.batchSize) {
          yield batch.batch(filled);
          filled = 0;
        }
      }
    }.bind(this);
    let next: PendingBlock | null = this.start < this.end ? this.startBlock(this.start) : null;
    try {
      for (let at = this.start; next; at += this.blockRows) {
        const pending: PendingBlock = next;
        next = null; // waited for by finishBlock, whatever it finds
        const block = this.finishBlock(pending);
        next = at + this.blockRows < this.end ? this.startBlock(at + this.blockRows) : null;
        buffer.append(block, held);
        held += block.rows;
        yield* drawUntil(this.bufferRows);
      }
      yield* drawUntil(0);
      if (filled > 0) yield batch.batch(filled);
    } finally {
      // Left early (a stop, an error): the block read ahead must land before its arrays can be collected.
      if (next) for (const r of next.reads) this.lane!.wait(r.job);
    }
  }
}
