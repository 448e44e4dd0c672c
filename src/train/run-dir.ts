/**
 * A run's directory: config.json (the resolved configuration, enough to resume), environment.json, metrics.jsonl
 * and events.jsonl (appended as they happen), summary.json, checkpoints/ and report/. It is locked (hotline.lock)
 * while a process writes it.
 */
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncPath, writeFileAtomic } from '../util/atomic-file.ts';
import { stringifyExact } from '../util/json.ts';
import { Lock } from '../util/lock.ts';

const logs = ['metrics.jsonl', 'events.jsonl'] as const;

/** The size of the file's first `size` bytes up to and including their last line end (0 if none). */
function lastLineEnd(file: string, size: number): number {
  const fd = openSync(file, 'r'), block = Buffer.alloc(1 << 16);
  try {
    for (let end = size; end > 0;) {
      const start = Math.max(0, end - block.length), n = readSync(fd, block, 0, end - start, start);
      const at = block.subarray(0, n).lastIndexOf(10);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return 0;
  } finally {
    closeSync(fd);
  }
}

export class RunDir {
  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
    Lock.acquire(join(path, 'hotline.lock'), path);
  }

  static create(root: string, label: string): RunDir {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    mkdirSync(root, { recursive: true });
    // The folder is made here, not found free: two runs started in the same second get one each.
    for (let n = 1; ; n++) {
      const path = join(root, n === 1 ? `${stamp}-${label}` : `${stamp}-${label}-${n}`);
      try {
        mkdirSync(path);
        return new RunDir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
  }

  /** Writes name atomically: a reader never sees half a file. */
  writeJson(name: string, value: unknown): void {
    writeFileAtomic(join(this.path, name), `${stringifyExact(value, 2)}\n`);
  }

  /** Appends a record to metrics.jsonl or events.jsonl. */
  append(log: (typeof logs)[number], record: Record<string, unknown>): void {
    appendFileSync(join(this.path, log), `${stringifyExact(record)}\n`);
  }

  /** Bytes of each log, as a checkpoint records them: fsynced first, so a power loss cannot take back what the
   *  checkpoint counts. */
  syncedLogSizes(): Record<string, number> {
    return Object.fromEntries(logs.map((name) => {
      const file = join(this.path, name);
      if (!existsSync(file)) return [name, 0];
      fsyncPath(file);
      return [name, statSync(file).size];
    }));
  }

  /** Cuts each log back to a checkpoint's sizes: lines written after it are written again by the resumed run. A
   *  log shorter than recorded is reported and kept (never padded); one that ends mid-line is cut back to its last
   *  complete line, so it stays valid JSONL. */
  truncateLogs(sizes: Record<string, number>, warn: (message: string) => void): void {
    for (const name of logs) {
      const file = join(this.path, name);
      if (!existsSync(file)) {
        if (sizes[name] > 0) warn(`${file}: missing, the checkpoint recorded ${sizes[name]} bytes (its lines are lost)`);
        continue;
      }
      const size = statSync(file).size, recorded = sizes[name] ?? 0, kept = lastLineEnd(file, Math.min(size, recorded));
      if (size < recorded) {
        warn(`${file}: ${size} bytes, the checkpoint recorded ${recorded} (lines are lost; not padded)${kept < size ? `; cut back to its last complete line (${kept} bytes)` : ''}`);
      } else if (kept < recorded) {
        warn(`${file}: byte ${recorded}, where the checkpoint ends it, is inside a line; cut back to its last complete line (${kept} bytes)`);
      }
      truncateSync(file, kept);
    }
  }
}
