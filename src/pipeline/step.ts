/**
 * The step every policy shares: forward on one tier, loss, backward, the dense update and the tier's sparse update. The
 * pipeline finishes its split steps with the same loss, backward and dense update (finish), so every policy trains the
 * dense part one way.
 */
import type { Batch } from '../data/batch.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';

export class Stepper {
  constructor(private readonly model: Model, private readonly optimizer: Optimizer) {}

  /** Trains the batch with every lookup on `tier` (inline); returns the mean loss. */
  on(batch: Batch, tier: EmbeddingTier): number {
    const { sparse } = this.model, bags = sparse.bags(batch.sparse), layout = sparse.layout(batch.size);
    const pooled = this.model.forwardDense(batch), e0 = process.hrtime.bigint();
    tier.pool(bags, layout, pooled);
    this.model.times?.add('embedding', process.hrtime.bigint() - e0);
    const loss = this.finish(batch, pooled), t0 = process.hrtime.bigint();
    this.optimizer.applySparse(tier, bags, layout, () => this.model.embeddingGrad());
    this.model.times?.add('embedding', process.hrtime.bigint() - t0);
    return loss;
  }

  /** From the batch's filled pooled buffer: the rest of the forward pass, the mean loss, the backward pass and the
   *  dense update. The pooled vectors' gradient is left in the model's embeddingGrad() for the tiers' sparse updates. */
  finish(batch: Batch, pooled: Float32Array): number {
    return this.model.learn(pooled, batch.labels, this.optimizer.denseRule);
  }
}
