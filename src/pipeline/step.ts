/**
 * The step every policy shares: forward on one tier, loss, backward, the dense update and the tier's sparse update. The
 * pipeline finishes its split steps with the same loss, backward and dense update (finish), so every policy trains the
 * dense part one way.
 */
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
    const loss = this.finish(batch, forwardOn(this.model, batch, tier)), t0 = process.hrtime.bigint();
    this.optimizer.applySparse(tier, batch.sparse, this.model.sparse.layout(batch.size), this.model.embeddingGrad());
    this.model.times?.add('embedding', process.hrtime.bigint() - t0);
    return loss;
  }

  /** From the model's output for the batch: the mean loss, the backward pass and the dense update. The pooled
   *  vectors' gradient is left in the model's embeddingGrad() for the tiers' sparse updates. */
  finish(batch: Batch, output: Float32Array): number {
    const { model, optimizer } = this, n = batch.size;
    if (this.dLogits.length < n) this.dLogits = new Float32Array(n);
    const d = this.dLogits.subarray(0, n);
    const loss = bceWithLogits(output, batch.labels, n, d);
    model.backward(d, optimizer.fusedDenseRate);
    optimizer.applyDense(model);
    return loss;
  }
}
