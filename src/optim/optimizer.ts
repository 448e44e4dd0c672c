/**
 * SGD, or Adagrad as dlrm's rwsadagrad: element-wise state for the dense MLP parameters, one state per row for the
 * embedding tables (kept by each tier beside its rows). It applies updates from the gradients a model's backward left;
 * it never runs the backward itself: the model applies its dense rule as its backward goes (SGD fused into it).
 */
import type { SlotLayout } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { EmbeddingTier, SparseRule } from '../embedding/tier.ts';
import type { DenseRule } from '../model/model.ts';

export type OptimizerName = 'sgd' | 'adagrad';

export interface OptimizerConfig {
  name: OptimizerName;
  lr: number;
  /** Added to the Adagrad denominator (torch's default 1e-10). */
  eps: number;
  /** Starting value of every Adagrad state (torch's initial_accumulator_value, default 0). */
  initialAccumulator: number;
}

export class Optimizer {
  private readonly denseStates = new Map<string, Float32Array>();

  constructor(readonly config: OptimizerConfig) {}

  /** Whether tiers keep a row-wise state (and its initial value). */
  get rowState(): { initial: number } | null {
    return this.config.name === 'adagrad' ? { initial: this.config.initialAccumulator } : null;
  }

  get sparseRule(): SparseRule {
    const { name, lr, eps } = this.config;
    return { optimizer: name === 'sgd' ? 'sgd' : 'rowwise-adagrad', lr, eps };
  }

  /** How the model's dense parameters learn; Adagrad's states are kept here, one per parameter, by name. */
  get denseRule(): DenseRule {
    const { name, lr, eps, initialAccumulator } = this.config;
    if (name === 'sgd') return { name, lr };
    return {
      name, lr, eps,
      state: (p) => {
        let state = this.denseStates.get(p.name);
        if (!state) this.denseStates.set(p.name, (state = new Float32Array(p.value.length).fill(initialAccumulator)));
        return state;
      },
    };
  }

  /** The sparse update of the rows a tier pooled for ids; a lane job when the tier works on one. */
  /** grad: the pooled vectors' gradient, asked for only by a tier that reads it on the host. */
  applySparse(tier: EmbeddingTier, ids: Jagged, layout: SlotLayout, grad: () => Float32Array): number | null {
    return tier.update(ids, layout, grad, this.sparseRule);
  }

  /** Adagrad's state of each dense parameter by name (empty under SGD, and before the first step). */
  get denseStateEntries(): [string, Float32Array][] {
    return [...this.denseStates];
  }

  restoreDenseState(name: string, state: Float32Array): void {
    this.denseStates.set(name, state);
  }
}
