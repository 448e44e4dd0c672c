/**
 * A minimal reader of Criteo's raw TSV (label, I1..I13, C1..C26; empty = missing; categoricals as hex
 * hashes) into an in-memory dataset: dense features as log(1 + max(x, 0)), categorical values numbered
 * per column in order of first appearance (id 0 is reserved for "missing"). Bad input stops with the
 * file, line and field.
 */
import { readFileSync } from 'node:fs';
import type { Dataset } from './dataset.ts';

export const criteoDense = 13;
export const criteoCategorical = 26;

export class DataError extends Error {}

export function readCriteoTsv(path: string, options: { labelled?: boolean } = {}): Dataset {
  const labelled = options.labelled ?? true;
  const text = readFileSync(path, 'utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new DataError(`${path}: the file is empty`);
  const fields = criteoDense + criteoCategorical + (labelled ? 1 : 0);
  const rows = lines.length;
  const dense = new Float32Array(rows * criteoDense);
  const categorical = Array.from({ length: criteoCategorical }, () => new Int32Array(rows));
  const labels = new Float32Array(rows);
  const vocab = Array.from({ length: criteoCategorical }, () => new Map<string, number>());
  lines.forEach((raw, r) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const parts = line.split('\t');
    const where = (field: string) => `${path}:${r + 1}: field ${field}`;
    if (parts.length !== fields) throw new DataError(`${path}:${r + 1}: expected ${fields} tab-separated fields, found ${parts.length}`);
    let f = 0;
    if (labelled) {
      const label = parts[f++];
      if (label !== '0' && label !== '1') throw new DataError(`${where('label')}: expected 0 or 1, got '${label}'`);
      labels[r] = label === '1' ? 1 : 0;
    }
    for (let j = 0; j < criteoDense; j++, f++) {
      const v = parts[f];
      if (v === '') continue;
      if (!/^-?\d+$/.test(v)) throw new DataError(`${where(`I${j + 1}`)}: expected an integer, got '${v}'`);
      dense[r * criteoDense + j] = Math.log1p(Math.max(Number(v), 0));
    }
    for (let t = 0; t < criteoCategorical; t++, f++) {
      const v = parts[f];
      if (v === '') continue;
      if (!/^[0-9a-fA-F]{1,8}$/.test(v)) throw new DataError(`${where(`C${t + 1}`)}: expected a hex hash of up to 8 digits, got '${v}'`);
      let id = vocab[t].get(v);
      if (id === undefined) vocab[t].set(v, (id = vocab[t].size + 1));
      categorical[t][r] = id;
    }
  });
  return { rows, denseFeatures: criteoDense, tableRows: vocab.map((m) => m.size + 1), dense, categorical, labels };
}
