/**
 * Byte-level parser of Criteo's raw TSV (label, I1..I13, C1..C26; empty = missing; categoricals are hex hashes
 * of up to 8 digits), as distributed for Kaggle (train.txt) and Terabyte (day_0..day_23). No per-row strings:
 * fields are read straight from the bytes into typed arrays. Tolerates CRLF and a UTF-8 BOM; anything else
 * malformed stops with file, line, field and the offending text, or is counted by reason when skipping.
 */
import { BadLine, type LineParser, type ParseContext, parseLines, type ParsedRows, missingKey, show } from './lines.ts';

export const criteoDense = 13;
export const criteoCategorical = 26;

const TAB = 9, MINUS = 45, ZERO = 48, NINE = 57;

function hexValue(c: number): number {
  if (c >= ZERO && c <= NINE) return c - ZERO;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/** Parses whole lines of `bytes` (the chunk ends at a line end, or at the end of the file). */
export function parseCriteoLines(bytes: Uint8Array, ctx: ParseContext, atFileStart: boolean, atFileEnd: boolean): ParsedRows {
  const fieldCount = criteoDense + criteoCategorical + (ctx.labelled ? 1 : 0);
  const line: LineParser = (b, start, stop, row, out, unterminatedLast) =>
    parseLine(b, start, stop, row, fieldCount, ctx.labelled, out.labels, out.dense, out.keys, unterminatedLast);
  return parseLines(bytes, ctx, atFileStart, atFileEnd, { dense: criteoDense, categorical: criteoCategorical }, line);
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
      if (value === Infinity) throw new BadLine('not finite', `field I${j + 1}: the integer '${show(b, p, e)}' is too large (not a finite number)`);
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
