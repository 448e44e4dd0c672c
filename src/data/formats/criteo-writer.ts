/** Writes a dataset as Criteo raw TSV (to exercise the readers at scale): the inverse of parse + encode. */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Dataset } from '../dataset.ts';

/** A bijective 32-bit key per id (odd multiplier), different per column: stands in for Criteo's hashes. */
export function hexKey(table: number, id: number): string {
  return ((Math.imul(id, 0x9e3779b1) + Math.imul(table + 1, 0x85ebca6b)) >>> 0).toString(16).padStart(8, '0');
}

export function writeCriteoTsv(data: Dataset, path: string): void {
  const fd = openSync(path, 'w'), nd = data.denseFeatures;
  try {
    let lines: string[] = [];
    const flush = () => {
      writeSync(fd, lines.join(''));
      lines = [];
    };
    for (let r = 0; r < data.rows; r++) {
      const fields = [String(data.labels[r])];
      for (let j = 0; j < nd; j++) fields.push(String(Math.round(Math.expm1(data.dense[r * nd + j]))));
      data.categorical.forEach((column, t) => fields.push(hexKey(t, column[r])));
      lines.push(`${fields.join('\t')}\n`);
      if (lines.length === 8192) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
}
