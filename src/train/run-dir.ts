/** A run's directory: resolved config, metrics as JSON lines (appended as they happen), a summary. */
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class RunDir {
  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true });
  }

  static create(root: string, label: string): RunDir {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    return new RunDir(join(root, `${stamp}-${label}`));
  }

  /** Writes name atomically: a reader never sees half a file. */
  writeJson(name: string, value: unknown): void {
    const target = join(this.path, name), temp = `${target}.tmp`;
    writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
    renameSync(temp, target);
  }

  appendMetrics(record: Record<string, unknown>): void {
    appendFileSync(join(this.path, 'metrics.jsonl'), `${JSON.stringify(record)}\n`);
  }
}
