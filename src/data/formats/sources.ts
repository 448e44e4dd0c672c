/** Non-Criteo sources by name: `--format avazu | taobao | movielens | libfm | schema:FILE.json`. */
import { DataError } from './data-error.ts';
import { type DelimitedSchema, presetSchemas, readDelimited, readSchemaFile } from './delimited.ts';
import { readLibfm } from './libfm.ts';
import { emptyTable, type RawTable } from './table.ts';
import { readZipEntry } from './zip.ts';

export const sourceFormats = ['criteo', 'avazu', 'taobao', 'movielens', 'libfm', 'schema:FILE.json'];

export function readSource(format: string, path: string): RawTable {
  if (format === 'libfm') return readLibfm(path);
  if (format === 'movielens') {
    if (path.endsWith('.zip')) return readDelimited(path, presetSchemas['movielens-csv'], readZipEntry(path, 'ratings.csv').toString('utf8'));
    return readDelimited(path, presetSchemas[path.endsWith('.inter') ? 'movielens-inter' : 'movielens-csv']);
  }
  let schema: DelimitedSchema | undefined = presetSchemas[format];
  if (format.startsWith('schema:')) schema = readSchemaFile(format.slice('schema:'.length));
  if (!schema) throw new DataError(`unknown --format '${format}' (one of ${sourceFormats.join(', ')})`);
  return readDelimited(path, schema);
}

/** The rows of several tables of the same source, one after another. */
export function concatTables(tables: RawTable[]): RawTable {
  const out = emptyTable(tables[0].denseNames, tables[0].categoricalNames);
  for (const t of tables) {
    out.labels.push(...t.labels);
    t.dense.forEach((c, j) => out.dense[j].push(...c));
    t.categorical.forEach((c, k) => out.categorical[k].push(...c));
  }
  return out;
}
