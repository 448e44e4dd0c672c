/**
 * The work files of a resumable preprocess in OUT.partial: the job record that lets a rerun reuse them, files written
 * whole under their names, and column lists ([count, ...values] per column, float64) read back whole or by position.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.ts';
import type { BadLinePolicy } from './formats/lines.ts';
import { type JobRecord, jobDifference, jobFile, readJobRecord } from './preprocess-job.ts';

/** What every preprocess job takes beside its format's own options. */
export interface PreprocessRun {
  inputs: string[];
  out: string;
  chunkBytes: number;
  onBadLine: BadLinePolicy;
  threads: number;
  progress?: (message: string) => void;
  /** Told why a partial output is not reused (default: progress). */
  warn?: (message: string) => void;
}

/** A work file written whole (never half a file under its name; a rerun redoes what a kill interrupted). Column
 *  lists are written as [count, ...values] per column (float64). */
export function writeAtomically(path: string, data: string | Uint8Array | Float64Array[]): void {
  writeFileAtomic(path, Array.isArray(data) ? data.flatMap((c) => [Float64Array.of(c.length), c]) : data, false);
}

/** Columns [first, first + count) of a column file, read by position (the headers are walked, not the data). */
export function readColumns(path: string, first: number, count: number): Float64Array[] {
  const fd = openSync(path, 'r'), header = new Float64Array(1), columns: Float64Array[] = [];
  try {
    let at = 0;
    for (let c = 0; c < first + count; c++) {
      readSync(fd, header, 0, 8, at);
      const n = header[0];
      if (c >= first) {
        const column = new Float64Array(n);
        readSync(fd, column, 0, n * 8, at + 8);
        columns.push(column);
      }
      at += 8 * (n + 1);
    }
  } finally {
    closeSync(fd);
  }
  return columns;
}

export function unpackColumns(path: string, count: number): Float64Array[] {
  const b = readFileSync(path), all = new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8), columns: Float64Array[] = [];
  let at = 0;
  for (let c = 0; c < count; c++) {
    const n = all[at++];
    columns.push(all.subarray(at, at + n));
    at += n;
  }
  return columns;
}

/** Keeps `work` when it was started by the same job; otherwise says why not and starts it afresh. */
export function startWork(work: string, job: JobRecord, warn: (message: string) => void): void {
  if (existsSync(work)) {
    const recorded = readJobRecord(join(work, jobFile)), difference = recorded && jobDifference(recorded, job);
    if (recorded && difference === null) return;
    warn(`${work} ${difference ? `was started with ${difference}` : 'has no record of the job that started it'}: starting over`);
    rmSync(work, { recursive: true, force: true });
  }
  mkdirSync(join(work, 'chunks'), { recursive: true });
  writeFileAtomic(join(work, jobFile), `${JSON.stringify(job, null, 2)}\n`);
}
