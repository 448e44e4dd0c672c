/** The embedding tables in host memory (the host tier): one [rows x dim] table per categorical feature. */
import type { Kernels } from '../kernels/kernels.ts';

/** Where a batch's embedding rows are read and updated: the host tables, or a fast tier of hot rows. */
export interface EmbeddingStore {
  /** One weight array per table (a fast tier hands the same compact table for every table). */
  readonly weights: Float32Array[];
  /** Row-wise Adagrad state aligned with weights, created on first use with the given value. */
  rowWiseStates(initialAccumulator: number): Float32Array[];
}

export class EmbeddingTables implements EmbeddingStore {
  readonly weights: Float32Array[];
  /** Row-wise Adagrad state, allocated on first use. */
  states: Float32Array[] | null = null;

  /** Initialises as dlrm: uniform in +-sqrt(1/rows), from a counter-based stream per table. */
  constructor(private readonly kernels: Kernels, readonly rows: number[], readonly dim: number, seed: number) {
    this.weights = rows.map((n, t) => {
      const w = kernels.allocateTable(n * dim);
      const bound = Math.sqrt(1 / n);
      kernels.fillUniform(w, seed, t, -bound, bound);
      return w;
    });
  }

  rowWiseStates(initialAccumulator: number): Float32Array[] {
    this.states ??= this.rows.map((n) => this.kernels.allocateTable(n).fill(initialAccumulator));
    return this.states;
  }

  get bytes(): number {
    return this.rows.reduce((a, n) => a + n * this.dim * 4, 0);
  }
}
