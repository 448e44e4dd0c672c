/**
 * The safetensors format (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length, a
 * JSON header naming each tensor's dtype, shape and byte range, then the raw little-endian data. Any
 * safetensors reader (Python's `safetensors`, `torch`) opens hotline's checkpoints. Tensors are written from and
 * read into the caller's arrays in slices, so a 2 GiB table never needs a second copy in memory; the SHA-256 of
 * the whole file is computed while writing.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { withPath } from '../util/os-error.ts';
import { elementCount, formatShape, type ShapedTensor, type TensorArray } from '../util/tensors.ts';


const dtypeOf = (a: TensorArray): string =>
  a instanceof Float32Array ? 'F32' : a instanceof Float64Array ? 'F64' : a instanceof Int32Array ? 'I32' : a instanceof Uint32Array ? 'U32' : 'U8';

const constructors = { F32: Float32Array, F64: Float64Array, I32: Int32Array, U32: Uint32Array, U8: Uint8Array } as const;
type Dtype = keyof typeof constructors;

export interface TensorInfo {
  dtype: Dtype;
  shape: number[];
  data_offsets: [number, number];
}

export class SafetensorsError extends Error {}

/** Larger slices gain nothing and a single write or read of over 2 GiB fails. */
const slice = 1 << 26;

function bytesOf(a: TensorArray, from: number, to: number): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + from, to - from);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Writes the tensors (in the map's order) and fsyncs; returns the file's size and SHA-256. The hash of each
 *  slice is computed while the previous one is written (the write runs on libuv's thread pool), so hashing
 *  costs no time beside the disk's. The arrays must not change until the promise settles. */
export async function writeSafetensors(path: string, tensors: Map<string, ShapedTensor>, metadata: Record<string, string> = {}): Promise<{ bytes: number; sha256: string }> {
  for (const [name, { data, shape }] of tensors) {
    if (elementCount(shape) !== data.length) throw new Error(`tensor "${name}": shape ${formatShape(shape)} does not hold its ${data.length} elements`);
  }
  return withPath(path, () => writeTensors(path, tensors, metadata));
}

async function writeTensors(path: string, tensors: Map<string, ShapedTensor>, metadata: Record<string, string>): Promise<{ bytes: number; sha256: string }> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, { data, shape }] of tensors) {
    header[name] = { dtype: dtypeOf(data), shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // the data starts 8-byte aligned
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.length - 8));
  head.write(json, 8);
  const hash = createHash('sha256'), file = await open(path, 'w');
  try {
    let position = 0, writing: Promise<void> = Promise.resolve();
    const writeAll = async (bytes: Uint8Array, at: number) => {
      for (let done = 0; done < bytes.length;) done += (await file.write(bytes, done, bytes.length - done, at + done)).bytesWritten;
    };
    const write = async (bytes: Uint8Array) => {
      await writing;
      writing = writeAll(bytes, position);
      position += bytes.length;
      hash.update(bytes);
    };
    await write(head);
    for (const { data: a } of tensors.values()) for (let at = 0; at < a.byteLength; at += slice) await write(bytesOf(a, at, Math.min(a.byteLength, at + slice)));
    await writing;
    await file.sync();
  } finally {
    await file.close();
  }
  return { bytes: head.length + offset, sha256: hash.digest('hex') };
}

/** A header entry's shape is a list of sizes whose elements fill its byte range exactly (known dtypes). */
function checkTensorInfo(path: string, name: string, info: TensorInfo): void {
  const { shape, data_offsets: range } = (info ?? {}) as Partial<TensorInfo>;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Array.isArray(range) || range.length !== 2) {
    throw new SafetensorsError(`${path}: tensor "${name}" has a malformed header entry`);
  }
  const C = constructors[info.dtype], bytes = range[1] - range[0];
  if (C && bytes !== elementCount(shape) * C.BYTES_PER_ELEMENT) {
    throw new SafetensorsError(`${path}: tensor "${name}" spans ${bytes} bytes, its shape ${info.dtype}${formatShape(shape)} needs ${elementCount(shape) * C.BYTES_PER_ELEMENT}`);
  }
}

/** An open safetensors file: its header, and tensors read on demand. */
export class SafetensorsFile {
  readonly tensors: Map<string, TensorInfo>;
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  constructor(readonly path: string) {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size, head = Buffer.alloc(8);
      if (readSync(fd, head, 0, 8, 0) !== 8) throw new SafetensorsError(`${path}: shorter than a safetensors header`);
      const length = Number(head.readBigUInt64LE());
      if (length > size - 8 || length > 1 << 28) throw new SafetensorsError(`${path}: header length ${length} exceeds the file (${size} bytes)`);
      const json = Buffer.alloc(length);
      readSync(fd, json, 0, length, 8);
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(json.toString('utf8'));
      } catch {
        throw new SafetensorsError(`${path}: the header is not valid JSON`);
      }
      const { __metadata__: metadata, ...rest } = parsed;
      this.metadata = (metadata ?? {}) as Record<string, string>;
      this.tensors = new Map(Object.entries(rest) as [string, TensorInfo][]);
      for (const [name, info] of this.tensors) checkTensorInfo(path, name, info);
      this.dataStart = 8 + length;
      const end = Math.max(0, ...[...this.tensors.values()].map((t) => t.data_offsets[1]));
      if (this.dataStart + end !== size) throw new SafetensorsError(`${path}: ${size} bytes, the header describes ${this.dataStart + end}`);
    } finally {
      closeSync(fd);
    }
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  private info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(`${this.path}: no tensor "${name}"`);
    return info;
  }

  /** Reads a tensor into `target`; the file's tensor must have target's dtype and the given shape. */
  readInto(name: string, target: TensorArray, shape: readonly number[]): void {
    if (elementCount(shape) !== target.length) throw new Error(`tensor "${name}": shape ${formatShape(shape)} does not fit a target of ${target.length} elements`);
    const info = this.info(name), [from] = info.data_offsets;
    if (info.dtype !== dtypeOf(target) || !sameShape(info.shape, shape)) {
      throw new SafetensorsError(`${this.path}: tensor "${name}" is ${info.dtype}${formatShape(info.shape)}, expected ${dtypeOf(target)}${formatShape(shape)}`);
    }
    const fd = openSync(this.path, 'r');
    try {
      for (let at = 0; at < target.byteLength; at += slice) {
        const part = bytesOf(target, at, Math.min(target.byteLength, at + slice));
        for (let done = 0; done < part.length;) {
          const n = readSync(fd, part, done, part.length - done, this.dataStart + from + at + done);
          if (n === 0) throw new SafetensorsError(`${this.path}: tensor "${name}" is cut short`);
          done += n;
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** Reads a tensor into a new array of its dtype, whatever its shape. */
  read(name: string): TensorArray {
    const info = this.info(name), C = constructors[info.dtype];
    if (!C) throw new SafetensorsError(`${this.path}: tensor "${name}" has unsupported dtype ${info.dtype}`);
    const a = new C(elementCount(info.shape));
    this.readInto(name, a, info.shape);
    return a;
  }
}
