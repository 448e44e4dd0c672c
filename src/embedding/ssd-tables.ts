/**
 * The tables on the SSD (`--storage ssd:DIR`): the ssd tier's files in DIR, a manifest (tables.json, written last,
 * so a folder without it holds no complete table set) and the undo logs that roll the files back to a checkpoint.
 * A new run initialises the files as HostTables initialises its arrays (the same values); a resumed run opens them
 * and rolls them back to its checkpoint.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BlockIo } from '../io/block-file.ts';
import { UndoLog } from '../io/undo-log.ts';
import type { Kernels } from '../kernels/kernels.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';
import { ConfigError } from '../util/errors.ts';
import { LruCache } from './lru-cache.ts';
import { bytesPerRow } from './planner.ts';
import { SsdTier } from './ssd-tier.ts';
import type { TableStore } from './table-store.ts';
import type { TableConfig } from './tables.ts';

export interface SsdStorage {
  dir: string;
  /** Upcoming batches read ahead. */
  readAhead: number;
  /** Host memory in front of the SSD (--host-budget): for the rows a policy places there, or an LRU cache. */
  hostBudget: number;
  hostCache: 'placed' | 'lru';
  io: BlockIo;
}

const manifestName = 'tables.json';
const format = 'hotline-ssd-tables';

interface Manifest {
  format: typeof format;
  version: 1;
  tables: TableConfig[];
  rowState: boolean;
  seed: number;
}

export class SsdTables implements TableStore {
  readonly kind = 'ssd';
  readonly memory = null;
  readonly readAhead: number;
  readonly hostBudget: number;
  readonly dim: number;
  private readonly journal: UndoLog;
  /** The LRU cache in front of the SSD (--host-cache lru), else null. */
  readonly cache: LruCache | null;

  private constructor(private readonly storage: SsdStorage, readonly tables: readonly TableConfig[], private readonly ssd: SsdTier, kernels: Kernels) {
    this.readAhead = storage.readAhead;
    const withState = ssd.files.length > tables.length;
    this.cache = storage.hostCache === 'lru' ? new LruCache(kernels, ssd, Math.floor(storage.hostBudget / bytesPerRow(ssd.dim, withState ? 1 : 0)), withState) : null;
    this.hostBudget = this.cache ? 0 : storage.hostBudget;
    this.dim = ssd.dim;
    this.journal = new UndoLog(storage.dir, ssd.files, SsdTier.fileBlocks(tables, ssd.files.length > tables.length));
    ssd.journal = this.journal;
  }

  /** New files in the storage's folder, which must not hold another table set. */
  static create(storage: SsdStorage, kernels: Kernels, tables: readonly TableConfig[], seed: number, state: { initial: number } | null): SsdTables {
    const manifest = join(storage.dir, manifestName);
    if (existsSync(manifest)) throw new ConfigError(`--storage ssd:${storage.dir}: the folder holds another run's tables (${manifest}); give an empty folder`);
    mkdirSync(storage.dir, { recursive: true });
    const ssd = SsdTier.create(storage.dir, kernels, tables, seed, state, storage.io);
    const record: Manifest = { format, version: 1, tables: tables.map((t) => ({ ...t })), rowState: state !== null, seed };
    writeFileAtomic(manifest, `${JSON.stringify(record, null, 1)}\n`);
    return new SsdTables(storage, tables, ssd, kernels);
  }

  /** The table set a run left in the storage's folder, checked against the model's tables. */
  static open(storage: SsdStorage, kernels: Kernels, tables: readonly TableConfig[], rowState: boolean): SsdTables {
    const path = join(storage.dir, manifestName);
    if (!existsSync(path)) throw new ConfigError(`${path}: missing; the run's ssd tables are not in ${storage.dir}`);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    } catch (error) {
      throw new ConfigError(`${path}: unreadable (${(error as Error).message})`);
    }
    if (manifest.format !== format || manifest.version !== 1) throw new ConfigError(`${path}: not a ${format} manifest of version 1`);
    const want = JSON.stringify(tables.map((t) => [t.rows, t.dim])), have = JSON.stringify(manifest.tables.map((t) => [t.rows, t.dim]));
    if (want !== have) throw new ConfigError(`${path}: tables of [rows, dim] ${have}, the model has ${want}`);
    if (manifest.rowState !== rowState) throw new ConfigError(`${path}: ${manifest.rowState ? 'has' : 'has no'} row-wise optimizer state, the run's optimizer ${rowState ? 'keeps one' : 'keeps none'}`);
    return new SsdTables(storage, tables, SsdTier.open(storage.dir, kernels, tables, rowState, storage.io), kernels);
  }

  get bytes(): number {
    return this.ssd.bytes;
  }

  /** The ssd tier (pooling inline, its transfers on the 'ssd' lane), or the LRU cache in front of it; whatever lane
   *  is offered. */
  tier(): LruCache | SsdTier {
    return this.cache ?? this.ssd;
  }

  /** What the SSD and the cache in front of it did: counts, and the share of the reads' time hidden behind the compute. */
  report(): Record<string, number> {
    const { readNs, readWaitNs } = this.ssd.stats;
    return {
      ...this.ssd.stats, hiddenReadShare: readNs > 0 ? Math.max(0, 1 - readWaitNs / readNs) : 0,
      ...(this.cache && Object.fromEntries(Object.entries(this.cache.stats).map(([k, v]) => [`cache${k[0].toUpperCase()}${k.slice(1)}`, v]))),
    };
  }

  beginCheckpoint(step: number): void {
    this.cache?.flush();
    this.ssd.flush();
    this.journal.start(step);
  }

  endCheckpoint(oldestKept: number): void {
    this.journal.forgetBefore(oldestKept);
  }

  rollBack(step: number): void {
    this.ssd.flush();
    this.journal.rollBack(step, this.storage.io);
  }

  release(): void {
    this.cache?.release();
    this.journal.close();
    this.ssd.release();
  }
}
