/**
 * Hotline (Adnan et al., ISCA 2024; no public code, so the design here is ours within what the paper states):
 * popular rows are learned at run time over the first mini-batches, then every mini-batch is fragmented into
 * a popular micro-batch (inputs whose every lookup is popular) run from the fast tier, and a non-popular one
 * whose rows the gather engine pools from the host tables (and, for its popular lookups, the fast tier)
 * while the compute threads run the popular micro-batch. Both micro-batches' gradients make one optimizer
 * step per mini-batch, so training follows the baseline's sample order and updates up to float rounding.
 *
 * Pipelining: with `pipeline`, the next mini-batch's gather starts as soon as the engine is free, before
 * this step's updates land. Those reads may be stale (read-after-write), so after the updates the engine
 * refetches every bag that read a row this step touched; the FIFO engine orders gather(i+1) -> update(i)
 * -> refetch(i+1), and step i+1 waits for the refetch.
 */
import type { Batch } from '../data/batch.ts';
import type { Bags, GatherEngine, Kernels } from '../kernels/kernels.ts';
import type { Dlrm } from '../model/dlrm.ts';
import { bceWithLogits } from '../model/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { bytesPerHotRow, type HotSet, selectHotSet } from '../popularity/hot-set.ts';
import { AccessLearner } from '../popularity/learner.ts';
import { rankRows } from '../popularity/profiler.ts';
import { FastTier } from '../tiers/fast-tier.ts';
import type { BatchSource, Policy } from './policy.ts';

export interface HotlineOptions {
  budgetBytes: number;
  /** Mini-batches observed (trained as the baseline) before the popular set is chosen. */
  learnBatches: number;
  learnSamplingRate: number;
  /** Re-learn the popular set every this many mini-batches (0: never). */
  relearnEvery: number;
  /** Count multiplier of the current popular rows at re-learning (hysteresis), e.g. 1.5. */
  hysteresis: number;
  pipeline: boolean;
  seed: number;
}

/** One phase of one step on the compute threads or the gather engine, on the monotonic clock. */
export interface TimelineEvent {
  step: number;
  lane: 'compute' | 'engine';
  phase: string;
  startNs: number;
  endNs: number;
}

/** The timeline keeps the first steps' events (enough to see the pipeline; a long run's would not fit). */
const timelineEvents = 4000;

interface Split {
  batch: Batch;
  /** Popular inputs with slot ids, and the rest with host ids (null when empty). */
  popular: Batch | null;
  rest: Batch | null;
  /** The rest's features [n x F x dim]: the engine pools into the table slots. */
  gathered: Float32Array;
  jobs: number[];
}

export class HotlinePolicy implements Policy {
  readonly name = 'hotline';
  private readonly learner: AccessLearner;
  private readonly engine: GatherEngine;
  private tier: FastTier | null = null;
  private steps = 0;
  private upcoming: Batch | null = null;
  private prefetched: Split | null = null;
  /** The engine's write-back of the last step, with the arrays it reads (kept alive until it ran). */
  private pendingUpdate: { job: number; reads: unknown[] } | null = null;
  private readonly gradBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  private readonly gatherBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  private splits = 0;
  private dLogits = new Float32Array(0);
  readonly timeline: TimelineEvent[] = [];
  private readonly stats = { popularInputs: 0, inputs: 0, refetchedBags: 0, gatherNs: 0, waitNs: 0, relearns: 0, migratedRows: 0 };

  constructor(
    private readonly model: Dlrm, private readonly optimizer: Optimizer, private readonly kernels: Kernels,
    private readonly options: HotlineOptions,
  ) {
    this.learner = new AccessLearner(model.arch.tableRows, options.learnSamplingRate, options.seed);
    this.engine = kernels.gatherEngine();
  }

  batchesPerEpoch(source: BatchSource): number {
    return source.batchesPerEpoch;
  }

  *schedule(source: BatchSource, epoch: number): Iterable<Batch> {
    const it = source.batches(epoch)[Symbol.iterator]();
    let current = it.next();
    while (!current.done) {
      const next = it.next();
      this.upcoming = next.done ? null : next.value;
      yield current.value;
      current = next;
    }
  }

  get hotSet(): HotSet | null {
    return this.tier?.hot ?? null;
  }

  step(batch: Batch): number {
    this.steps++;
    const relearn = this.options.relearnEvery > 0;
    if (!this.tier || relearn) this.learner.observe(batch);
    if (!this.tier) {
      const loss = this.baselineStep(batch);
      if (this.steps >= this.options.learnBatches) this.chooseHotSet();
      return loss;
    }
    if (relearn && this.steps % this.options.relearnEvery === 0) this.chooseHotSet();
    return this.fragmentedStep(batch);
  }

  private baselineStep(batch: Batch): number {
    if (this.dLogits.length < batch.size) this.dLogits = new Float32Array(batch.size);
    const loss = bceWithLogits(this.model.forward(batch), batch.labels, batch.size, this.dLogits);
    this.optimizer.backwardAndStep(this.model, this.dLogits, batch);
    return loss;
  }

  /** (Re)builds the fast tier from the learner's counts; rows move between tiers through the host tables. */
  private chooseHotSet(): void {
    this.drain();
    const old = this.tier;
    if (old) {
      old.storeToHost(this.model.tables);
      this.stats.relearns++;
    }
    const rowWise = this.optimizer.config.name === 'adagrad';
    const profile = this.learner.profile(old ? { slotOf: old.hot.slotOf, bonus: this.options.hysteresis } : undefined);
    const hot = selectHotSet(profile, rankRows(profile), bytesPerHotRow(this.model.arch.embeddingDim, rowWise ? 1 : 0), this.options.budgetBytes);
    this.tier = new FastTier(
      this.kernels, hot, this.model.arch.embeddingDim, this.model.arch.tableRows.length,
      rowWise ? { initial: this.optimizer.config.initialAccumulator } : null,
    );
    this.stats.migratedRows += this.tier.loadFromHost(this.model.tables);
    if (old) this.learner.decay();
  }

  /** Splits a mini-batch by popularity and starts the gather of its non-popular micro-batch. */
  private split(batch: Batch): Split {
    const slotOf = this.tier!.hot.slotOf;
    const { indices } = batch.sparse;
    const tables = indices.length, nd = this.model.arch.bottomMlp[0];
    const popularRows: number[] = [], restRows: number[] = [];
    for (let i = 0; i < batch.size; i++) {
      let popular = true;
      for (let t = 0; t < tables && popular; t++) {
        const off = batch.sparse.offsets[t];
        for (let p = off[i]; p < off[i + 1] && popular; p++) popular = slotOf[t][indices[t][p]] >= 0;
      }
      (popular ? popularRows : restRows).push(i);
    }
    const take = (rows: number[], remap: boolean): Batch | null => {
      if (rows.length === 0) return null;
      const n = rows.length, dense = new Float32Array(n * nd), labels = new Float32Array(n);
      const bags = indices.map((idx, t) => {
        const off = batch.sparse.offsets[t];
        const out: number[] = [], offsets = new Int32Array(n + 1);
        rows.forEach((i, k) => {
          for (let p = off[i]; p < off[i + 1]; p++) out.push(remap ? slotOf[t][idx[p]] : idx[p]);
          offsets[k + 1] = out.length;
        });
        return { indices: Int32Array.from(out), offsets };
      });
      rows.forEach((i, k) => {
        dense.set(batch.dense.subarray(i * nd, (i + 1) * nd), k * nd);
        labels[k] = batch.labels[i];
      });
      return { size: n, dense, labels, sparse: { indices: bags.map((b) => b.indices), offsets: bags.map((b) => b.offsets) } };
    };
    const popular = take(popularRows, true), rest = take(restRows, false);
    const buffer = this.splits++ % 2;
    const floats = this.model.featureFloats(batch.size);
    if (this.gatherBuffers[buffer].length < floats) this.gatherBuffers[buffer] = new Float32Array(floats);
    const gathered = this.gatherBuffers[buffer].subarray(0, rest ? this.model.featureFloats(rest.size) : 0);
    const jobs: number[] = [];
    if (rest) {
      jobs.push(this.engine.gather(this.model.tables.weights, this.tier!.weights, slotOf, rest.sparse, this.model.layout(rest.size), gathered));
    }
    this.stats.popularInputs += popularRows.length;
    this.stats.inputs += batch.size;
    return { batch, popular, rest, gathered, jobs };
  }

  private fragmentedStep(batch: Batch): number {
    const tier = this.tier!, model = this.model, n = batch.size, step = this.steps;
    let split = this.prefetched?.batch === batch ? this.prefetched : null;
    if (!split) {
      this.discardPrefetch();
      split = this.split(batch);
    }
    this.prefetched = null;
    const fast = tier.store();
    const per = model.featureFloats(1);
    const buffer = step % 2;
    if (this.gradBuffers[buffer].length < per * n) this.gradBuffers[buffer] = new Float32Array(per * n);
    const grads = this.gradBuffers[buffer].subarray(0, per * n);
    if (this.dLogits.length < n) this.dLogits = new Float32Array(n);
    let loss = 0;
    const microBatch = (micro: Batch, gathered: Float32Array | undefined, accumulate: boolean, at: number) => {
      const m = micro.size, d = this.dLogits.subarray(0, m);
      loss += bceWithLogits(model.forward(micro, fast, gathered), micro.labels, m, d) * m;
      for (let i = 0; i < m; i++) d[i] *= m / n; // the mini-batch mean, as the baseline's loss
      model.backward(d, null, accumulate);
      grads.set(model.embeddingGrad(), at * per);
    };
    const t0 = this.engine.now();
    if (split.popular) microBatch(split.popular, undefined, false, 0);
    const t1 = this.engine.now();
    this.mark(step, 'compute', 'popular micro-batch', t0, t1);
    for (const job of split.jobs) this.recordJob(step, job);
    if (this.pendingUpdate) {
      this.recordJob(step - 1, this.pendingUpdate.job, 'update');
      this.pendingUpdate = null;
    }
    const t2 = this.engine.now();
    this.stats.waitNs += t2 - t1;
    this.mark(step, 'compute', 'wait for gather', t1, t2);
    if (this.options.pipeline && this.upcoming) this.prefetched = this.split(this.upcoming);
    const nPopular = split.popular?.size ?? 0;
    const t3 = this.engine.now();
    if (split.rest) microBatch(split.rest, split.gathered, split.popular !== null, nPopular);
    this.optimizer.applyDense(model);
    // Updates: every popular row in the fast tier (both micro-batches in one call, so row-wise Adagrad merges
    // a row's lookups as the baseline does), the rest's other rows in the host tables through the engine.
    const { fastBags, hostBags } = this.routeLookups(split, nPopular);
    const all = model.layout(n);
    this.optimizer.applyEmbedding(fast, fastBags, all, grads);
    tier.markFastUpdates(fastBags);
    if (split.rest) {
      const restLayout = model.layout(split.rest.size);
      const restGrads = grads.subarray(nPopular * per);
      const job = this.engine.update(model.tables.weights, hostBags, restLayout, restGrads, this.optimizer.sparseUpdate(model.tables));
      this.pendingUpdate = { job, reads: [hostBags, restGrads] };
    }
    if (this.prefetched?.rest) {
      const next = this.prefetched;
      next.jobs.push(this.engine.refetch(model.tables.weights, tier.weights, tier.hot.slotOf, next.rest!.sparse, model.layout(next.rest!.size), next.gathered, batch.sparse.indices));
    }
    this.mark(step, 'compute', 'non-popular micro-batch and updates', t3, this.engine.now());
    return loss / n;
  }

  /** Per table, the lookups of [popular; rest] bound for the fast tier (as slots) and the rest's host rows. */
  private routeLookups(split: Split, nPopular: number): { fastBags: Bags; hostBags: Bags } {
    const slotOf = this.tier!.hot.slotOf, n = split.batch.size, nRest = split.rest?.size ?? 0;
    const fastBags: Bags = { indices: [], offsets: [] }, hostBags: Bags = { indices: [], offsets: [] };
    const tables = split.batch.sparse.indices.length;
    for (let t = 0; t < tables; t++) {
      const fastIdx: number[] = [], hostIdx: number[] = [];
      const fastOff = new Int32Array(n + 1), hostOff = new Int32Array(nRest + 1);
      if (split.popular) {
        const off = split.popular.sparse.offsets[t], idx = split.popular.sparse.indices[t];
        for (let i = 0; i < nPopular; i++) {
          for (let p = off[i]; p < off[i + 1]; p++) fastIdx.push(idx[p]);
          fastOff[i + 1] = fastIdx.length;
        }
      }
      if (split.rest) {
        const off = split.rest.sparse.offsets[t], idx = split.rest.sparse.indices[t];
        for (let i = 0; i < nRest; i++) {
          for (let p = off[i]; p < off[i + 1]; p++) {
            const slot = slotOf[t][idx[p]];
            if (slot >= 0) fastIdx.push(slot);
            else hostIdx.push(idx[p]);
          }
          fastOff[nPopular + i + 1] = fastIdx.length;
          hostOff[i + 1] = hostIdx.length;
        }
      }
      fastBags.indices.push(Int32Array.from(fastIdx));
      fastBags.offsets.push(fastOff);
      hostBags.indices.push(Int32Array.from(hostIdx));
      hostBags.offsets.push(hostOff);
    }
    return { fastBags, hostBags };
  }

  private recordJob(step: number, job: number, phase?: string): void {
    const r = this.engine.wait(job);
    const name = phase ?? (r.count > 0 ? 'refetch' : 'gather');
    if (name !== 'update') this.stats.gatherNs += r.endNs - r.startNs;
    this.stats.refetchedBags += r.count;
    this.mark(step, 'engine', name, r.startNs, r.endNs);
  }

  private mark(step: number, lane: TimelineEvent['lane'], phase: string, startNs: number, endNs: number): void {
    if (this.timeline.length < timelineEvents) this.timeline.push({ step, lane, phase, startNs, endNs });
  }

  private discardPrefetch(): void {
    if (this.prefetched) for (const job of this.prefetched.jobs) this.engine.wait(job);
    this.prefetched = null;
  }

  /** Waits for every job in flight, so the host tables are current. */
  private drain(): void {
    this.discardPrefetch();
    if (this.pendingUpdate) this.engine.wait(this.pendingUpdate.job);
    this.pendingUpdate = null;
  }

  beforeEvaluation(): void {
    this.drain();
    this.tier?.storeToHost(this.model.tables);
  }

  report(): Record<string, unknown> {
    const { gatherNs, waitNs, ...rest } = this.stats;
    return {
      hotRows: this.tier?.hot.size ?? 0, hotBytes: this.tier?.bytes ?? 0, budgetBytes: this.options.budgetBytes,
      popularInputShare: rest.inputs ? rest.popularInputs / rest.inputs : 0, gatherSeconds: gatherNs / 1e9, waitSeconds: waitNs / 1e9,
      hiddenGatherShare: gatherNs > 0 ? Math.max(0, 1 - waitNs / gatherNs) : 0, pipeline: this.options.pipeline, ...rest,
    };
  }
}

