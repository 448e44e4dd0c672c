/**
 * An exclusive lock on a path (a run directory, an output being built): a lock file naming its holder (PID, host,
 * command line, start time). A second process is refused with the holder's name; a lock whose holder is gone (same
 * host, that process no longer running) is taken over. Released by release() or when the process exits.
 */
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { DataError } from './errors.ts';

/** A path in use by another process: shown as one line, like a data error. */
export class LockError extends DataError {}

interface Holder {
  pid: number;
  host: string;
  command: string;
  startedAt: string;
  /** Linux: the boot and the process's start (clock ticks since boot), so a PID reused by another process, or
   *  after a reboot, is not taken for the holder. */
  boot?: string;
  pidStart?: string;
}

function readOr<T>(read: () => T, otherwise: T): T {
  try {
    return read();
  } catch {
    return otherwise;
  }
}

const bootId = () => readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), undefined);
/** Field 22 of /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
const processStart = (pid: number) => readOr(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)!.split(' ')[19], undefined);

function alive(h: Holder): boolean {
  if (h.boot && h.pidStart) return h.boot === bootId() && h.pidStart === processStart(h.pid);
  try {
    process.kill(h.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function me(): Holder {
  const [, script, ...args] = process.argv;
  return {
    pid: process.pid, host: hostname(), command: [script?.endsWith('hotline.mjs') ? 'hotline' : script, ...args].join(' '),
    startedAt: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), boot: bootId(), pidStart: processStart(process.pid),
  };
}

const held = new Set<Lock>();
process.on('exit', () => held.forEach((lock) => lock.release()));

export class Lock {
  private constructor(readonly file: string, private readonly text: string) {
    held.add(this);
  }

  /** Takes `file` (the lock of `subject`, as messages name it), or throws LockError naming the holder. */
  static acquire(file: string, subject: string): Lock {
    const text = `${JSON.stringify(me())}\n`, temp = `${file}.${process.pid}.tmp`;
    // Written whole under a name of its own, then linked: link fails when the lock exists (as O_EXCL does), and a
    // reader never sees a lock file without its holder.
    writeFileSync(temp, text);
    try {
      for (;;) {
        try {
          linkSync(temp, file);
          return new Lock(file, text);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const found = readOr(() => readFileSync(file, 'utf8'), null);
        if (found === null) continue; // released meanwhile
        const holder = readOr(() => JSON.parse(found) as Holder, null);
        if (holder && (holder.host !== hostname() || alive(holder))) {
          const where = holder.host === hostname() ? '' : ` on host ${holder.host}`;
          throw new LockError(
            `${subject}: in use by process ${holder.pid}${where} (${holder.command}, since ${holder.startedAt}); wait for it to finish or stop it` +
              (where ? `, or remove ${file} if it no longer runs` : ''),
          );
        }
        takeOver(file, found);
      }
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** Removes the lock file if it is still this lock's. */
  release(): void {
    if (!held.delete(this)) return;
    if (readOr(() => readFileSync(this.file, 'utf8'), null) === this.text) rmSync(this.file, { force: true });
  }
}

/** Removes a stale lock, unless another process replaced it meanwhile (then it is put back, and tried again). */
function takeOver(file: string, stale: string): void {
  const aside = `${file}.${process.pid}.stale`;
  try {
    renameSync(file, aside);
  } catch {
    return; // taken over by another process meanwhile
  }
  if (readOr(() => readFileSync(aside, 'utf8'), null) !== stale) readOr(() => linkSync(aside, file), undefined);
  rmSync(aside, { force: true });
}
