/**
 * What every byte-level format parser shares: rows parsed into typed arrays (labels, dense features, one column
 * of 53-bit keys per categorical feature), the loop over a chunk's lines (CRLF, a BOM, overlong and truncated
 * lines), and bad lines stopped with file, line, field and text, or counted by reason with --on-bad-line skip.
 */
import { DataError } from '../../util/errors.ts';

export const maxLineBytes = 1 << 16;
/** The key of a missing categorical value (real keys are >= 0). */
export const missingKey = -1;

export type BadLinePolicy = 'error' | 'skip';

export interface ParseContext {
  file: string;
  /** Line number of the chunk's first line (1-based). */
  firstLine: number;
  labelled: boolean;
  onBadLine: BadLinePolicy;
  /** Skipped lines by reason, updated in place. */
  skipped: Record<string, number>;
}

export interface ParsedRows {
  rows: number;
  labels: Float32Array;
  /** [rows x dense], log(1 + max(x, 0)); missing = 0. */
  dense: Float32Array;
  /** One column of keys per categorical feature: the value's key, or missingKey; a multi-hot feature's column
   *  holds every row's bag in row order. */
  keys: Float64Array[];
  /** Per feature, null when it is one-hot, or each row's bag size. */
  bagSizes: (Int32Array | null)[];
}

/** A multi-hot feature's keys as lines add bags to it (the keys grow as needed). */
export class BagColumn {
  keys = new Float64Array(1024);
  count = 0;
  constructor(readonly sizes: Int32Array) {}

  push(key: number): void {
    if (this.count === this.keys.length) {
      const bigger = new Float64Array(2 * this.keys.length);
      bigger.set(this.keys);
      this.keys = bigger;
    }
    this.keys[this.count++] = key;
  }
}

/** What a line parser fills: one-hot keys by row, multi-hot bags through their BagColumn. */
export interface RowSink {
  labels: Float32Array;
  dense: Float32Array;
  keys: Float64Array[];
  bags: (BagColumn | null)[];
}

export class BadLine extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

/** Parses the line bytes[start, stop) (without its line end) into row `row` of out, or throws BadLine. */
export type LineParser = (bytes: Uint8Array, start: number, stop: number, row: number, out: RowSink, unterminatedLast: boolean) => void;

const LF = 10, CR = 13;

/** Up to 40 characters of a field, for messages. */
export function show(bytes: Uint8Array, start: number, end: number): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(end - start, 40)).toString('utf8');
  return end - start > 40 ? `${text}...` : text;
}

/** Finds the n fields of the line bytes[start, stop) split at `separator`: field f is [starts[f], starts[f + 1] - 1)
 *  (starts holds n + 1 entries); a line of another count is a bad line (a short last line of a cut file: truncated). */
export function splitFields(
  bytes: Uint8Array, start: number, stop: number, separator: number, n: number, starts: Int32Array, unterminatedLast: boolean,
): void {
  let fields = 0;
  starts[0] = start;
  for (let i = start; i < stop; i++) if (bytes[i] === separator && ++fields < n) starts[fields] = i + 1;
  fields++;
  if (fields !== n) {
    if (unterminatedLast && fields < n) throw new BadLine('truncated', `the last line is cut short: ${fields} of ${n} fields`);
    throw new BadLine('field count', `expected ${n} fields, found ${fields}`);
  }
  starts[n] = stop + 1;
}

/** Parses whole lines of `bytes` (the chunk ends at a line end, or at the end of the file); with skipHeader, the
 *  file's first line (when the chunk starts the file) is not data. */
export function parseLines(
  bytes: Uint8Array, ctx: ParseContext, atFileStart: boolean, atFileEnd: boolean,
  shape: { dense: number; categorical: number; multiHot?: boolean[] }, parseLine: LineParser, skipHeader = false,
): ParsedRows {
  let lines = 0;
  for (let i = bytes.indexOf(LF); i >= 0; i = bytes.indexOf(LF, i + 1)) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== LF) lines++;
  const out: RowSink = {
    labels: new Float32Array(lines), dense: new Float32Array(lines * shape.dense),
    keys: Array.from({ length: shape.categorical }, (_, t) => new Float64Array(shape.multiHot?.[t] ? 0 : lines)),
    bags: Array.from({ length: shape.categorical }, (_, t) => (shape.multiHot?.[t] ? new BagColumn(new Int32Array(lines)) : null)),
  };
  const bagCounts = out.bags.map(() => 0);
  let row = 0, pos = 0, lineNo = ctx.firstLine;
  if (atFileStart && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
  while (pos < bytes.length) {
    let end = bytes.indexOf(LF, pos);
    const terminated = end >= 0;
    if (!terminated) end = bytes.length;
    const stop = end > pos && bytes[end - 1] === CR ? end - 1 : end;
    const header = skipHeader && atFileStart && lineNo === ctx.firstLine;
    try {
      if (stop - pos > maxLineBytes) throw new BadLine('overlong', `line is longer than ${maxLineBytes} bytes`);
      if (!header) {
        out.bags.forEach((bag, t) => bag && (bagCounts[t] = bag.count));
        parseLine(bytes, pos, stop, row, out, !terminated && atFileEnd);
        row++;
      }
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      out.bags.forEach((bag, t) => bag && (bag.count = bagCounts[t])); // a bad line leaves none of its keys
      if (ctx.onBadLine === 'error') throw new DataError(`${ctx.file}:${lineNo}: ${error.message}`);
      ctx.skipped[error.reason] = (ctx.skipped[error.reason] ?? 0) + 1;
    }
    pos = end + 1;
    lineNo++;
  }
  return {
    rows: row, labels: out.labels.subarray(0, row), dense: out.dense.subarray(0, row * shape.dense),
    keys: out.keys.map((k, t) => out.bags[t]?.keys.subarray(0, out.bags[t]!.count) ?? k.subarray(0, row)),
    bagSizes: out.bags.map((bag) => bag && bag.sizes.subarray(0, row)),
  };
}

const ZERO = 48, NINE = 57;

/** A decimal number in bytes [start, end): [-+]digits[.digits][e[-+]digits]; NaN when it is not one, +-Infinity
 *  when it is beyond a double's range. */
export function decimalAt(b: Uint8Array, start: number, end: number): number {
  let i = start, sign = 1, value = 0, digits = 0;
  if (b[i] === 45 || b[i] === 43) sign = b[i++] === 45 ? -1 : 1;
  for (; i < end && b[i] >= ZERO && b[i] <= NINE; i++, digits++) value = value * 10 + (b[i] - ZERO);
  if (i < end && b[i] === 46) {
    let scale = 0.1;
    for (i++; i < end && b[i] >= ZERO && b[i] <= NINE; i++, digits++, scale /= 10) value += (b[i] - ZERO) * scale;
  }
  if (digits === 0) return NaN;
  if (i < end && (b[i] | 0x20) === 101) {
    let exponentSign = 1, exponent = 0, exponentDigits = 0;
    i++;
    if (b[i] === 45 || b[i] === 43) exponentSign = b[i++] === 45 ? -1 : 1;
    for (; i < end && b[i] >= ZERO && b[i] <= NINE; i++, exponentDigits++) exponent = exponent * 10 + (b[i] - ZERO);
    if (exponentDigits === 0) return NaN;
    value *= 10 ** (exponentSign * exponent);
  }
  if (i !== end) return NaN;
  // The fast sum overflows on long mantissas or large exponents (1e400, 0e400, 400 digits then e-400): the
  // text's own value decides, Infinity only when it is out of range.
  return Number.isFinite(value) ? sign * value : Number(Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1'));
}

/** A line whose field holds a number beyond a double's range (it would enter the dataset as Inf or NaN). */
export function notFinite(field: string, text: string): BadLine {
  return new BadLine('not finite', `field ${field}: '${text}' is not a finite number`);
}

/** The finite number of field `field` in bytes [start, end), or a BadLine (`reason` when it is not a number). */
export function finiteAt(b: Uint8Array, start: number, end: number, field: string, reason = 'number'): number {
  const v = decimalAt(b, start, end);
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) throw new BadLine(reason, `field ${field}: expected a number, got '${show(b, start, end)}'`);
  throw notFinite(field, show(b, start, end));
}

/** A 53-bit key of the bytes [start, end) (two 32-bit FNV-1a variants): exact as a float64, so it travels the
 *  same count-and-vocabulary path as Criteo's hex keys; a collision needs about 2^26 distinct values to be likely. */
export function bytesKey(b: Uint8Array, start: number, end: number): number {
  let h1 = 0x811c9dc5 | 0, h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = start; i < end; i++) {
    h1 = Math.imul(h1 ^ b[i], 0x01000193);
    h2 = Math.imul(h2 ^ b[i], 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0) * 2097152 + (h2 >>> 11);
}
