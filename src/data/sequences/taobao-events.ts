/**
 * Taobao UserBehavior lines (`user,item,category,behavior,timestamp`, no header) as events: the three ids as exact
 * integer keys (their frequencies number them later), the behavior checked (pv, cart, fav or buy) and the timestamp
 * kept to order each user's events. Bad lines are worded and skipped as every format's are (formats/lines.ts).
 */
import type { Chunk } from '../chunks.ts';
import { BadLine, type LineParser, type ParseContext, parseLines, show, splitFields } from '../formats/lines.ts';

export const eventFields = ['user', 'item', 'category', 'behavior', 'timestamp'] as const;
const behaviors = ['pv', 'cart', 'fav', 'buy'].map((b) => Buffer.from(b));
/** Timestamps are kept as uint32 seconds (the data set spans days of 2017). */
const maxTimestamp = 2 ** 32 - 1;
const COMMA = 44, ZERO = 48;

export interface ParsedEvents {
  rows: number;
  /** users, items, categories: one key per event. */
  keys: Float64Array[];
  times: Uint32Array;
}

/** The whole number in bytes [start, end) (digits only), or -1. */
function digitsAt(b: Uint8Array, start: number, end: number): number {
  if (end === start || end - start > 15) return -1;
  let v = 0;
  for (let i = start; i < end; i++) {
    const d = b[i] - ZERO;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function isBehavior(b: Uint8Array, start: number, end: number): boolean {
  return behaviors.some((v) => v.length === end - start && v.every((c, i) => b[start + i] === c));
}

const starts = new Int32Array(eventFields.length + 1);

const eventLine: LineParser = (b, start, stop, row, out, unterminatedLast) => {
  const n = eventFields.length;
  splitFields(b, start, stop, COMMA, n, starts, unterminatedLast);
  for (let c = 0; c < 3; c++) {
    const from = starts[c], to = starts[c + 1] - 1, v = digitsAt(b, from, to);
    if (v < 0) throw new BadLine('id', `field ${eventFields[c]}: expected a whole number id, got '${show(b, from, to)}'`);
    out.keys[c][row] = v;
  }
  if (!isBehavior(b, starts[3], starts[4] - 1)) throw new BadLine('behavior', `field behavior: expected pv, cart, fav or buy, got '${show(b, starts[3], starts[4] - 1)}'`);
  const t = digitsAt(b, starts[4], stop);
  if (t < 0 || t > maxTimestamp) throw new BadLine('timestamp', `field timestamp: expected Unix seconds from 0 to ${maxTimestamp}, got '${show(b, starts[4], stop)}'`);
  out.keys[3][row] = t;
};

/** The events of a chunk (lines numbered from ctx.firstLine). */
export function parseEvents(chunk: Chunk, ctx: ParseContext): ParsedEvents {
  const parsed = parseLines(chunk.bytes, ctx, chunk.atFileStart, chunk.atFileEnd, { dense: 0, categorical: 4 }, eventLine);
  return { rows: parsed.rows, keys: parsed.keys.slice(0, 3), times: Uint32Array.from(parsed.keys[3]) };
}
