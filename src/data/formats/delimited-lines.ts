/**
 * Byte-level parser of a delimited file described by a schema (Avazu, Taobao, MovieLens, any CSV/TSV): the
 * schema is bound to a file's columns (its header, or the schema's names), then each line is split at the
 * delimiter in place; categorical values become 53-bit keys of their bytes, dense values and numeric labels are
 * read from the bytes, time columns give hour-of-day and weekday keys. No strings per row.
 */
import { DataError } from './data-error.ts';
import type { DelimitedSchema } from './delimited.ts';
import { BadLine, bytesKey, decimalAt, type LineParser, show } from './lines.ts';

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

/** Hour of day and weekday (0 = Sunday) of a time field, or null when it is not one. */
function timeKeys(b: Uint8Array, start: number, end: number, kind: 'yymmddhh' | 'unix'): [number, number] | null {
  for (let i = start; i < end; i++) if (b[i] < ZERO || b[i] > ZERO + 9) return null;
  if (end === start) return null;
  if (kind === 'unix') {
    const seconds = decimalAt(b, start, end);
    return [Math.floor(seconds / 3600) % 24, (Math.floor(seconds / 86_400) + 4) % 7]; // 1970-01-01 was a Thursday
  }
  if (end - start !== 8) return null;
  const two = (k: number) => (b[start + k] - ZERO) * 10 + (b[start + k + 1] - ZERO);
  const [y, m, d, h] = [2000 + two(0), two(2), two(4), two(6)];
  const day = daysBefore(y, m, d), check = new Date(day * 86_400_000);
  if (h > 23 || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  return [h, (day + 4) % 7];
}

export function delimitedLineParser(bound: BoundSchema): LineParser {
  const { schema, columns } = bound, delimiter = schema.delimiter.charCodeAt(0), n = columns.length;
  const starts = new Int32Array(n + 1);
  const positives = 'positive' in schema.label ? schema.label.positive.map((v) => Buffer.from(v)) : null;
  const atLeast = 'atLeast' in schema.label ? schema.label.atLeast : 0;
  const nd = bound.dense.length, nc = bound.categorical.length;
  const separators = schema.categorical.map((name) => (schema.multiHot?.[name] ?? '').charCodeAt(0)); // NaN: one-hot
  return (b, start, stop, row, out, unterminatedLast) => {
    let fields = 0;
    starts[0] = start;
    for (let i = start; i < stop; i++) if (b[i] === delimiter && ++fields < n) starts[fields] = i + 1;
    fields++;
    if (fields !== n) {
      if (unterminatedLast && fields < n) throw new BadLine('truncated', `the last line is cut short: ${fields} of ${n} fields`);
      throw new BadLine('field count', `expected ${n} fields, found ${fields}`);
    }
    starts[n] = stop + 1;
    const from = (c: number) => starts[c], to = (c: number) => starts[c + 1] - 1;
    const l = bound.label;
    if (positives) {
      const len = to(l) - from(l);
      out.labels[row] = positives.some((p) => p.length === len && p.every((c, k) => b[from(l) + k] === c)) ? 1 : 0;
    } else {
      const v = decimalAt(b, from(l), to(l));
      if (Number.isNaN(v)) throw new BadLine('label', `field ${schema.label.column}: expected a number, got '${show(b, from(l), to(l))}'`);
      out.labels[row] = v >= atLeast ? 1 : 0;
    }
    for (let j = 0; j < nd; j++) {
      const c = bound.dense[j], v = to(c) === from(c) ? 0 : decimalAt(b, from(c), to(c));
      if (Number.isNaN(v)) throw new BadLine('number', `field ${schema.dense[j]}: expected a number, got '${show(b, from(c), to(c))}'`);
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
      const c = bound.time, keys = timeKeys(b, from(c), to(c), schema.time.kind);
      if (!keys) throw new BadLine('time', `field ${schema.time.column}: expected ${schema.time.kind === 'unix' ? 'a Unix timestamp' : 'YYMMDDHH'}, got '${show(b, from(c), to(c))}'`);
      out.keys[nc][row] = keys[0];
      out.keys[nc + 1][row] = keys[1];
    }
  };
}
