/**
 * SGD, or Adagrad as dlrm's rwsadagrad: element-wise state for the dense MLP parameters, one state per row for the
 * embedding tables (kept by each tier beside its rows). It applies updates from the gradients a model's backward left;
 * it never runs the backward itself. Under SGD the dense update is fused into the backward pass (fusedDenseRate).
 */
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { EmbeddingTier, SparseRule } from '../embedding/tier.ts';
import type { Model } from '../model/model.ts';

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

  constructor(private readonly kernels: Kernels, readonly config: OptimizerConfig) {}

  /** The learning rate the model's backward applies as it goes (SGD: W -= lr dY^T X as one GEMM), or null. */
  get fusedDenseRate(): number | null {
    return this.config.name === 'sgd' ? this.config.lr : null;
  }

  /** Whether tiers keep a row-wise state (and its initial value). */
  get rowState(): { initial: number } | null {
    return this.config.name === 'adagrad' ? { initial: this.config.initialAccumulator } : null;
  }

  get sparseRule(): SparseRule {
    const { name, lr, eps } = this.config;
    return { optimizer: name === 'sgd' ? 'sgd' : 'rowwise-adagrad', lr, eps };
  }

  /** One step of every dense parameter from the gradients the model holds (nothing left to do under fused SGD). */
  applyDense(model: Model): void {
    if (this.fusedDenseRate !== null) return;
    const { lr, eps } = this.config;
    for (const p of model.denseParams()) {
      let state = this.denseStates.get(p.name);
      if (!state) this.denseStates.set(p.name, (state = new Float32Array(p.value.length).fill(this.config.initialAccumulator)));
      this.kernels.denseAdagrad(p.value, state, p.grad, lr, eps);
    }
  }

  /** The sparse update of the rows a tier pooled for ids; a lane job when the tier works on one. */
  applySparse(tier: EmbeddingTier, ids: Jagged, layout: SlotLayout, grad: Float32Array): number | null {
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
