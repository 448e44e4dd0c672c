/**
 * A run's directory: config.json (the resolved configuration, enough to resume), environment.json, metrics.jsonl
 * and events.jsonl (appended as they happen), summary.json, checkpoints/ and report/.
 */
import { appendFileSync, existsSync, mkdirSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { stringifyExact } from '../util/json.ts';

const logs = ['metrics.jsonl', 'events.jsonl'] as const;

export class RunDir {
  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
  }

  static create(root: string, label: string): RunDir {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    let path = join(root, `${stamp}-${label}`);
    for (let n = 2; existsSync(path); n++) path = join(root, `${stamp}-${label}-${n}`);
    return new RunDir(path);
  }

  /** Writes name atomically: a reader never sees half a file. */
  writeJson(name: string, value: unknown): void {
    writeFileAtomic(join(this.path, name), `${stringifyExact(value, 2)}\n`);
  }

  /** Appends a record to metrics.jsonl or events.jsonl. */
  append(log: (typeof logs)[number], record: Record<string, unknown>): void {
    appendFileSync(join(this.path, log), `${stringifyExact(record)}\n`);
  }

  /** Bytes of each log, as a checkpoint records them. */
  logSizes(): Record<string, number> {
    return Object.fromEntries(logs.map((name) => {
      const file = join(this.path, name);
      return [name, existsSync(file) ? statSync(file).size : 0];
    }));
  }

  /** Cuts each log back to a checkpoint's sizes: lines written after it are written again by the resumed run. */
  truncateLogs(sizes: Record<string, number>): void {
    for (const name of logs) {
      const file = join(this.path, name);
      if (existsSync(file)) truncateSync(file, sizes[name] ?? 0);
    }
  }
}
