/**
 * Byte-level parser of Criteo's raw TSV (label, I1..I13, C1..C26; empty = missing; categoricals are hex hashes
 * of up to 8 digits), as distributed for Kaggle (train.txt) and Terabyte (day_0..day_23). No per-row strings:
 * fields are read straight from the bytes into typed arrays. Tolerates CRLF and a UTF-8 BOM; anything else
 * malformed stops with file, line, field and the offending text, or is counted by reason when skipping.
 */
import { DataError } from './data-error.ts';

export const criteoDense = 13;
export const criteoCategorical = 26;
export const maxLineBytes = 1 << 16;
/** The key of a missing categorical value (real values are 0 .. 2^32 - 1). */
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
  /** [rows x 13], log(1 + max(x, 0)); missing = 0. */
  dense: Float32Array;
  /** One column of keys per categorical feature: the hash value, or missingKey. */
  keys: Float64Array[];
}

class BadLine extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
  }
}

const TAB = 9, LF = 10, CR = 13, MINUS = 45, ZERO = 48, NINE = 57;

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

function show(bytes: Uint8Array, start: number, end: number): string {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + start, Math.min(end - start, 40)).toString('utf8');
  return end - start > 40 ? `${text}...` : text;
}

/** Parses whole lines of `bytes` (the chunk ends at a line end, or at the end of the file). */
export function parseCriteoLines(bytes: Uint8Array, ctx: ParseContext, atFileStart: boolean, atFileEnd: boolean): ParsedRows {
  let lines = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === LF) lines++;
  if (bytes.length > 0 && bytes[bytes.length - 1] !== LF) lines++;
  const labels = new Float32Array(lines), dense = new Float32Array(lines * criteoDense);
  const keys = Array.from({ length: criteoCategorical }, () => new Float64Array(lines));
  const fieldCount = criteoDense + criteoCategorical + (ctx.labelled ? 1 : 0);
  let row = 0, pos = 0, lineNo = ctx.firstLine;
  if (atFileStart && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
  while (pos < bytes.length) {
    let end = bytes.indexOf(LF, pos);
    const terminated = end >= 0;
    if (!terminated) end = bytes.length;
    const next = end + 1;
    const stop = end > pos && bytes[end - 1] === CR ? end - 1 : end;
    try {
      if (stop - pos > maxLineBytes) throw new BadLine('overlong', `line is longer than ${maxLineBytes} bytes`);
      parseLine(bytes, pos, stop, row, fieldCount, ctx.labelled, labels, dense, keys, !terminated && atFileEnd);
      row++;
    } catch (error) {
      if (!(error instanceof BadLine)) throw error;
      if (ctx.onBadLine === 'error') throw new DataError(`${ctx.file}:${lineNo}: ${error.message}`);
      ctx.skipped[error.reason] = (ctx.skipped[error.reason] ?? 0) + 1;
    }
    pos = next;
    lineNo++;
  }
  return { rows: row, labels: labels.subarray(0, row), dense: dense.subarray(0, row * criteoDense), keys: keys.map((k) => k.subarray(0, row)) };
}

function parseLine(
  b: Uint8Array, start: number, stop: number, row: number, fieldCount: number, labelled: boolean,
  labels: Float32Array, dense: Float32Array, keys: Float64Array[], unterminatedLast: boolean,
): void {
  let fields = 1;
  for (let i = start; i < stop; i++) if (b[i] === TAB) fields++;
  if (fields !== fieldCount) {
    if (unterminatedLast && fields < fieldCount) throw new BadLine('truncated', `the last line is cut short: ${fields} of ${fieldCount} fields`);
    throw new BadLine('field count', `expected ${fieldCount} tab-separated fields, found ${fields}`);
  }
  let p = start, f = 0;
  const fieldEnd = () => {
    let e = p;
    while (e < stop && b[e] !== TAB) e++;
    return e;
  };
  if (labelled) {
    const e = fieldEnd();
    if (e - p !== 1 || (b[p] !== ZERO && b[p] !== ZERO + 1)) throw new BadLine('label', `field label: expected 0 or 1, got '${show(b, p, e)}'`);
    labels[row] = b[p] - ZERO;
    p = e + 1;
  }
  for (let j = 0; j < criteoDense; j++, f++) {
    const e = fieldEnd();
    let value = 0;
    if (e > p) {
      let i = p, negative = false;
      if (b[i] === MINUS) {
        negative = true;
        i++;
      }
      if (i === e) throw new BadLine('integer', `field I${j + 1}: expected an integer, got '${show(b, p, e)}'`);
      for (; i < e; i++) {
        const c = b[i];
        if (c < ZERO || c > NINE) throw new BadLine('integer', `field I${j + 1}: expected an integer, got '${show(b, p, e)}'`);
        value = value * 10 + (c - ZERO);
      }
      value = negative ? 0 : Math.log1p(value);
    }
    dense[row * criteoDense + j] = value;
    p = e + 1;
  }
  for (let t = 0; t < criteoCategorical; t++) {
    const e = fieldEnd();
    if (e === p) {
      keys[t][row] = missingKey;
    } else {
      if (e - p > 8) throw new BadLine('hex', `field C${t + 1}: expected a hex hash of up to 8 digits, got '${show(b, p, e)}'`);
      let value = 0;
      for (let i = p; i < e; i++) {
        const h = hexValue(b[i]);
        if (h < 0) throw new BadLine('hex', `field C${t + 1}: expected a hex hash of up to 8 digits, got '${show(b, p, e)}'`);
        value = value * 16 + h;
      }
      keys[t][row] = value;
    }
    p = e + 1;
  }
}
