/** Writes a dataset as Criteo raw TSV (to exercise the readers at scale): the inverse of parse + encode. */
import type { Dataset } from '../dataset.ts';

/** A bijective 32-bit key per id (odd multiplier), different per column: stands in for Criteo's hashes. */
export function hexKey(table: number, id: number): string {
  return ((Math.imul(id, 0x9e3779b1) + Math.imul(table + 1, 0x85ebca6b)) >>> 0).toString(16).padStart(8, '0');
}

const hexDigits = Buffer.from('0123456789abcdef');

/** The rows of data as Criteo TSV lines, formatted as bytes directly (no strings). */
export function criteoTsvBytes(data: Dataset): Uint8Array {
  const nd = data.denseFeatures, tables = data.categorical.length;
  const buffer = Buffer.allocUnsafe(data.rows * (2 + nd * 21 + tables * 9)); // the longest line each
  let at = 0;
  const digits = new Uint8Array(20);
  const writeInt = (value: number) => {
    let n = 0;
    do {
      digits[n++] = 48 + (value % 10);
      value = Math.floor(value / 10);
    } while (value > 0);
    while (n > 0) buffer[at++] = digits[--n];
  };
  const keyMultiplier = data.categorical.map((_, t) => Math.imul(t + 1, 0x85ebca6b));
  for (let r = 0; r < data.rows; r++) {
    buffer[at++] = 48 + data.labels[r];
    for (let j = 0; j < nd; j++) {
      buffer[at++] = 9;
      writeInt(Math.round(Math.expm1(data.dense[r * nd + j])));
    }
    for (let t = 0; t < tables; t++) {
      buffer[at++] = 9;
      const key = (Math.imul(data.categorical[t][r], 0x9e3779b1) + keyMultiplier[t]) >>> 0; // as hexKey
      for (let shift = 28; shift >= 0; shift -= 4) buffer[at++] = hexDigits[(key >>> shift) & 15];
    }
    buffer[at++] = 10;
  }
  return buffer.subarray(0, at);
}
