/**
 * A Criteo raw TSV (plain or .gz) read whole into memory, categorical values numbered per column in order of
 * first appearance (id 0 is "missing"): for small files such as the shared samples. Large files go through
 * `hotline preprocess`.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Dataset } from './dataset.ts';
import { criteoDense, parseCriteoLines } from './formats/criteo-tsv.ts';
import { missingKey } from './formats/lines.ts';
import { DataError } from '../util/errors.ts';
import { withPath } from '../util/os-error.ts';

export function readCriteoTsv(path: string, options: { labelled?: boolean } = {}): Dataset {
  let bytes = withPath(path, () => readFileSync(path));
  if (path.endsWith('.gz') && bytes.length > 0) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DataError(`${path}: gzip data is corrupt (${(error as Error).message})`);
    }
  }
  if (bytes.length === 0) throw new DataError(`${path}: the file is empty`);
  const parsed = parseCriteoLines(bytes, { file: path, firstLine: 1, labelled: options.labelled ?? true, onBadLine: 'error', skipped: {} }, true, true);
  const tableRows: number[] = [];
  const categorical = parsed.keys.map((keys) => {
    const ids = new Map<number, number>([[missingKey, 0]]);
    const column = Int32Array.from(keys, (k) => {
      let id = ids.get(k);
      if (id === undefined) ids.set(k, (id = ids.size));
      return id;
    });
    tableRows.push(Math.max(ids.size, 1));
    return column;
  });
  return { rows: parsed.rows, denseFeatures: criteoDense, tableRows, dense: parsed.dense, categorical, labels: parsed.labels };
}
