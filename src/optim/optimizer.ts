/**
 * SGD, or Adagrad as dlrm's rwsadagrad: element-wise state for the dense MLP parameters, one state
 * per row for the embedding tables. Embedding updates touch only the rows the batch looked up.
 */
import type { Kernels } from '../kernels/kernels.ts';
import type { Batch } from '../data/batch.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { EmbeddingStore } from '../model/embeddings.ts';

export type OptimizerName = 'sgd' | 'adagrad';
export const optimizerNames: readonly OptimizerName[] = ['sgd', 'adagrad'];

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
    const { name, lr, eps } = this.config;
    if (name === 'sgd') {
      model.backward(dLogits, lr); // SGD on the dense layers is fused into the backward pass
    } else {
      model.backward(dLogits);
      for (const p of model.denseParams()) {
        let state = this.denseStates.get(p.name);
        if (!state) this.denseStates.set(p.name, (state = new Float32Array(p.value.length).fill(this.config.initialAccumulator)));
        this.kernels.denseAdagrad(p.value, state, p.grad, lr, eps);
      }
    }
    const t0 = process.hrtime.bigint();
    this.kernels.embeddingUpdate(store.weights, batch.sparse, model.layout(batch.size), model.embeddingGrad(), {
      optimizer: name === 'sgd' ? 'sgd' : 'rowwise-adagrad',
      lr,
      eps,
      states: name === 'sgd' ? null : store.rowWiseStates(this.config.initialAccumulator),
    });
    model.times?.add('embedding', process.hrtime.bigint() - t0);
  }
}
