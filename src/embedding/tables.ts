/**
 * The embedding tables a model declares (name, rows, dim), and their home storage in host memory: every row of every
 * table, one [rows x dim] array per table, with the row-wise Adagrad state beside it once training uses it.
 */
import type { Lane } from '../io/lane.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { TableStore } from './table-store.ts';
import { MemoryTier } from './tier.ts';

export interface TableConfig {
  /** The dataset's column name (C1..C26 for Criteo), or table<k> for generated data. */
  name: string;
  rows: number;
  dim: number;
}

/** Names for tables of the given row counts: the dataset's column names when known, else table1, table2, ... */
export function tableConfigs(rows: number[], dim: number, names?: readonly string[]): TableConfig[] {
  return rows.map((n, t) => ({ name: names?.[t] ?? `table${t + 1}`, rows: n, dim }));
}

export class HostTables implements TableStore {
  readonly kind = 'host';
  readonly readAhead = 0;
  readonly hostBudget = 0;
  readonly weights: Float32Array[];
  /** Row-wise Adagrad state, allocated on first use. */
  states: Float32Array[] | null = null;
  readonly dim: number;

  /** Initialises as dlrm: uniform in +-sqrt(1/rows), from a counter-based stream per table (the same on every backend). */
  constructor(readonly kernels: Kernels, readonly tables: readonly TableConfig[], seed: number) {
    this.dim = tables[0]?.dim ?? 0;
    this.weights = tables.map(({ rows }, t) => {
      const w = kernels.allocateTable(rows * this.dim);
      const bound = Math.sqrt(1 / rows);
      kernels.fillUniform(w, seed, t, -bound, bound);
      return w;
    });
  }

  rowWiseStates(initialAccumulator: number): Float32Array[] {
    this.states ??= this.tables.map(({ rows }) => this.kernels.allocateTable(rows).fill(initialAccumulator));
    return this.states;
  }

  get bytes(): number {
    return this.tables.reduce((a, t) => a + t.rows * this.dim * 4, 0);
  }

  get memory(): HostTables {
    return this;
  }

  tier(state: { initial: number } | null, lane: Lane | null): MemoryTier {
    return new MemoryTier('host', this.kernels, this.weights, state ? this.rowWiseStates(state.initial) : null, this.dim, lane);
  }

  // A checkpoint holds these rows as tensors: nothing to record or put back here.
  beginCheckpoint(): void {}
  endCheckpoint(): void {}
  rollBack(): void {}
  release(): void {}
}
