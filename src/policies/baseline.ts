/** The baseline policy: every table in host memory, batches in the source's order. */
import type { Batch, BatchSource } from '../data/batch.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import type { Model } from '../model/model.ts';
import type { Policy, PolicyContext, PolicyEvents, PolicyState, StepResult } from './policy.ts';
import { readAhead } from '../pipeline/read-ahead.ts';
import { Stepper } from '../pipeline/step.ts';
import { homeTier } from './tiers.ts';

export class BaselinePolicy implements Policy {
  readonly name: string = 'baseline';
  events: PolicyEvents = () => {};
  private readonly tier: EmbeddingTier;
  protected readonly stepper: Stepper;
  private readonly readAhead: number;
  private readonly model: Model;

  constructor(ctx: PolicyContext) {
    this.tier = homeTier(ctx);
    this.model = ctx.model;
    this.readAhead = ctx.home.readAhead;
    this.stepper = new Stepper(ctx.model, ctx.optimizer);
  }

  batchesPerEpoch(source: BatchSource): number {
    return source.batchesPerEpoch;
  }

  schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch> {
    return readAhead(source.batches(epoch, fromStep), this.readAhead, (batch) => this.tier.prefetch?.(this.model.sparse.bags(batch.sparse)));
  }

  step(batch: Batch): StepResult {
    return { samples: batch.size, loss: this.stepper.on(batch, this.tier) };
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

  describe(): string[] {
    return [];
  }

  summary(): string[] {
    return [];
  }

  timeline(): [] {
    return [];
  }
}
