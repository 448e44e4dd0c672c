/**
 * Byte-level parser of a delimited file described by a schema (Avazu, Taobao, MovieLens, any CSV/TSV): the
 * schema is bound to a file's columns (its header, or the schema's names), then each line is split at the
 * delimiter in place; categorical values become 53-bit keys of their bytes, dense values and numeric labels are
 * read from the bytes (finite ones only), time columns give hour-of-day and weekday keys; a label value the
 * schema does not list is a bad line. No strings per row.
 */
import { DataError } from '../../util/errors.ts';
import type { DelimitedSchema, LabelRule, TimeKind } from './delimited.ts';
import { BadLine, bytesKey, decimalAt, finiteAt, type LineParser, notFinite, show, splitFields } from './lines.ts';

/** A schema resolved against one file's columns. */
export interface BoundSchema {
  schema: DelimitedSchema;
  columns: string[];
  label: number;
  dense: number[];
  categorical: number[];
  time: number;
}

export function bindSchema(schema: DelimitedSchema, file: string, firstLine: string): BoundSchema {
  const columns = schema.header ? firstLine.replace(/^\ufeff/, '').replace(/\r$/, '').split(schema.delimiter) : schema.columns;
  if (!columns) throw new DataError(`${file}: the schema names no columns and the file has no header`);
  const index = (name: string) => {
    const i = columns.indexOf(name);
    if (i < 0) throw new DataError(`${file}: no column '${name}' (columns: ${columns.join(', ')})`);
    return i;
  };
  return {
    schema, columns, label: index(schema.label.column), dense: schema.dense.map(index), categorical: schema.categorical.map(index),
    time: schema.time ? index(schema.time.column) : -1,
  };
}

/** Names of the categorical features a schema yields: its columns, then hour_of_day and weekday for a time column. */
export function categoricalNames(schema: DelimitedSchema): string[] {
  return [...schema.categorical, ...(schema.time ? ['hour_of_day', 'weekday'] : [])];
}

const ZERO = 48;
const daysBefore = (y: number, m: number, d: number) => Date.UTC(y, m - 1, d) / 86_400_000;
/** The last second a Date can hold (year 275760): beyond it, and beyond 2^53, hours and weekdays mean nothing. */
const maxUnixSeconds = 8.64e12;

/** Hour of day and weekday (0 = Sunday) of time field `field`, or a BadLine. */
function timeKeys(b: Uint8Array, start: number, end: number, field: string, kind: TimeKind): [number, number] {
  const bad = () => new BadLine('time', `field ${field}: expected ${kind === 'unix' ? 'a Unix timestamp' : 'YYMMDDHH'}, got '${show(b, start, end)}'`);
  for (let i = start; i < end; i++) if (b[i] < ZERO || b[i] > ZERO + 9) throw bad();
  if (end === start) throw bad();
  if (kind === 'unix') {
    const seconds = decimalAt(b, start, end);
    if (seconds === Infinity) throw notFinite(field, show(b, start, end));
    if (seconds > maxUnixSeconds) throw bad();
    return [Math.floor(seconds / 3600) % 24, (Math.floor(seconds / 86_400) + 4) % 7]; // 1970-01-01 was a Thursday
  }
  if (end - start !== 8) throw bad();
  const two = (k: number) => (b[start + k] - ZERO) * 10 + (b[start + k + 1] - ZERO);
  const [y, m, d, h] = [2000 + two(0), two(2), two(4), two(6)];
  const day = daysBefore(y, m, d), check = new Date(day * 86_400_000);
  if (h > 23 || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) throw bad();
  return [h, (day + 4) % 7];
}

/** "a, b or c" */
const oneOf = (values: string[]) => (values.length > 1 ? `${values.slice(0, -1).join(', ')} or ${values.at(-1)}` : values[0]);

/** Reads a line's label from bytes [start, end) as 0 or 1, or throws a BadLine. */
type LabelReader = (b: Uint8Array, start: number, end: number) => number;

function labelReader(rule: LabelRule): LabelReader {
  const field = rule.column;
  if ('atLeast' in rule) {
    const { atLeast, scale } = rule;
    return (b, start, end) => {
      const v = finiteAt(b, start, end, field, 'label');
      if (scale && !(v >= scale[0] && v <= scale[1])) throw new BadLine('label', `field ${field}: expected a rating from ${scale[0]} to ${scale[1]}, got '${show(b, start, end)}'`);
      return v >= atLeast ? 1 : 0;
    };
  }
  const values = [...rule.negative, ...rule.positive].map((v) => Buffer.from(v));
  const labels = values.map((_, k) => (k < rule.negative.length ? 0 : 1));
  const expected = `expected ${oneOf([...rule.negative, ...rule.positive])}`;
  return (b, start, end) => {
    for (let k = 0; k < values.length; k++) {
      const v = values[k];
      if (v.length !== end - start) continue;
      let i = 0;
      while (i < v.length && b[start + i] === v[i]) i++;
      if (i === v.length) return labels[k];
    }
    throw new BadLine('label', `field ${field}: ${expected}, got '${show(b, start, end)}'`);
  };
}

export function delimitedLineParser(bound: BoundSchema): LineParser {
  const { schema, columns } = bound, delimiter = schema.delimiter.charCodeAt(0), n = columns.length;
  const starts = new Int32Array(n + 1);
  const label = labelReader(schema.label);
  const nd = bound.dense.length, nc = bound.categorical.length;
  const separators = schema.categorical.map((name) => (schema.multiHot?.[name] ?? '').charCodeAt(0)); // NaN: one-hot
  return (b, start, stop, row, out, unterminatedLast) => {
    splitFields(b, start, stop, delimiter, n, starts, unterminatedLast);
    const from = (c: number) => starts[c], to = (c: number) => starts[c + 1] - 1;
    out.labels[row] = label(b, from(bound.label), to(bound.label));
    for (let j = 0; j < nd; j++) {
      const c = bound.dense[j], v = to(c) === from(c) ? 0 : finiteAt(b, from(c), to(c), schema.dense[j]);
      out.dense[row * nd + j] = Math.log1p(Math.max(v, 0));
    }
    for (let t = 0; t < nc; t++) {
      const c = bound.categorical[t], bag = out.bags[t];
      if (!bag) {
        out.keys[t][row] = bytesKey(b, from(c), to(c));
        continue;
      }
      let size = 0; // the values between separators; an empty field is an empty bag
      for (let p = from(c), e = p; p < to(c); p = e + 1) {
        for (e = p; e < to(c) && b[e] !== separators[t]; e++);
        if (e > p) {
          bag.push(bytesKey(b, p, e));
          size++;
        }
      }
      bag.sizes[row] = size;
    }
    if (schema.time) {
      const c = bound.time, keys = timeKeys(b, from(c), to(c), schema.time.column, schema.time.kind);
      out.keys[nc][row] = keys[0];
      out.keys[nc + 1][row] = keys[1];
    }
  };
}
