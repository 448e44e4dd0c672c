/** Reads one file out of a zip archive (stored or deflated), enough for the official MovieLens zips. */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { DataError } from '../../util/errors.ts';

export function readZipEntry(path: string, suffix: string): Buffer {
  const zip = readFileSync(path);
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new DataError(`${path}: not a zip archive`);
  let at = zip.readUInt32LE(end + 16);
  const entries = zip.readUInt16LE(end + 10);
  for (let i = 0; i < entries; i++) {
    const method = zip.readUInt16LE(at + 10), size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28), extra = zip.readUInt16LE(at + 30), comment = zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42), name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (name.endsWith(suffix)) {
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const bytes = zip.subarray(data, data + size);
      if (method === 0) return bytes;
      if (method === 8) return inflateRawSync(bytes);
      throw new DataError(`${path}: ${name} uses compression method ${method}`);
    }
    at += 46 + nameLength + extra + comment;
  }
  throw new DataError(`${path}: no entry ending in ${suffix}`);
}
