/**
 * SGD, or Adagrad as dlrm's rwsadagrad: element-wise state for the dense MLP parameters, one state
 * per row for the embedding tables. Embedding updates touch only the rows the batch looked up.
 */
import type { Bags, Kernels, SlotLayout, SparseUpdate } from '../kernels/kernels.ts';
import type { Batch } from '../data/batch.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { EmbeddingStore } from '../model/embeddings.ts';

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

  /** Back-propagates dLogits through the model and applies one update of every parameter the batch touched
   *  (embedding rows in store, where the forward pass read them). */
  backwardAndStep(model: Dlrm, dLogits: Float32Array, batch: Batch, store: EmbeddingStore = model.tables): void {
    if (this.config.name === 'sgd') {
      model.backward(dLogits, this.config.lr); // SGD on the dense layers is fused into the backward pass
    } else {
      model.backward(dLogits);
      this.applyDense(model);
    }
    const t0 = process.hrtime.bigint();
    this.applyEmbedding(store, batch.sparse, model.layout(batch.size), model.embeddingGrad());
    model.times?.add('embedding', process.hrtime.bigint() - t0);
  }

  /** One step of every dense parameter from the gradients the model holds. */
  applyDense(model: Dlrm): void {
    const { name, lr, eps } = this.config;
    for (const p of model.denseParams()) {
      if (name === 'sgd') {
        this.kernels.denseSgd(p.value, p.grad, lr);
        continue;
      }
      let state = this.denseStates.get(p.name);
      if (!state) this.denseStates.set(p.name, (state = new Float32Array(p.value.length).fill(this.config.initialAccumulator)));
      this.kernels.denseAdagrad(p.value, state, p.grad, lr, eps);
    }
  }

  /** Adagrad's state of each dense parameter by name (empty under SGD, and before the first step). */
  get denseStateEntries(): [string, Float32Array][] {
    return [...this.denseStates];
  }

  restoreDenseState(name: string, state: Float32Array): void {
    this.denseStates.set(name, state);
  }

  /** The sparse update of rows in store: SGD, or row-wise Adagrad with the store's state. */
  sparseUpdate(store: EmbeddingStore): SparseUpdate {
    const { name, lr, eps, initialAccumulator } = this.config;
    return name === 'sgd'
      ? { optimizer: 'sgd', lr, eps, states: null }
      : { optimizer: 'rowwise-adagrad', lr, eps, states: store.rowWiseStates(initialAccumulator) };
  }

  applyEmbedding(store: EmbeddingStore, bags: Bags, layout: SlotLayout, grad: Float32Array): void {
    this.kernels.embeddingUpdate(store.weights, bags, layout, grad, this.sparseUpdate(store));
  }
}
