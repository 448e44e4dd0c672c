/**
 * Where every row of every table lives: the home tier's storage, in host memory (HostTables) or on the SSD
 * (SsdTables). Policies train on its tier, evaluation pools from it, and checkpoints keep it: rows in memory go into
 * the checkpoint as tensors; rows on the SSD stay in their files, which an undo log puts back as they were at any
 * kept checkpoint.
 */
import type { Lane } from '../io/lane.ts';
import type { HostTables, TableConfig } from './tables.ts';
import type { EmbeddingTier } from './tier.ts';

export interface TableStore {
  readonly kind: 'host' | 'ssd';
  readonly tables: readonly TableConfig[];
  readonly dim: number;
  /** The rows in host memory, as arrays (null: they live elsewhere). */
  readonly memory: HostTables | null;
  /** Upcoming batches whose rows the home tier reads ahead (0: it reads nothing ahead). */
  readonly readAhead: number;
  /** Host memory for rows placed in front of the home tier (0: none; the rows in memory are the home tier). */
  readonly hostBudget: number;
  /** The home tier over every row, with the row-wise state when `state`; on `lane` where the store's work can go there. */
  tier(state: { initial: number } | null, lane: Lane | null): EmbeddingTier;
  /** Before the checkpoint of `step` is written: every row durable as of now, and the record of later writes begun. */
  beginCheckpoint(step: number): void;
  /** After it was written: records needed by no kept checkpoint (older than `oldestKept`) go. */
  endCheckpoint(oldestKept: number): void;
  /** Puts the rows back as they were at the checkpoint of `step`. */
  rollBack(step: number): void;
  /** What the storage did (blocks moved, reads hidden behind the compute), where it counts anything. */
  report?(): Record<string, number>;
  /** Finishes the work in flight and frees what the store holds outside the heap (its files stay). */
  release(): void;
}
