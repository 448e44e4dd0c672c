/**
 * CSV/TSV sources described by a schema: which column is the label (and how its values map to 0/1), which
 * are dense, which categorical, and derived features. Presets cover Avazu, Taobao UserBehavior and
 * MovieLens; any other file works through a JSON schema (`--format schema:FILE.json`). The byte-level parser
 * is delimited-lines.ts.
 */
import { readFileSync } from 'node:fs';
import { DataError } from './data-error.ts';

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
  /** Multi-hot categorical columns: each holds a list of values split at the given character (e.g. "|"). */
  multiHot?: Record<string, string>;
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
  for (const [column, separator] of Object.entries(s.multiHot ?? {})) {
    if (!s.categorical.includes(column)) throw fail(`"multiHot": "${column}" is not one of the categorical columns`);
    if (typeof separator !== 'string' || separator.length !== 1 || separator === s.delimiter) throw fail(`"multiHot": the separator of "${column}" must be one character other than the delimiter`);
  }
  return s as DelimitedSchema;
}
