/** Files that appear whole or not at all: written to a temporary name, renamed, and (durable) fsynced around the rename. */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError } from './errors.ts';
import { Lock } from './lock.ts';
import { withPath } from './os-error.ts';

/** Makes a file's bytes, or a rename or a new entry in a directory, durable. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `data` (or its pieces, one after another) to `path`. Not durable: a killed process never leaves half a
 *  file, but a power loss may lose it (enough for work files that a rerun redoes). */
export function writeFileAtomic(path: string, data: string | NodeJS.ArrayBufferView | NodeJS.ArrayBufferView[], durable = true): void {
  const temp = `${path}.tmp-${process.pid}`, fd = openSync(temp, 'w');
  try {
    withPath(path, () => {
      for (const piece of Array.isArray(data) ? data : [data]) writeFileSync(fd, piece);
      if (durable) fsyncSync(fd);
    });
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  if (durable) fsyncPath(dirname(path));
}

/**
 * An output (a file or a folder) that appears whole under its name: refused when it exists, locked (OUT.lock,
 * beside it) while it is built under OUT.partial, then made durable and renamed into place by commit.
 */
export class PendingOutput {
  readonly out: string;
  readonly partial: string;
  private readonly lock: Lock;

  constructor(out: string) {
    this.out = out.replace(/(.)\/+$/, '$1'); // 'ds/': the lock and the partial go beside ds, not inside
    this.partial = `${this.out}.partial`;
    mkdirSync(dirname(this.out), { recursive: true });
    this.lock = Lock.acquire(`${this.out}.lock`, this.out);
    if (existsSync(this.out)) {
      this.lock.release();
      throw new DataError(`${this.out}: already exists; remove it or choose another --out`);
    }
  }

  /** Renames the partial into place. A folder keeps only `keep` (its work files, and any temporary file a killed
   *  writer left, are removed); what stays is fsynced first. */
  commit(keep?: readonly string[]): void {
    if (statSync(this.partial).isDirectory()) {
      for (const name of readdirSync(this.partial)) if (!keep?.includes(name)) rmSync(join(this.partial, name), { recursive: true, force: true });
      for (const name of keep ?? []) fsyncPath(join(this.partial, name));
    }
    fsyncPath(this.partial);
    renameSync(this.partial, this.out);
    fsyncPath(dirname(this.out));
    this.release();
  }

  /** Lets another process build it (after commit, or when giving up). */
  release(): void {
    this.lock.release();
  }
}
