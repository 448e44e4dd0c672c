/** Files that appear whole or not at all: written to a temporary name, renamed, and (durable) fsynced around the rename. */
import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Makes a rename or a new entry in `dir` durable. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
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
    for (const piece of Array.isArray(data) ? data : [data]) writeFileSync(fd, piece);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  if (durable) fsyncDirectory(dirname(path));
}
