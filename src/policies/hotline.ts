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
  /** Popular inputs with slot ids (null when none). */
  popular: Batch | null;
  /** The other inputs; their lookups split into popular rows (as slots) and host rows (host ids). */
  rest: Batch | null;
  restFast: Bags;
  restHost: Bags;
  /** The rest's features [n x F x dim]: the engine pools the host rows into the table slots. */
  gathered: Float32Array;
  jobs: { job: number; kind: 'gather' | 'refetch' }[];
}

/** Bags over the given inputs of a batch, keeping each lookup that `keep` maps to an id (>= 0). */
function selectBags(sparse: Bags, inputs: number[], keep: (t: number, id: number) => number): Bags {
  const out: Bags = { indices: [], offsets: [] };
  sparse.indices.forEach((idx, t) => {
    const off = sparse.offsets[t], kept: number[] = [], offsets = new Int32Array(inputs.length + 1);
    inputs.forEach((i, k) => {
      for (let p = off[i]; p < off[i + 1]; p++) {
        const id = keep(t, idx[p]);
        if (id >= 0) kept.push(id);
      }
      offsets[k + 1] = kept.length;
    });
    out.indices.push(Int32Array.from(kept));
    out.offsets.push(offsets);
  });
  return out;
}

/** Per table, the bags of a then the bags of b, as one list of bags. */
function concatBags(a: Bags, b: Bags): Bags {
  return {
    indices: a.indices.map((idx, t) => {
      const out = new Int32Array(idx.length + b.indices[t].length);
      out.set(idx);
      out.set(b.indices[t], idx.length);
      return out;
    }),
    offsets: a.offsets.map((off, t) => {
      const last = off[off.length - 1], other = b.offsets[t];
      const out = new Int32Array(off.length + other.length - 1);
      out.set(off);
      for (let i = 1; i < other.length; i++) out[off.length - 1 + i] = last + other[i];
      return out;
    }),
  };
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

  /** Splits a mini-batch by popularity and starts the engine's gather of the non-popular inputs' host rows. */
  private split(batch: Batch): Split {
    const slotOf = this.tier!.hot.slotOf, { sparse } = batch;
    const nd = this.model.arch.bottomMlp[0];
    const popularRows: number[] = [], restRows: number[] = [];
    for (let i = 0; i < batch.size; i++) {
      let popular = true;
      for (let t = 0; t < sparse.indices.length && popular; t++) {
        for (let p = sparse.offsets[t][i]; p < sparse.offsets[t][i + 1] && popular; p++) popular = slotOf[t][sparse.indices[t][p]] >= 0;
      }
      (popular ? popularRows : restRows).push(i);
    }
    const microBatch = (rows: number[], bags: Bags): Batch | null => {
      if (rows.length === 0) return null;
      const n = rows.length, dense = new Float32Array(n * nd), labels = new Float32Array(n);
      rows.forEach((i, k) => {
        dense.set(batch.dense.subarray(i * nd, (i + 1) * nd), k * nd);
        labels[k] = batch.labels[i];
      });
      return { size: n, dense, labels, sparse: bags };
    };
    const restFast = selectBags(sparse, restRows, (t, id) => slotOf[t][id]);
    const restHost = selectBags(sparse, restRows, (t, id) => (slotOf[t][id] >= 0 ? -1 : id));
    const popular = microBatch(popularRows, selectBags(sparse, popularRows, (t, id) => slotOf[t][id]));
    const rest = microBatch(restRows, restHost);
    const buffer = this.splits++ % 2;
    const floats = this.model.featureFloats(batch.size);
    if (this.gatherBuffers[buffer].length < floats) this.gatherBuffers[buffer] = new Float32Array(floats);
    const gathered = this.gatherBuffers[buffer].subarray(0, this.model.featureFloats(restRows.length));
    const jobs: Split['jobs'] = rest ? [{ job: this.engine.gather(this.model.tables.weights, restHost, this.model.layout(rest.size), gathered), kind: 'gather' }] : [];
    this.stats.popularInputs += popularRows.length;
    this.stats.inputs += batch.size;
    return { batch, popular, rest, restFast, restHost, gathered, jobs };
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
    for (const { job, kind } of split.jobs) this.recordJob(step, job, kind);
    if (this.pendingUpdate) {
      this.recordJob(step - 1, this.pendingUpdate.job, 'update');
      this.pendingUpdate = null;
    }
    const t2 = this.engine.now();
    this.stats.waitNs += t2 - t1;
    this.mark(step, 'compute', 'wait for gather', t1, t2);
    if (this.options.pipeline && this.upcoming) this.prefetched = this.split(this.upcoming);
    const nPopular = split.popular?.size ?? 0;
    if (split.rest) {
      // The rest's popular rows come from the fast tier, current as of the last step's updates.
      const e0 = process.hrtime.bigint();
      this.kernels.embeddingForward(fast.weights, split.restFast, model.layout(split.rest.size), split.gathered, true);
      model.times?.add('embedding', process.hrtime.bigint() - e0);
      microBatch(split.rest, split.gathered, split.popular !== null, nPopular);
    }
    this.optimizer.applyDense(model);
    // Every popular row is updated in the fast tier (both micro-batches in one call, so row-wise Adagrad
    // merges a row's lookups as the baseline does); the rest's host rows through the engine.
    const e1 = process.hrtime.bigint();
    const fastBags = split.popular ? concatBags(split.popular.sparse, split.restFast) : split.restFast;
    this.optimizer.applyEmbedding(fast, fastBags, model.layout(n), grads);
    tier.markFastUpdates(fastBags);
    model.times?.add('embedding', process.hrtime.bigint() - e1);
    if (split.rest) {
      const restGrads = grads.subarray(nPopular * per);
      const job = this.engine.update(model.tables.weights, split.restHost, model.layout(split.rest.size), restGrads, this.optimizer.sparseUpdate(model.tables));
      this.pendingUpdate = { job, reads: [split.restHost, restGrads] };
    }
    const next = this.prefetched;
    if (next?.rest && split.rest) {
      const job = this.engine.refetch(model.tables.weights, next.restHost, model.layout(next.rest.size), next.gathered, split.restHost.indices);
      next.jobs.push({ job, kind: 'refetch' });
    }
    this.mark(step, 'compute', 'non-popular micro-batch and updates', t2, this.engine.now());
    return loss / n;
  }

  private recordJob(step: number, job: number, kind: 'gather' | 'refetch' | 'update'): void {
    const r = this.engine.wait(job);
    if (kind !== 'update') this.stats.gatherNs += r.endNs - r.startNs;
    this.stats.refetchedBags += r.count;
    this.mark(step, 'engine', kind, r.startNs, r.endNs);
  }

  private mark(step: number, lane: TimelineEvent['lane'], phase: string, startNs: number, endNs: number): void {
    if (this.timeline.length < timelineEvents) this.timeline.push({ step, lane, phase, startNs, endNs });
  }

  private discardPrefetch(): void {
    if (this.prefetched) for (const { job } of this.prefetched.jobs) this.engine.wait(job);
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

