/**
 * A delimited source's schema from a JSON file (`--format schema:FILE.json`), checked key by key:
 *
 *   {"delimiter": ",", "header": true, "label": {"column": "clicked", "positive": ["yes"], "negative": ["no"]},
 *    "dense": ["price"], "categorical": ["shop", "item", "genres"], "multiHot": {"genres": "|"},
 *    "time": {"column": "ts", "kind": "unix"}}
 *
 * `columns` (a list of names) is required when `header` is false, and refused when it is true. The label is
 * either two lists of values (any other value is a bad line) or {"column": NAME, "atLeast": NUMBER} (every
 * finite number is a label, positive from atLeast up). A label column is no feature; a column is dense or
 * categorical, not both. Each error names the key, what is wrong and the value found.
 */
import { readJsonFile } from '../../util/os-error.ts';
import { DataError } from '../../util/errors.ts';
import { type DelimitedSchema, type LabelRule, timeKinds } from './delimited.ts';

const schemaKeys = ['delimiter', 'header', 'columns', 'label', 'dense', 'categorical', 'time', 'multiHot'];
const labelKeys = ['column', 'positive', 'negative', 'atLeast'];
const timeKeys = ['column', 'kind'];

/** A JSON value for a message, cut when long. */
function shown(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = typeof value === 'number' ? String(value) : JSON.stringify(value); // 1e400 parses as Infinity
  return text.length > 60 ? `${text.slice(0, 60)}...` : text;
}

export function readSchemaFile(path: string): DelimitedSchema {
  const fail = (key: string, what: string, value: unknown) => new DataError(`${path}: "${key}": ${what}, got ${shown(value)}`);
  const object = (key: string, value: unknown, allowed?: string[]): Record<string, unknown> => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(key, 'must be an object', value);
    const stray = Object.keys(value).find((k) => allowed && !allowed.includes(k));
    if (allowed && stray !== undefined) throw new DataError(`${path}: "${key ? `${key}.` : ''}${stray}": unknown key (allowed: ${allowed.join(', ')})`);
    return value as Record<string, unknown>;
  };
  const name = (key: string, value: unknown): string => {
    if (typeof value !== 'string' || value === '') throw fail(key, 'must be a column name (a non-empty string)', value);
    return value;
  };
  const strings = (key: string, value: unknown, what: string, nonEmpty: boolean): string[] => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string') || (nonEmpty && value.length === 0)) {
      throw fail(key, `must be a ${nonEmpty ? 'non-empty ' : ''}list of strings (${what})`, value);
    }
    const twice = value.find((v, i) => value.indexOf(v) !== i);
    if (twice !== undefined) throw fail(key, `lists "${twice}" twice`, value);
    return value as string[];
  };
  const character = (key: string, value: unknown) => {
    if (typeof value !== 'string' || value.length !== 1 || value.charCodeAt(0) > 127 || value === '\n' || value === '\r') {
      throw fail(key, 'must be one ASCII character other than a line end', value);
    }
    return value;
  };

  const s = readJsonFile(path, (message) => new DataError(message));
  if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new DataError(`${path}: a schema is a JSON object, got ${shown(s)}`);
  const top = object('', s, schemaKeys);
  const delimiter = character('delimiter', top.delimiter);
  if (typeof top.header !== 'boolean') throw fail('header', 'must be true or false', top.header);
  const header = top.header;
  if (header && top.columns !== undefined) throw fail('columns', 'only with "header": false (a header names the columns)', top.columns);
  const columns = header ? undefined : strings('columns', top.columns, 'the names of the file\'s columns, required when "header" is false', true);
  const dense = strings('dense', top.dense, 'column names', false);
  const categorical = strings('categorical', top.categorical, 'column names', false);
  const both = dense.find((c) => categorical.includes(c));
  if (both !== undefined) throw fail('categorical', `"${both}" is also a dense column`, categorical);

  const l = object('label', top.label, labelKeys);
  const labelColumn = name('label.column', l.column);
  let label: LabelRule;
  if ('atLeast' in l) {
    if ('positive' in l || 'negative' in l) throw fail('label', 'give "positive" and "negative", or "atLeast", not both', l);
    if (typeof l.atLeast !== 'number' || !Number.isFinite(l.atLeast)) throw fail('label.atLeast', 'must be a finite number', l.atLeast);
    label = { column: labelColumn, atLeast: l.atLeast };
  } else {
    if (!('positive' in l) && !('negative' in l)) throw fail('label', 'must give "positive" and "negative" (lists of values) or "atLeast" (a number)', l);
    const positive = strings('label.positive', l.positive, 'the label values that are positive', true);
    const negative = strings('label.negative', l.negative, 'the label values that are negative', true);
    const shared = negative.find((v) => positive.includes(v));
    if (shared !== undefined) throw fail('label.negative', `"${shared}" is also positive`, negative);
    label = { column: labelColumn, positive, negative };
  }

  let time: DelimitedSchema['time'];
  if (top.time !== undefined) {
    const t = object('time', top.time, timeKeys);
    const kind = timeKinds.find((k) => k === t.kind);
    if (!kind) throw fail('time.kind', `must be ${timeKinds.map((k) => `"${k}"`).join(' or ')}`, t.kind);
    time = { column: name('time.column', t.column), kind };
  }
  const roles: [string, string[]][] = [['dense', dense], ['categorical', categorical], ['time', time ? [time.column] : []]];
  for (const [role, names] of roles) if (names.includes(labelColumn)) throw fail('label.column', `"${labelColumn}" is also a ${role} column (a label is no feature)`, labelColumn);

  let multiHot: Record<string, string> | undefined;
  if (top.multiHot !== undefined) {
    multiHot = {};
    for (const [column, separator] of Object.entries(object('multiHot', top.multiHot))) {
      if (!categorical.includes(column)) throw fail('multiHot', `"${column}" is not one of the categorical columns`, top.multiHot);
      if (character(`multiHot.${column}`, separator) === delimiter) throw fail(`multiHot.${column}`, 'the separator must differ from the delimiter', separator);
      multiHot[column] = separator as string;
    }
  }
  return { delimiter, header, columns, label, dense, categorical, time, multiHot };
}
