/** The baseline policy: every table in host memory, batches in the source's order. */
import type { Batch } from '../data/batch.ts';
import { bceWithLogits } from '../model/loss.ts';
import type { Dlrm } from '../model/dlrm.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Policy, PolicyEvents, PolicyState } from './policy.ts';
import type { BatchSource } from '../data/batch.ts';

export class BaselinePolicy implements Policy {
  readonly name = 'baseline';
  events: PolicyEvents = () => {};
  private dLogits = new Float32Array(0);

  constructor(private readonly model: Dlrm, private readonly optimizer: Optimizer) {}

  batchesPerEpoch(source: BatchSource): number {
    return source.batchesPerEpoch;
  }

  schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch> {
    return source.batches(epoch, fromStep);
  }

  settle(): void {}

  saveState(): PolicyState {
    return { json: {}, tensors: new Map() };
  }

  restoreState(): void {}

  counters(): Record<string, number> {
    return {};
  }

  report(): Record<string, unknown> {
    return {};
  }

  step(batch: Batch): number {
    if (this.dLogits.length < batch.size) this.dLogits = new Float32Array(batch.size);
    const loss = bceWithLogits(this.model.forward(batch), batch.labels, batch.size, this.dLogits);
    this.optimizer.backwardAndStep(this.model, this.dLogits, batch);
    return loss;
  }
}
