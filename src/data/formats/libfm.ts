/**
 * libFM lines (`label feature:value ...`, as iPinYou and Frappe are distributed): one categorical field per
 * position, the feature index its value; the label is positive when > 0 (the files use 0/1 or -1/1).
 */
import { readFileSync } from 'node:fs';
import { DataError } from './data-error.ts';
import { emptyTable, type RawTable } from './table.ts';

export function readLibfm(path: string): RawTable {
  const lines = readFileSync(path, 'utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${path}: the file is empty`);
  const fields = lines[0].trim().split(/\s+/).length - 1;
  const table = emptyTable([], Array.from({ length: fields }, (_, k) => `F${k + 1}`));
  lines.forEach((raw, n) => {
    const parts = raw.trim().split(/\s+/), where = `${path}:${n + 1}`;
    if (parts.length - 1 !== fields) throw new DataError(`${where}: expected ${fields} features, found ${parts.length - 1}`);
    const y = Number(parts[0]);
    if (!Number.isFinite(y)) throw new DataError(`${where}: field label: expected a number, got '${parts[0]}'`);
    table.labels.push(y > 0 ? 1 : 0);
    for (let k = 0; k < fields; k++) {
      const m = /^(\d+)(?::[-+0-9.eE]+)?$/.exec(parts[k + 1]);
      if (!m) throw new DataError(`${where}: field F${k + 1}: expected index:value, got '${parts[k + 1]}'`);
      table.categorical[k].push(m[1]);
    }
  });
  return table;
}
