/**
 * Undo logs of block files updated in place, so a set of files can be rolled back to a checkpoint: from the
 * checkpoint of step S on, the first write of each block appends the block as it was (its pre-image) to
 * `undo-S.log`, and the log reaches the disk before the block is overwritten. Applying the logs of S and of every
 * later checkpoint, newest first, puts every block back as it was at S. A record is a 16-byte header (magic, file,
 * block, CRC-32 of the data) and the block; a torn last record (a kill during the append, before its block was
 * written) is ignored, any other damage is an error naming the log.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { alignedBuffer, type BlockFile, blockBytes, type IoEngine } from './block-file.ts';
import { fsyncPath } from '../util/atomic-file.ts';
import { StorageError } from '../util/errors.ts';

const magic = 0x31554c48; // 'HLU1'
const headerBytes = 16;
const recordBytes = headerBytes + blockBytes;

export class UndoLogError extends StorageError {}

const logName = (step: number) => `undo-${String(step).padStart(10, '0')}.log`;

export class UndoLog {
  /** Per file, a bit per block: its pre-image is in the current log. */
  private logged: Uint8Array[];
  private fd = -1;
  /** Records appended since the last sync. */
  private unsynced = 0;

  constructor(private readonly dir: string, private readonly files: readonly BlockFile[], private readonly blocksOf: readonly number[]) {
    this.logged = blocksOf.map((n) => new Uint8Array(Math.ceil(n / 8)));
  }

  /** Whether a log is open (from the first checkpoint on: before it nothing can be rolled back to). */
  get active(): boolean {
    return this.fd >= 0;
  }

  /** The steps that have a log, ascending. */
  steps(): number[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir).flatMap((n) => /^undo-(\d+)\.log$/.exec(n)?.[1] ?? []).map(Number).sort((a, b) => a - b);
  }

  /** Starts the log of checkpoint `step` (the files must be durable as of now). */
  start(step: number): void {
    this.close();
    this.fd = openSync(join(this.dir, logName(step)), 'w');
    fdatasyncSync(this.fd);
    fsyncPath(this.dir);
    this.logged = this.blocksOf.map((n) => new Uint8Array(Math.ceil(n / 8)));
  }

  /** Deletes the logs older than `oldest` (no checkpoint before it is kept). */
  forgetBefore(oldest: number): void {
    for (const s of this.steps()) if (s < oldest) rmSync(join(this.dir, logName(s)));
  }

  /** Appends the pre-image of each block of `file` not yet logged; data holds blocks[i] at block i. */
  record(file: number, blocks: Int32Array, data: Float32Array): void {
    if (this.fd < 0) return;
    const bits = this.logged[file], bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const fresh = blocks.filter((b) => !(bits[b >> 3] & (1 << (b & 7))));
    if (fresh.length === 0) return;
    const out = Buffer.alloc(fresh.length * recordBytes);
    let at = 0;
    for (let i = 0; i < blocks.length; i++) {
      const b = blocks[i];
      if (bits[b >> 3] & (1 << (b & 7))) continue;
      const block = bytes.subarray(i * blockBytes, (i + 1) * blockBytes);
      out.writeUInt32LE(magic, at);
      out.writeUInt32LE(file, at + 4);
      out.writeUInt32LE(b, at + 8);
      out.writeUInt32LE(crc32(block), at + 12);
      out.set(block, at + headerBytes);
      at += recordBytes;
      bits[b >> 3] |= 1 << (b & 7);
    }
    // One append per call: a kill leaves at most its last record short, and that block was not yet written.
    writeSync(this.fd, out);
    this.unsynced += fresh.length;
  }

  /** Makes the records appended so far durable (before the blocks they protect are overwritten). */
  sync(): void {
    if (this.fd < 0 || this.unsynced === 0) return;
    fdatasyncSync(this.fd);
    this.unsynced = 0;
  }

  /** Puts every block back as it was at checkpoint `step` and restarts its log (empty: the files are as they were). */
  rollBack(step: number, io: { engine: IoEngine; queueDepth: number }): void {
    const steps = this.steps();
    if (!steps.includes(step)) throw new UndoLogError(`${join(this.dir, logName(step))}: missing; the tables cannot be put back as they were at step ${step}`);
    this.close();
    for (const s of steps.filter((s) => s >= step).reverse()) {
      const path = join(this.dir, logName(s)), log = readFileSync(path), records = Math.floor(log.length / recordBytes); // a short tail: torn
      const byFile = this.files.map(() => [] as number[]);
      for (let r = 0; r < records; r++) {
        const at = r * recordBytes, file = log.readUInt32LE(at + 4), b = log.readUInt32LE(at + 8);
        const sound = log.readUInt32LE(at) === magic && file < this.files.length && b < this.blocksOf[file] &&
          crc32(log.subarray(at + headerBytes, at + recordBytes)) === log.readUInt32LE(at + 12);
        if (!sound) throw new UndoLogError(`${path}: record ${r} is damaged (bad header or checksum)`);
        byFile[file].push(r);
      }
      byFile.forEach((rs, file) => {
        if (rs.length === 0) return;
        const buffer = alignedBuffer(rs.length), bytes = new Uint8Array(buffer.buffer);
        rs.forEach((r, i) => bytes.set(log.subarray(r * recordBytes + headerBytes, (r + 1) * recordBytes), i * blockBytes));
        this.files[file].transfer(true, Int32Array.from(rs, (r) => log.readUInt32LE(r * recordBytes + 8)), buffer, io.engine, io.queueDepth);
      });
    }
    for (const f of this.files) f.sync();
    for (const s of steps) if (s > step) rmSync(join(this.dir, logName(s)));
    this.start(step);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
