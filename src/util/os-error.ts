/**
 * Ordinary OS errors (a missing file, no permission, a full disk, too many open files) as one line: what was being
 * done, to which path, in the OS's words. Node's fs errors carry the syscall and usually the path; writes through a
 * file descriptor do not, so writers that hold one name their file with withPath.
 */
import { readFileSync } from 'node:fs';

export interface OsError extends Error {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

const doing: Record<string, string> = {
  open: 'open', read: 'read', write: 'write to', mkdir: 'create the folder', rmdir: 'remove the folder', rm: 'remove',
  unlink: 'remove', rename: 'rename', scandir: 'list the folder', stat: 'read', lstat: 'read', fstat: 'read', fsync: 'flush',
  ftruncate: 'resize', copyfile: 'copy', access: 'access', close: 'close', mkdtemp: 'create a folder in', fdatasync: 'flush',
  spawn: 'start', symlink: 'link', link: 'link', chmod: 'change the mode of', utime: 'touch',
};

export function isOsError(error: unknown): error is OsError {
  return error instanceof Error && typeof (error as OsError).code === 'string' && /^E[A-Z0-9]+$/.test((error as OsError).code);
}

/** "cannot open out/manifest.json: permission denied (EACCES)". */
export function describeOsError(error: OsError): string {
  // Node words it "CODE: the OS's words, syscall 'path'"; the libuv text is the part before the comma.
  const words = /^E[A-Z0-9]+: ([^,]+)/.exec(error.message)?.[1] ?? error.message;
  const what = error.syscall ? doing[error.syscall] ?? error.syscall : 'use';
  const target = error.path ? ` ${error.path}${error.dest ? ` as ${error.dest}` : ''}` : '';
  return `cannot ${what}${target}: ${words} (${error.code})`;
}

/** Runs fn (or awaits what it returns), naming `path` in an OS error that lacks one (writes through a descriptor). */
export function withPath<T>(path: string, fn: () => T): T {
  const named = (error: unknown) => {
    if (isOsError(error) && !error.path) error.path = path;
    return error;
  };
  try {
    const result = fn();
    return (result instanceof Promise ? result.catch((error) => Promise.reject(named(error))) : result) as T;
  } catch (error) {
    throw named(error);
  }
}

/** A JSON file's value; an OS error names the file, and text that is not JSON becomes `invalid(message)`. */
export function readJsonFile(path: string, invalid: (message: string) => Error, parse: (text: string) => unknown = JSON.parse): unknown {
  const text = withPath(path, () => readFileSync(path, 'utf8'));
  try {
    return parse(text.replace(/^\uFEFF/, '')); // a BOM, as editors on Windows write it, is no error
  } catch (error) {
    throw invalid(`${path}: not valid JSON (${(error as Error).message})`);
  }
}
