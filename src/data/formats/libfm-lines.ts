/**
 * Byte-level parser of libFM lines (`label index:value ...`, as iPinYou and Frappe are distributed): one
 * categorical field per position whose key is the feature index; the label is -1, 0 or 1 (the files use 0/1 or
 * -1/1), positive when 1. Values must be finite numbers, indexes exact in a double. The field count comes from
 * the file's first line.
 */
import { BadLine, decimalAt, finiteAt, type LineParser, notFinite, show } from './lines.ts';

const SPACE = 32, TAB = 9, COLON = 58, ZERO = 48;

/** Features of a libFM line: its whitespace-separated tokens after the label. */
export function libfmFields(firstLine: string): number {
  return firstLine.trim().split(/\s+/).length - 1;
}

export function libfmLineParser(fields: number): LineParser {
  return (b, start, stop, row, out) => {
    let p = start;
    const skipSpace = () => {
      while (p < stop && (b[p] === SPACE || b[p] === TAB)) p++;
    };
    const tokenEnd = () => {
      let e = p;
      while (e < stop && b[e] !== SPACE && b[e] !== TAB) e++;
      return e;
    };
    skipSpace();
    let e = tokenEnd();
    const y = finiteAt(b, p, e, 'label', 'label');
    if (y !== -1 && y !== 0 && y !== 1) throw new BadLine('label', `field label: expected -1, 0 or 1, got '${show(b, p, e)}'`);
    out.labels[row] = y > 0 ? 1 : 0;
    for (let k = 0; k < fields; k++) {
      p = e;
      skipSpace();
      if (p >= stop) throw new BadLine('field count', `expected ${fields} features, found ${k}`);
      e = tokenEnd();
      let index = 0, i = p;
      for (; i < e && b[i] >= ZERO && b[i] <= ZERO + 9; i++) index = index * 10 + (b[i] - ZERO);
      const value = i === e ? 1 : b[i] === COLON ? decimalAt(b, i + 1, e) : NaN;
      if (i === p || Number.isNaN(value)) throw new BadLine('feature', `field F${k + 1}: expected index:value, got '${show(b, p, e)}'`);
      if (!Number.isFinite(value)) throw notFinite(`F${k + 1}`, show(b, i + 1, e));
      if (index > Number.MAX_SAFE_INTEGER) throw new BadLine('feature', `field F${k + 1}: the feature index '${show(b, p, i)}' is too large (above 2^53 - 1)`);
      out.keys[k][row] = index;
    }
    p = e;
    skipSpace();
    if (p < stop) throw new BadLine('field count', `expected ${fields} features, found more`);
  };
}
