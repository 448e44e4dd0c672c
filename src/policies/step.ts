/** The step every policy shares: forward on one tier, loss, backward, the dense update and the tier's sparse update. */
import type { Batch } from '../data/batch.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import { bceWithLogits } from '../model/loss.ts';
import { forwardOn, type Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';

export class Stepper {
  private dLogits = new Float32Array(0);

  constructor(private readonly model: Model, private readonly optimizer: Optimizer) {}

  /** Trains the batch with every lookup on `tier` (inline); returns the mean loss. */
  on(batch: Batch, tier: EmbeddingTier): number {
    const { model, optimizer } = this, n = batch.size;
    if (this.dLogits.length < n) this.dLogits = new Float32Array(n);
    const d = this.dLogits.subarray(0, n);
    const loss = bceWithLogits(forwardOn(model, batch, tier), batch.labels, n, d);
    model.backward(d, optimizer.fusedDenseRate);
    optimizer.applyDense(model);
    const t0 = process.hrtime.bigint();
    optimizer.applySparse(tier, batch.sparse, model.sparse.layout(n), model.embeddingGrad());
    model.times?.add('embedding', process.hrtime.bigint() - t0);
    return loss;
  }
}
