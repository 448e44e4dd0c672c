/**
 * The look-ahead pipeline (Hotline's, usable by any policy): a mini-batch's lookups are split by the placement, the
 * tiers on lanes pool their rows into buffers of their own while the compute threads run the dense part and pool
 * the inline tiers, the step waits for the lanes, sums the parts, and finishes; its updates of laned rows go back as
 * lane jobs. With look-ahead, the next mini-batch's pools start as soon as this one's are consumed, before this
 * step's updates land: those reads may be stale (read-after-write), so after the updates each lane re-pools every
 * bag of the next batch that read a row this step updated. A lane is FIFO, so it runs pool(i+1) -> update(i) ->
 * repool(i+1), and step i+1 waits for the repool.
 *
 * Each bag of one-hot data is filled by exactly one tier (zeros elsewhere), so the sum is the baseline's value bit
 * for bit; one backward pass over the whole mini-batch keeps the baseline's dense summation order.
 */
import type { Batch } from '../data/batch.ts';
import type { Placement } from '../embedding/placement.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import type { Lane, LaneJob } from '../io/lane.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Model } from '../model/model.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import type { Jagged } from '../tensor/jagged.ts';
import { Stepper } from './step.ts';
import { Timeline } from './timeline.ts';

/** A mini-batch split by tier, with its laned tiers' pools in flight. */
export interface Split {
  /** The mini-batch as scheduled, and as trained (a policy may leave inputs out). */
  source: Batch;
  batch: Batch;
  /** Per tier, the lookups in its slots, in batch order. */
  ids: Jagged[];
  /** Inputs whose every lookup is in tier 0. */
  fastInputs: number;
  /** Per laned tier (by tier index), the buffer its lane pools into. */
  pooled: Map<number, Float32Array>;
  jobs: { tier: number; job: number; kind: 'pool' | 'repool' }[];
}

export interface PipelineStats {
  inputs: number;
  fastInputs: number;
  repooledBags: number;
  laneNs: number;
  waitNs: number;
}

export class Pipeline {
  readonly timeline = new Timeline();
  stats: PipelineStats = { inputs: 0, fastInputs: 0, repooledBags: 0, laneNs: 0, waitNs: 0 };
  private prefetched: Split | null = null;
  /** Each laned tier's update of the last step, with what it reads (kept alive until it ran). */
  private pendingUpdates: { tier: number; job: number; reads: unknown[] }[] = [];
  private readonly buffers = new Map<string, Float32Array>();
  private readonly stepper: Stepper;
  private steps = 0;
  private splits = 0;

  private placement: Placement | null = null;
  private tiers: readonly EmbeddingTier[] = [];

  /** clock: any lane, for the monotonic clock the lanes' job times are on. */
  constructor(
    private readonly kernels: Kernels, private readonly model: Model, private readonly optimizer: Optimizer,
    private readonly clock: Lane, private readonly lookAhead: boolean,
  ) {
    this.stepper = new Stepper(model, optimizer);
  }

  /** Trains on this placement from now on; tiers[k] serves its tier k (fastest first, the home tier last). */
  place(placement: Placement, tiers: readonly EmbeddingTier[]): void {
    if (tiers.length !== placement.tiers) throw new RangeError(`${tiers.length} tiers for a placement of ${placement.tiers}`);
    this.drain();
    this.placement = placement;
    this.tiers = tiers;
  }

  /** Splits a mini-batch by tier and starts the laned tiers' pools. */
  split(source: Batch, batch: Batch = source): Split {
    const { sparse } = this.model, ids = this.placement!.split(this.kernels, sparse.bags(batch.sparse)), n = batch.size, layout = sparse.layout(n);
    const fast = ids[0], pooled = new Map<number, Float32Array>(), jobs: Split['jobs'] = [];
    // An input is all fast when no other tier has an id in any of its bags (one a table, or one per event).
    const bags = fast.bags, perInput = bags / Math.max(1, n);
    let fastInputs = 0;
    for (let i = 0; i < n; i++) {
      let all = true;
      for (let k = 1; k < ids.length && all; k++) {
        const o = ids[k].offsets;
        for (let t = 0; t < fast.tables && all; t++) all = o[t * bags + (i + 1) * perInput] === o[t * bags + i * perInput];
      }
      if (all) fastInputs++;
    }
    const parity = this.splits++ % 2; // a prefetched split's buffers must not be the current one's
    this.tiers.forEach((tier, k) => {
      if (!tier.lane) return;
      const key = `pool:${k}:${parity}`;
      let buffer = this.buffers.get(key);
      const floats = this.model.sparse.pooledFloats(n);
      if (!buffer || buffer.length < floats) this.buffers.set(key, (buffer = new Float32Array(floats)));
      const out = buffer.subarray(0, floats);
      pooled.set(k, out);
      jobs.push({ tier: k, job: tier.pool(ids[k], layout, out)!, kind: 'pool' });
    });
    return { source, batch, ids, fastInputs, pooled, jobs };
  }

  /** The split of `scheduled` prefetched by the last step, if any (else null: the caller splits it). */
  takePrefetched(scheduled: Batch): Split | null {
    const split = this.prefetched?.source === scheduled ? this.prefetched : null;
    if (!split) this.discardPrefetch();
    this.prefetched = null;
    return split;
  }

  /**
   * Trains one split mini-batch; `next` (with look-ahead) splits the following one as soon as this one's pools are
   * consumed. Returns the loss.
   */
  step(current: Split, next: (() => Split) | null): number {
    try {
      return this.run(current, next);
    } catch (error) {
      this.abandon(current);
      throw error;
    }
  }

  /** After a failed step: waits for every lane job still in flight (their arrays must not be collected under them). */
  private abandon(current: Split): void {
    const jobs = [...current.jobs, ...(this.prefetched?.jobs ?? []), ...this.pendingUpdates];
    for (const { tier, job } of jobs) {
      try {
        this.waitOn(tier, job);
      } catch {
        // waited for already
      }
    }
    this.prefetched = null;
    this.pendingUpdates = [];
  }

  private run(current: Split, next: (() => Split) | null): number {
    const { model } = this, batch = current.batch, n = batch.size, step = ++this.steps, layout = model.sparse.layout(n);
    this.stats.inputs += n;
    this.stats.fastInputs += current.fastInputs;
    if (n === 0) { // every input was left out
      for (const { tier, job } of current.jobs) this.waitOn(tier, job);
      return 0;
    }
    const t0 = this.clock.now();
    const features = model.forwardDense(batch);
    const e0 = process.hrtime.bigint();
    // Every tier adds its bags' vectors to zeros (0 + x is x: the baseline's bits), so a tier may pool where it
    // computes (a device tier, in the step's program) in any order with the others.
    features.fill(0);
    this.tiers.forEach((tier, k) => {
      if (!tier.lane) tier.pool(current.ids[k], layout, features, true);
    });
    model.times?.add('embedding', process.hrtime.bigint() - e0);
    const t1 = this.clock.now();
    this.timeline.mark(step, 'compute', 'dense part and inline tiers', t0, t1);
    for (const { tier, job, kind } of current.jobs) this.record(step, tier, job, kind);
    for (const u of this.pendingUpdates) this.record(step - 1, u.tier, u.job, 'update');
    this.pendingUpdates = [];
    const t2 = this.clock.now();
    this.stats.waitNs += t2 - t1;
    this.timeline.mark(step, 'compute', 'wait for the lanes', t1, t2);
    const upcoming = this.lookAhead && next ? (this.prefetched = next()) : null;
    for (const part of current.pooled.values()) for (let i = 0; i < part.length; i++) features[i] += part[i];
    const loss = this.stepper.finish(batch, features);
    const grad = this.keep(`grad:${step % 2}`, model.embeddingGrad());
    const e1 = process.hrtime.bigint();
    this.tiers.forEach((tier, k) => {
      const job = this.optimizer.applySparse(tier, current.ids[k], layout, () => grad);
      if (job !== null) this.pendingUpdates.push({ tier: k, job, reads: [current.ids[k], grad] });
    });
    model.times?.add('embedding', process.hrtime.bigint() - e1);
    if (upcoming) {
      const nextLayout = model.sparse.layout(upcoming.batch.size);
      for (const [k, out] of upcoming.pooled) {
        const job = this.tiers[k].repool(upcoming.ids[k], nextLayout, out, current.ids[k])!;
        upcoming.jobs.push({ tier: k, job, kind: 'repool' });
      }
    }
    this.timeline.mark(step, 'compute', 'interaction, top MLP, backward, updates', t2, this.clock.now());
    return loss;
  }

  /** A copy of a step's array in a buffer of its own (two alternate, as a lane may still read the last step's). */
  private keep(key: string, values: Float32Array): Float32Array {
    let buffer = this.buffers.get(key);
    if (!buffer || buffer.length < values.length) this.buffers.set(key, (buffer = new Float32Array(values.length)));
    const out = buffer.subarray(0, values.length);
    out.set(values);
    return out;
  }

  private record(step: number, tier: number, job: number, kind: 'pool' | 'repool' | 'update'): void {
    const r = this.waitOn(tier, job), lane = this.tiers[tier].lane!.owner;
    if (kind !== 'update') this.stats.laneNs += r.endNs - r.startNs;
    this.stats.repooledBags += r.count;
    this.timeline.mark(step, lane, kind === 'pool' ? 'gather' : kind === 'repool' ? 'refetch' : 'update', r.startNs, r.endNs);
  }

  private discardPrefetch(): void {
    if (this.prefetched) for (const { tier, job } of this.prefetched.jobs) this.waitOn(tier, job);
    this.prefetched = null;
  }

  /** Waits for every job in flight, so every tier is current. */
  drain(): void {
    this.discardPrefetch();
    for (const u of this.pendingUpdates) this.waitOn(u.tier, u.job);
    this.pendingUpdates = [];
  }

  /** A job of tier k's lane, once it has run. */
  private waitOn(k: number, job: number): LaneJob {
    return this.tiers[k].lane!.wait(job);
  }
}
