/**
 * What a preprocess job is made of, recorded in OUT.partial/job.json when it starts: its inputs (absolute path,
 * size, modification time, SHA-256 of the first and the last 64 KiB) and every option that shapes the output. A
 * rerun reuses the partial's work only when its own record is the same; otherwise it names the first difference.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { withPath } from '../util/os-error.ts';
import { DataError } from '../util/errors.ts';

export interface InputRecord {
  path: string;
  bytes: number;
  modified: string;
  head: string;
  tail: string;
}

export interface JobRecord {
  inputs: InputRecord[];
  /** Each option as its flag and value ('--chunk-size 1048576'), by name. */
  options: Record<string, string>;
}

export const jobFile = 'job.json';
const sampleBytes = 1 << 16;

function sha256At(fd: number, position: number, length: number): string {
  const bytes = Buffer.alloc(length);
  readSync(fd, bytes, 0, length, position);
  return createHash('sha256').update(bytes).digest('hex');
}

function inputRecord(file: string): InputRecord {
  const path = resolve(file), stat = statSync(path);
  if (stat.isDirectory()) throw new DataError(`${file}: a folder, not a file`);
  const fd = openSync(path, 'r'), n = Math.min(stat.size, sampleBytes);
  try {
    return withPath(path, () => ({ path, bytes: stat.size, modified: stat.mtime.toISOString(), head: sha256At(fd, 0, n), tail: sha256At(fd, stat.size - n, n) }));
  } finally {
    closeSync(fd);
  }
}

export interface JobOptions {
  inputs: string[];
  format: string;
  encoding: { kind: 'vocabulary'; minCount: number } | { kind: 'hash'; maxIndRange: number };
  chunkBytes: number;
  onBadLine: string;
  /** Options of formats that shape their rows further (taobao-tbsm's windows and sampling), by flag name. */
  shaping?: Record<string, string | number>;
}

/** The record of a job (`--threads` is left out: the output is the same for any thread count). */
export function jobRecord(o: JobOptions): JobRecord {
  const schema = o.format.startsWith('schema:') ? resolve(o.format.slice('schema:'.length)) : null;
  const format = schema ? `schema:${schema} (SHA-256 ${createHash('sha256').update(readFileSync(schema)).digest('hex')})` : o.format;
  return {
    inputs: o.inputs.map(inputRecord),
    options: {
      format: `--format ${format}`,
      encoding: o.encoding.kind === 'vocabulary' ? `--min-count ${o.encoding.minCount}` : `--max-ind-range ${o.encoding.maxIndRange}`,
      'chunk-size': `--chunk-size ${o.chunkBytes}`,
      'on-bad-line': `--on-bad-line ${o.onBadLine}`,
      ...Object.fromEntries(Object.entries(o.shaping ?? {}).map(([flag, v]) => [flag, `--${flag} ${v}`])),
    },
  };
}

const describeInput = (i: InputRecord) => `${i.bytes} bytes modified ${i.modified}`;

/** The first difference between a recorded job and this one ('--chunk-size 67108864, now 1048576'), or null. */
export function jobDifference(was: JobRecord, now: JobRecord): string | null {
  const paths = (r: JobRecord) => r.inputs.map((i) => i.path).join(' ');
  if (paths(was) !== paths(now)) return `inputs ${paths(was)}, now ${paths(now)}`;
  for (const [k, a] of was.inputs.entries()) {
    const b = now.inputs[k];
    if (describeInput(a) !== describeInput(b)) return `${a.path} of ${describeInput(a)}, now ${describeInput(b)}`;
    const samples = (i: InputRecord) => `${i.head.slice(0, 12)} and ${i.tail.slice(0, 12)}`;
    if (a.head !== b.head || a.tail !== b.tail) return `${a.path} whose first and last 64 KiB have SHA-256 ${samples(a)}, now ${samples(b)}`;
  }
  for (const key of new Set([...Object.keys(was.options), ...Object.keys(now.options)])) {
    const a = was.options[key], b = now.options[key];
    if (a === b) continue;
    // '--chunk-size 67108864, now 1048576': the flag once when both have it.
    const flag = (text: string | undefined) => text?.split(' ')[0];
    return `${a ?? `no ${key}`}, now ${b === undefined ? `no ${key}` : flag(a) === flag(b) ? b.slice(flag(b)!.length + 1) : b}`;
  }
  return null;
}

/** The record in a partial folder's job file, or null when it has none that reads. */
export function readJobRecord(path: string): JobRecord | null {
  try {
    const r = JSON.parse(readFileSync(path, 'utf8')) as JobRecord;
    return Array.isArray(r?.inputs) && typeof r.options === 'object' && r.options !== null ? r : null;
  } catch {
    return null;
  }
}
