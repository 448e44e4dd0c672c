/**
 * A raw input file as a sequence of chunks that end at line ends: the unit of parallel, resumable work.
 * Chunk boundaries depend only on the file and the chunk size, so a rerun sees the same chunks. Plain files
 * are read by position; gzip files are decompressed as a stream (a rerun decompresses again but skips the
 * work of finished chunks).
 */
import { closeSync, openSync, readSync, statSync, createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { DataError } from '../util/errors.ts';
import { loadNativeAddon } from '../util/addon.ts';
import { readZipEntry } from './formats/zip.ts';

const loaded = loadNativeAddon<{ countLineEnds(bytes: Uint8Array): number }>();
const addon = loaded instanceof Error ? null : loaded;

export interface Chunk {
  index: number;
  bytes: Uint8Array;
  /** Line number of the chunk's first line (1-based), its line count, and whether it starts / ends the file. */
  firstLine: number;
  lines: number;
  atFileStart: boolean;
  atFileEnd: boolean;
}

/** The first line of a file (a header, or the first record), for formats that bind to it. */
export async function firstLineOf(file: string, zipEntry?: string): Promise<string> {
  for await (const chunk of readChunks(file, 1 << 16, zipEntry)) {
    const end = chunk.bytes.indexOf(10);
    return Buffer.from(chunk.bytes.buffer, chunk.bytes.byteOffset, end < 0 ? chunk.bytes.length : end).toString('utf8');
  }
  return '';
}

/** Line ends in bytes (native memchr when the addon is built). */
function countLineEnds(bytes: Uint8Array): number {
  if (addon) return addon.countLineEnds(bytes);
  let n = 0;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}



/** Cuts `pending` after its last line end (or takes everything at the end of the file). */
function cut(pending: Uint8Array, final: boolean): [Uint8Array, Uint8Array] {
  if (final) return [pending, new Uint8Array(0)];
  const last = pending.lastIndexOf(10);
  return last < 0 ? [new Uint8Array(0), pending] : [pending.subarray(0, last + 1), pending.subarray(last + 1)];
}

/** The chunks of a file (plain, .gz, or the entry of a .zip whose name ends in zipEntry). */
export async function* readChunks(file: string, chunkBytes: number, zipEntry?: string): AsyncGenerator<Chunk> {
  const stat = statSync(file);
  if (stat.isDirectory()) throw new DataError(`${file}: a folder, not a file`);
  let size = stat.size;
  if (size === 0) throw new DataError(`${file}: the file is empty`);
  // A zip entry is inflated whole (MovieLens's archives), then cut like a plain file.
  const inMemory = zipEntry && file.endsWith('.zip') ? readZipEntry(file, zipEntry) : null;
  if (inMemory) size = inMemory.length;
  const gzip = !inMemory && file.endsWith('.gz');
  let index = 0, line = 1, pending: Uint8Array = new Uint8Array(0), start = true;
  const emit = (bytes: Uint8Array, atFileEnd: boolean): Chunk => {
    const ends = countLineEnds(bytes);
    const lines = ends + (bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? 1 : 0);
    const chunk = { index: index++, bytes, firstLine: line, lines, atFileStart: start, atFileEnd };
    line += ends;
    start = false;
    return chunk;
  };
  if (!gzip) {
    const fd = inMemory ? -1 : openSync(file, 'r');
    const readAt = (target: Uint8Array, at: number, length: number, position: number) =>
      inMemory ? inMemory.copy(target, at, position, position + length) : readSync(fd, target, at, length, position);
    try {
      for (let offset = 0; offset < size || pending.length > 0; ) {
        const buffer = Buffer.allocUnsafe(pending.length + Math.min(chunkBytes, size - offset));
        buffer.set(pending);
        const read = readAt(buffer, pending.length, buffer.length - pending.length, offset);
        offset += read;
        const [whole, rest] = cut(buffer.subarray(0, pending.length + read), offset >= size);
        pending = rest.slice();
        if (rest.length > 16 * chunkBytes) throw new DataError(`${file}:${line}: no line end in ${rest.length} bytes`);
        if (whole.length > 0) yield emit(whole, offset >= size && pending.length === 0);
      }
    } finally {
      if (fd >= 0) closeSync(fd);
    }
    return;
  }
  const stream = createReadStream(file).pipe(createGunzip());
  let buffered: Buffer[] = [], bufferedBytes = 0, decompressed = 0;
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      decompressed += piece.length;
      buffered.push(piece);
      bufferedBytes += piece.length;
      if (bufferedBytes < chunkBytes) continue;
      const all = Buffer.concat([Buffer.from(pending), ...buffered]);
      buffered = [];
      bufferedBytes = 0;
      const [whole, rest] = cut(all, false);
      pending = rest;
      if (whole.length > 0) yield emit(whole, false);
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${file}: gzip data is corrupt after ${decompressed} decompressed bytes (${(error as Error).message})`);
  }
  const tail = Buffer.concat([Buffer.from(pending), ...buffered]);
  if (tail.length > 0) yield emit(tail, true);
}
