/**
 * CSV/TSV sources described by a schema: which column is the label (and which of its values are positive and
 * which negative, or the threshold of a numeric one), which are dense, which categorical, and derived features.
 * Presets cover Avazu, Taobao UserBehavior and MovieLens; any other file works through a JSON schema
 * (`--format schema:FILE.json`, schema-file.ts). The byte-level parser is delimited-lines.ts.
 */

/** How a label column maps to 0/1. A value outside the lists (or the scale) is a bad line, never a guess. */
export type LabelRule =
  | { column: string; positive: string[]; negative: string[] }
  /** A number: positive when >= atLeast; with a scale, values outside [min, max] are refused. */
  | { column: string; atLeast: number; scale?: [number, number] };

export interface DelimitedSchema {
  delimiter: string;
  /** The file's first line names the columns; otherwise `columns` does. */
  header: boolean;
  columns?: string[];
  label: LabelRule;
  dense: string[];
  categorical: string[];
  /** Categoricals derived from a time column: Avazu's YYMMDDHH or a Unix timestamp, as hour-of-day and weekday. */
  time?: { column: string; kind: TimeKind };
  /** Multi-hot categorical columns: each holds a list of values split at the given character (e.g. "|"). */
  multiHot?: Record<string, string>;
}

export const timeKinds = ['yymmddhh', 'unix'] as const;
export type TimeKind = (typeof timeKinds)[number];

export const presetSchemas: Record<string, DelimitedSchema> = {
  // Avazu CTR: id,click,hour,C1,banner_pos,site_id,...,C21; hour YYMMDDHH gives hour-of-day and weekday.
  avazu: {
    delimiter: ',', header: true, label: { column: 'click', positive: ['1'], negative: ['0'] }, dense: [],
    categorical: ['C1', 'banner_pos', 'site_id', 'site_domain', 'site_category', 'app_id', 'app_domain', 'app_category', 'device_id',
      'device_ip', 'device_model', 'device_type', 'device_conn_type', 'C14', 'C15', 'C16', 'C17', 'C18', 'C19', 'C20', 'C21'],
    time: { column: 'hour', kind: 'yymmddhh' },
  },
  // Taobao UserBehavior (user,item,category,behavior,timestamp) as a click-through task: every row is an
  // impression of the item to the user; it is positive when the user went past viewing it (cart, fav or buy).
  taobao: {
    delimiter: ',', header: false, columns: ['user', 'item', 'category', 'behavior', 'timestamp'],
    label: { column: 'behavior', positive: ['cart', 'fav', 'buy'], negative: ['pv'] }, dense: [], categorical: ['user', 'item', 'category'],
    time: { column: 'timestamp', kind: 'unix' },
  },
  // MovieLens ratings (RecBole atomic .inter, or ratings.csv of the official zips): positive when rating >= 4, on
  // the 0..5 scale (ml-latest rates 0.5..5, ml-100k 1..5).
  'movielens-inter': {
    delimiter: '\t', header: true, label: { column: 'rating:float', atLeast: 4, scale: [0, 5] }, dense: [], categorical: ['user_id:token', 'item_id:token'],
  },
  'movielens-csv': {
    delimiter: ',', header: true, label: { column: 'rating', atLeast: 4, scale: [0, 5] }, dense: [], categorical: ['userId', 'movieId'],
  },
};
