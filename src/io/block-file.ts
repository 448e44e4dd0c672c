/**
 * A file read and written in aligned blocks for the SSD tier: O_DIRECT where the file system allows it (the page
 * cache is not the cache; the host tier is), many transfers in flight through one of two engines: a pool of threads
 * each doing positional reads and writes, or io_uring where the kernel gives a ring and the addon was built with
 * liburing (bench/ssd-io.ts measures both). Buffers for O_DIRECT must be 4096-aligned: allocate them with
 * `alignedBuffer` (page-aligned, from the native allocator).
 */
import { loadNativeAddon } from '../util/addon.ts';
import { StorageError } from '../util/errors.ts';
import type { LaneJob, LaneOwner } from './lane.ts';

interface BlockAddon {
  blockFileOpen(path: string, create: boolean, tryDirect: boolean): number;
  blockFileClose(handle: number): void;
  blockTransfer(handle: number, engine: number, write: boolean, blocks: Int32Array, blockBytes: number, buffer: Float32Array, queueDepth: number): void;
  blockFileSync(handle: number): void;
  laneOpen(owner: string): number;
  laneBlockTransfer(handles: Int32Array, engine: number, write: boolean, blocks: Int32Array[], blockBytes: number, buffers: Float32Array[], queueDepth: number, lane: number): number;
  laneWait(job: number, lane: number): LaneJob;
  uringAvailable(): boolean;
  allocateTable(floats: number): ArrayBuffer;
  mapFile(path: string): ArrayBuffer;
}

export type IoEngine = 'threads' | 'uring';

/** How transfers are issued: the engine and the requests in flight. */
export interface BlockIo {
  engine: IoEngine;
  queueDepth: number;
}

export const blockBytes = 4096;

function addon(): BlockAddon {
  const loaded = loadNativeAddon<BlockAddon>();
  if (loaded instanceof Error) throw loaded;
  return loaded;
}

/** The engines usable here: threads always, io_uring where the build and the kernel allow it. */
export function ioEngines(): IoEngine[] {
  return addon().uringAvailable() ? ['threads', 'uring'] : ['threads'];
}

/** A zeroed, page-aligned buffer of `blocks` blocks. */
export function alignedBuffer(blocks: number): Float32Array {
  return new Float32Array(addon().allocateTable((blocks * blockBytes) / 4));
}

/** A file of floats mapped shared into memory (the page cache holds its pages; writes go back to the file). */
export function mapFile(path: string): Float32Array {
  return new Float32Array(native(() => addon().mapFile(path), ''));
}

/** Runs a native call, its error worded for the user (`prefix`: the file, where the addon does not name it). */
function native<T>(call: () => T, prefix: string): T {
  try {
    return call();
  } catch (error) {
    throw new StorageError(prefix + (error as Error).message.replace(/^hotline native: /, ''));
  }
}

export class BlockFile {
  /** The addon's handle (-1 once closed). */
  handle: number;

  private constructor(handle: number, readonly path: string, readonly direct: boolean) {
    this.handle = handle;
  }

  /** Opens `path` (created when asked) for block I/O; `direct` tells whether O_DIRECT was accepted. */
  static open(path: string, options: { create: boolean; direct: boolean }): BlockFile {
    const h = native(() => addon().blockFileOpen(path, options.create, options.direct), '');
    return h >= 0 ? new BlockFile(h, path, true) : new BlockFile(-h - 1, path, false);
  }

  /** Reads blocks[i] into buffer block i (or, with write, writes it there), queueDepth transfers in flight. */
  transfer(write: boolean, blocks: Int32Array, buffer: Float32Array, engine: IoEngine, queueDepth: number): void {
    native(() => addon().blockTransfer(this.handle, engine === 'uring' ? 1 : 0, write, blocks, blockBytes, buffer, queueDepth), ''); // errors name the file
  }

  /** Makes what was written durable. */
  sync(): void {
    native(() => addon().blockFileSync(this.handle), `${this.path}: `);
  }

  close(): void {
    if (this.handle < 0) return;
    addon().blockFileClose(this.handle);
    this.handle = -1;
  }
}

/** Blocks of one file and the buffer they move through (blocks[i] at block i). */
export interface BlockPart {
  file: BlockFile;
  blocks: Int32Array;
  data: Float32Array;
}

/**
 * Block transfers queued on a lane of their own (its thread issues them, `queueDepth` in flight): reads ahead of the
 * compute and writes behind it. One job moves the blocks of many files together. Jobs run in submission order, so a
 * read queued after a write of the same block sees it. A buffer must stay untouched until its job was waited for; a
 * failed transfer throws from wait, naming the file and block.
 */
export class BlockQueue {
  private readonly lane: number;

  constructor(owner: LaneOwner, private readonly io: BlockIo) {
    this.lane = addon().laneOpen(owner);
  }

  submit(write: boolean, parts: readonly BlockPart[]): number {
    return native(() => addon().laneBlockTransfer(
      Int32Array.from(parts, (p) => p.file.handle), this.io.engine === 'uring' ? 1 : 0, write, parts.map((p) => p.blocks), blockBytes,
      parts.map((p) => p.data), this.io.queueDepth, this.lane,
    ), '');
  }

  wait(job: number): LaneJob {
    return native(() => addon().laneWait(job, this.lane), '');
  }
}
