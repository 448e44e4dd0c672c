/**
 * CSV/TSV sources described by a schema: which column is the label (and how its values map to 0/1), which
 * are dense, which categorical, and derived features. Presets cover Avazu, Taobao UserBehavior and
 * MovieLens; any other file works through a JSON schema (`--format schema:FILE.json`).
 */
import { readFileSync } from 'node:fs';
import { DataError } from './data-error.ts';
import { emptyTable, type RawTable } from './table.ts';

export interface DelimitedSchema {
  delimiter: string;
  /** The file's first line names the columns; otherwise `columns` does. */
  header: boolean;
  columns?: string[];
  label: { column: string; positive: string[] } | { column: string; atLeast: number };
  dense: string[];
  categorical: string[];
  /** Categoricals derived from a time column: Avazu's YYMMDDHH or a Unix timestamp, as hour-of-day and weekday. */
  time?: { column: string; kind: 'yymmddhh' | 'unix' };
}

export const presetSchemas: Record<string, DelimitedSchema> = {
  // Avazu CTR: id,click,hour,C1,banner_pos,site_id,...,C21; hour YYMMDDHH gives hour-of-day and weekday.
  avazu: {
    delimiter: ',', header: true, label: { column: 'click', positive: ['1'] }, dense: [],
    categorical: ['C1', 'banner_pos', 'site_id', 'site_domain', 'site_category', 'app_id', 'app_domain', 'app_category', 'device_id',
      'device_ip', 'device_model', 'device_type', 'device_conn_type', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21'],
    time: { column: 'hour', kind: 'yymmddhh' },
  },
  // Taobao UserBehavior (user,item,category,behavior,timestamp) as a click-through task: every row is an
  // impression of the item to the user; it is positive when the user went past viewing it (cart, fav or buy).
  taobao: {
    delimiter: ',', header: false, columns: ['user', 'item', 'category', 'behavior', 'timestamp'],
    label: { column: 'behavior', positive: ['cart', 'fav', 'buy'] }, dense: [], categorical: ['user', 'item', 'category'],
    time: { column: 'timestamp', kind: 'unix' },
  },
  // MovieLens ratings (RecBole atomic .inter, or ratings.csv of the official zips): positive when rating >= 4.
  'movielens-inter': {
    delimiter: '\t', header: true, label: { column: 'rating:float', atLeast: 4 }, dense: [], categorical: ['user_id:token', 'item_id:token'],
  },
  'movielens-csv': {
    delimiter: ',', header: true, label: { column: 'rating', atLeast: 4 }, dense: [], categorical: ['userId', 'movieId'],
  },
};

function timeFeatures(value: string, kind: 'yymmddhh' | 'unix'): [string, string] | null {
  if (kind === 'unix') {
    if (!/^\d+$/.test(value)) return null;
    const d = new Date(Number(value) * 1000);
    return [String(d.getUTCHours()), String(d.getUTCDay())];
  }
  const m = /^(\d\d)(\d\d)(\d\d)(\d\d)$/.exec(value);
  if (!m) return null;
  const d = new Date(Date.UTC(2000 + Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4])));
  const valid = d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) && Number(m[4]) < 24;
  return valid ? [m[4], String(d.getUTCDay())] : null;
}

export function readDelimited(path: string, schema: DelimitedSchema, text = readFileSync(path, 'utf8')): RawTable {
  const lines = text.replace(/^\ufeff/, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const columns = schema.header ? lines[0].replace(/\r$/, '').split(schema.delimiter) : schema.columns;
  if (!columns) throw new DataError(`${path}: the schema names no columns and the file has no header`);
  const index = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new DataError(`${path}: no column '${name}' (columns: ${columns.join(', ')})`);
    return i;
  };
  const label = index(schema.label.column), dense = schema.dense.map(index), categorical = schema.categorical.map(index);
  const time = schema.time ? index(schema.time.column) : -1;
  const timeNames = schema.time ? ['hour_of_day', 'weekday'] : [];
  const table = emptyTable(schema.dense, [...schema.categorical, ...timeNames]);
  const first = schema.header ? 1 : 0;
  if (lines.length <= first) throw new DataError(`${path}: no data lines`);
  for (let n = first; n < lines.length; n++) {
    const fields = lines[n].replace(/\r$/, '').split(schema.delimiter);
    const where = `${path}:${n + 1}`;
    if (fields.length !== columns.length) throw new DataError(`${where}: expected ${columns.length} fields, found ${fields.length}`);
    const raw = fields[label];
    let y: number;
    if ('positive' in schema.label) {
      y = schema.label.positive.includes(raw) ? 1 : 0;
    } else {
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v)) throw new DataError(`${where}: field ${schema.label.column}: expected a number, got '${raw}'`);
      y = v >= schema.label.atLeast ? 1 : 0;
    }
    table.labels.push(y);
    dense.forEach((c, j) => {
      const v = fields[c] === '' ? 0 : Number(fields[c]);
      if (!Number.isFinite(v)) throw new DataError(`${where}: field ${schema.dense[j]}: expected a number, got '${fields[c]}'`);
      table.dense[j].push(v);
    });
    categorical.forEach((c, t) => table.categorical[t].push(fields[c]));
    if (schema.time) {
      const derived = timeFeatures(fields[time], schema.time.kind);
      if (!derived) throw new DataError(`${where}: field ${schema.time.column}: expected ${schema.time.kind === 'unix' ? 'a Unix timestamp' : 'YYMMDDHH'}, got '${fields[time]}'`);
      table.categorical[categorical.length].push(derived[0]);
      table.categorical[categorical.length + 1].push(derived[1]);
    }
  }
  return table;
}

/** A schema from a JSON file, checked field by field. */
export function readSchemaFile(path: string): DelimitedSchema {
  let s: Partial<DelimitedSchema>;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as Partial<DelimitedSchema>;
  } catch (error) {
    throw new DataError(`${path}: ${(error as Error).message}`);
  }
  const fail = (what: string) => new DataError(`${path}: ${what}`);
  if (typeof s.delimiter !== 'string' || s.delimiter.length !== 1) throw fail('"delimiter" must be one character');
  if (typeof s.header !== 'boolean') throw fail('"header" must be true or false');
  if (!s.label || typeof s.label.column !== 'string' || !('positive' in s.label || 'atLeast' in s.label)) {
    throw fail('"label" must be {"column": NAME, "positive": [VALUES]} or {"column": NAME, "atLeast": NUMBER}');
  }
  if (!Array.isArray(s.dense) || !Array.isArray(s.categorical)) throw fail('"dense" and "categorical" must be lists of column names');
  return s as DelimitedSchema;
}
