/**
 * Hotline (Adnan et al., ISCA 2024; no public code, so the design here is ours within what the paper states):
 * popular rows are learned at run time over the first mini-batches; then every mini-batch is fragmented into
 * popular inputs (every lookup in the fast tier) and non-popular ones. The gather engine pools the
 * non-popular inputs' host rows while the compute threads run the bottom MLP and pool every fast-tier row;
 * host updates go back through the engine. One optimizer step per mini-batch keeps the baseline's order.
 *
 * Where this departs from the paper's picture: the dense layers run once over the whole mini-batch rather
 * than once per micro-batch. Two passes sum the dense gradients in another order than the baseline, and
 * training amplifies that rounding (an epoch moved test AUC by 5.6e-4); one pass in the baseline's order is
 * bit-identical to it on one-hot data, and a full-size GEMM runs faster on a CPU than two smaller ones.
 *
 * Pipelining: with `pipeline`, the next mini-batch's gather starts as soon as this one's is consumed, before
 * this step's updates land. Those reads may be stale (read-after-write), so after the updates the engine
 * refetches every bag that read a host row this step updated; the FIFO engine orders gather(i+1) ->
 * update(i) -> refetch(i+1), and step i+1 waits for the refetch.
 */
import type { Batch } from '../data/batch.ts';
import type { Lane } from '../io/lane.ts';
import type { Bags, Kernels } from '../kernels/kernels.ts';
import type { Dlrm } from '../model/dlrm.ts';
import { bceWithLogits } from '../model/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { bytesPerHotRow, type HotSet, selectHotSet } from '../popularity/hot-set.ts';
import { restoreHotSet, type SavedHotSet, saveHotSet } from './hot-set-state.ts';
import { AccessLearner } from '../popularity/learner.ts';
import { rankRows } from '../popularity/profiler.ts';
import { FastTier } from '../tiers/fast-tier.ts';
import type { Policy, PolicyEvents, PolicyState } from './policy.ts';
import type { BatchSource } from '../data/batch.ts';
import { type StalenessOptions, StalenessTracker } from './staleness-tracker.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

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
  /** Slipstream on Hotline: skip popular inputs whose rows went stale. */
  staleness?: StalenessOptions;
}

/** One phase of one step on the compute threads or the gather engine, on the monotonic clock. */
export interface TimelineEvent {
  step: number;
  lane: 'compute' | 'engine';
  phase: string;
  startNs: number;
  endNs: number;
}

/** Popular inputs kept for the staleness threshold search (the latest ones: Hotline looks no further ahead). */
const recentPopularInputs = 2000;

/** The timeline keeps the first steps' events (enough to see the pipeline; a long run's would not fit). */
const timelineEvents = 4000;

interface Split {
  /** The mini-batch as scheduled, and as trained (without the inputs staleness skips). */
  source: Batch;
  batch: Batch;
  /** Inputs whose every lookup is in the fast tier; popular inputs left out as stale, and the slots of those kept. */
  popularInputs: number;
  skippedInputs: number;
  popularSlots: Int32Array[];
  /** Every input's lookups, in batch order: those in the fast tier (as slots) and the rest (host ids). */
  fast: Bags;
  host: Bags;
  /** [n x F x dim]: the engine pools the host rows into the table slots (zeros where a bag has none). */
  gathered: Float32Array;
  jobs: { job: number; kind: 'gather' | 'refetch' }[];
}

/** The given inputs of a batch, in order (bags of any size). */
function selectInputs(batch: Batch, inputs: number[]): Batch {
  const nd = batch.dense.length / batch.size, n = inputs.length;
  const dense = new Float32Array(n * nd), labels = new Float32Array(n);
  inputs.forEach((i, k) => {
    dense.set(batch.dense.subarray(i * nd, (i + 1) * nd), k * nd);
    labels[k] = batch.labels[i];
  });
  const offsets = batch.sparse.offsets.map((off) => {
    const out = new Int32Array(n + 1);
    inputs.forEach((i, k) => (out[k + 1] = out[k] + off[i + 1] - off[i]));
    return out;
  });
  const indices = batch.sparse.indices.map((idx, t) => {
    const off = batch.sparse.offsets[t], out = new Int32Array(offsets[t][n]);
    inputs.forEach((i, k) => out.set(idx.subarray(off[i], off[i + 1]), offsets[t][k]));
    return out;
  });
  return { size: n, dense, labels, sparse: { indices, offsets } };
}

export class HotlinePolicy implements Policy {
  private readonly staleness: StalenessTracker | null;
  /** The latest popular inputs (slot lists), sampled for the staleness threshold search. */
  private readonly recentPopular: Int32Array[] = [];
  private fragmentedSteps = 0;
  private skipped = 0;
  private popularSeen = 0;
  events: PolicyEvents = () => {};

  get name(): string {
    return this.staleness ? 'hotline+slipstream' : 'hotline';
  }
  private readonly learner: AccessLearner;
  private readonly engine: Lane;
  private tier: FastTier | null = null;
  private steps = 0;
  private upcoming: Batch | null = null;
  private prefetched: Split | null = null;
  /** The engine's write-back of the last step, with the arrays it reads (kept alive until it ran). */
  private pendingUpdate: { job: number; reads: unknown[] } | null = null;
  private readonly gradBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  private readonly gatherBuffers: Float32Array[] = [new Float32Array(0), new Float32Array(0)];
  private fastPooled = new Float32Array(0);
  private splits = 0;
  private dLogits = new Float32Array(0);
  readonly timeline: TimelineEvent[] = [];
  private stats = { popularInputs: 0, inputs: 0, refetchedBags: 0, gatherNs: 0, waitNs: 0, relearns: 0, migratedRows: 0 };

  constructor(
    private readonly model: Dlrm, private readonly optimizer: Optimizer, private readonly kernels: Kernels,
    private readonly options: HotlineOptions,
  ) {
    this.learner = new AccessLearner(model.arch.tableRows, options.learnSamplingRate, options.seed);
    this.engine = kernels.lane('host');
    this.staleness = options.staleness ? new StalenessTracker(options.staleness, () => this.tier!, model.arch.embeddingDim) : null;
  }

  batchesPerEpoch(source: BatchSource): number {
    return source.batchesPerEpoch;
  }

  *schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch> {
    if (fromStep === 0) {
      this.fragmentedSteps = 0;
      this.staleness?.startEpoch(source.batchesPerEpoch);
    }
    const it = source.batches(epoch, fromStep)[Symbol.iterator]();
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
    const profile = this.learner.profile(old ? { slotOf: old.hot.slotOf, bonus: this.options.hysteresis } : undefined);
    const hot = selectHotSet(profile, rankRows(profile), bytesPerHotRow(this.model.arch.embeddingDim, this.rowWise ? 1 : 0), this.options.budgetBytes);
    this.stats.migratedRows += this.useHotSet(hot);
    if (old) this.learner.decay();
    this.events('hot-set', { hotRows: hot.size, hotBytes: this.tier!.bytes, learnedInputs: this.learner.observedInputs, relearn: old !== null });
  }

  private get rowWise(): boolean {
    return this.optimizer.config.name === 'adagrad';
  }

  /** A fast tier for `hot`, loaded from the host tables; returns the rows copied. */
  private useHotSet(hot: HotSet): number {
    this.tier = new FastTier(
      this.kernels, hot, this.model.arch.embeddingDim, this.model.arch.tableRows.length,
      this.rowWise ? { initial: this.optimizer.config.initialAccumulator } : null,
    );
    return this.tier.loadFromHost(this.model.tables);
  }

  /** Splits a mini-batch's lookups by tier and starts the engine's gather of the host rows. */
  private split(source: Batch): Split {
    const slotOf = this.tier!.hot.slotOf;
    const { batch, skippedInputs, popularSlots } = this.staleness ? this.dropStale(source) : { batch: source, skippedInputs: 0, popularSlots: [] };
    const { sparse } = batch;
    const { fast, host } = this.kernels.partitionLookups(slotOf, sparse);
    let popularInputs = 0;
    for (let i = 0; i < batch.size; i++) popularInputs += host.offsets.every((off) => off[i + 1] === off[i]) ? 1 : 0;
    const buffer = this.splits++ % 2, floats = this.model.featureFloats(batch.size);
    if (this.gatherBuffers[buffer].length < floats) this.gatherBuffers[buffer] = new Float32Array(floats);
    const gathered = this.gatherBuffers[buffer].subarray(0, floats);
    const job = this.engine.gather(this.model.tables.weights, host, this.model.layout(batch.size), gathered);
    return { source, batch, popularInputs, skippedInputs, popularSlots, fast, host, gathered, jobs: [{ job, kind: 'gather' }] };
  }

  /** The batch without its popular inputs whose lookups are stale, and the slots of the popular inputs kept
   *  (counted when the split is trained: a prefetched split may be discarded and formed again). */
  private dropStale(batch: Batch): { batch: Batch; skippedInputs: number; popularSlots: Int32Array[] } {
    const slotOf = this.tier!.hot.slotOf, tables = batch.sparse.indices.length, keep: number[] = [], popularSlots: Int32Array[] = [];
    let skippedInputs = 0;
    for (let i = 0; i < batch.size; i++) {
      const slots = new Int32Array(tables);
      let popular = true;
      for (let t = 0; t < tables && popular; t++) {
        const off = batch.sparse.offsets[t];
        popular = off[i + 1] - off[i] === 1 && (slots[t] = slotOf[t][batch.sparse.indices[t][off[i]]]) >= 0;
      }
      if (popular && this.staleness!.skips(slots)) {
        skippedInputs++;
        continue;
      }
      if (popular) popularSlots.push(slots);
      keep.push(i);
    }
    return { batch: keep.length === batch.size ? batch : selectInputs(batch, keep), skippedInputs, popularSlots };
  }

  private fragmentedStep(scheduled: Batch): number {
    let split = this.prefetched?.source === scheduled ? this.prefetched : null;
    if (!split) {
      this.discardPrefetch();
      split = this.split(scheduled);
    }
    this.prefetched = null;
    this.stats.popularInputs += split.popularInputs;
    this.stats.inputs += split.batch.size;
    this.skipped += split.skippedInputs;
    for (const slots of split.popularSlots) this.recentPopular[this.popularSeen++ % recentPopularInputs] = slots;
    const current = split, batch = split.batch, tier = this.tier!, model = this.model, fast = tier.store();
    const n = batch.size, step = this.steps, layout = model.layout(n), k = this.fragmentedSteps++;
    if (n === 0) { // every input was skipped as stale
      for (const { job } of current.jobs) this.engine.wait(job);
      return 0;
    }
    this.staleness?.beforeHotStep(k);
    if (this.dLogits.length < n) this.dLogits = new Float32Array(n);
    const d = this.dLogits.subarray(0, n);
    const t0 = this.engine.now();
    let t1 = t0, t2 = t0;
    const logits = model.forward(batch, fast, () => {
      // The engine gathers the host rows meanwhile: pool the fast tier's rows, then wait and combine.
      const floats = model.featureFloats(n);
      if (this.fastPooled.length < floats) this.fastPooled = new Float32Array(floats);
      const pooled = this.fastPooled.subarray(0, floats);
      const e0 = process.hrtime.bigint();
      this.kernels.embeddingForward(fast.weights, current.fast, layout, pooled);
      model.times?.add('embedding', process.hrtime.bigint() - e0);
      t1 = this.engine.now();
      this.mark(step, 'compute', 'bottom MLP and fast-tier rows', t0, t1);
      for (const { job, kind } of current.jobs) this.recordJob(step, job, kind);
      if (this.pendingUpdate) {
        this.recordJob(step - 1, this.pendingUpdate.job, 'update');
        this.pendingUpdate = null;
      }
      t2 = this.engine.now();
      this.stats.waitNs += t2 - t1;
      this.mark(step, 'compute', 'wait for gather', t1, t2);
      if (this.options.pipeline && this.upcoming) this.prefetched = this.split(this.upcoming);
      const gathered = current.gathered;
      for (let i = 0; i < floats; i++) gathered[i] += pooled[i]; // each one-hot slot is filled on one side only
      return gathered;
    });
    const loss = bceWithLogits(logits, batch.labels, n, d);
    const buffer = step % 2, per = model.featureFloats(n);
    if (this.gradBuffers[buffer].length < per) this.gradBuffers[buffer] = new Float32Array(per);
    const grads = this.gradBuffers[buffer].subarray(0, per);
    if (this.optimizer.config.name === 'sgd') {
      model.backward(d, this.optimizer.config.lr);
    } else {
      model.backward(d);
      this.optimizer.applyDense(model);
    }
    grads.set(model.embeddingGrad());
    const e1 = process.hrtime.bigint();
    this.optimizer.applyEmbedding(fast, current.fast, layout, grads);
    tier.markFastUpdates(current.fast);
    model.times?.add('embedding', process.hrtime.bigint() - e1);
    const job = this.engine.update(model.tables.weights, current.host, layout, grads, this.optimizer.sparseUpdate(model.tables));
    this.pendingUpdate = { job, reads: [current.host, grads] };
    const next = this.prefetched as Split | null; // set by the forward's callback
    if (next) {
      const refetch = this.engine.refetch(model.tables.weights, next.host, model.layout(next.batch.size), next.gathered, current.host.indices);
      next.jobs.push({ job: refetch, kind: 'refetch' });
    }
    this.mark(step, 'compute', 'interaction, top MLP, backward, updates', t2, this.engine.now());
    if (this.staleness?.afterHotStep(k)) {
      this.drain(); // the fast tier's snapshot must include this step's updates
      const d = this.staleness.decide(k, this.recentPopular.slice(0, Math.max(this.staleness.options.minSamples, 1)));
      this.events('staleness-decision', { ...d });
    }
    return loss;
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

  settle(): void {
    this.drain();
    this.tier?.storeToHost(this.model.tables);
  }

  /** After settle the host tables hold every row, so the fast tier is rebuilt from them and the hot set. */
  saveState(): PolicyState {
    const tensors = new Map<string, TensorArray>();
    const hotSet = this.tier ? saveHotSet(this.tier.hot, tensors) : null;
    const learning = !this.tier || this.options.relearnEvery > 0;
    const learner = learning ? this.learner.saveState(tensors, 'learner.') : null;
    const recent = this.recentPopular.length;
    if (recent > 0) {
      const flat = new Int32Array(recent * this.recentPopular[0].length);
      this.recentPopular.forEach((slots, i) => flat.set(slots, i * slots.length));
      tensors.set('recentPopular', flat);
    }
    const staleness = this.staleness?.saveState(tensors, 'staleness.');
    const { steps, fragmentedSteps, skipped, popularSeen, stats, timeline } = this;
    return {
      json: {
        steps, fragmentedSteps, skipped, popularSeen, recentPopular: recent, stats, timeline, learner, staleness,
        hotSet,
      },
      tensors,
    };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader): void {
    this.steps = json.steps as number;
    this.fragmentedSteps = json.fragmentedSteps as number;
    this.skipped = json.skipped as number;
    this.popularSeen = json.popularSeen as number;
    this.stats = json.stats as HotlinePolicy['stats'];
    this.timeline.splice(0, this.timeline.length, ...(json.timeline as TimelineEvent[]));
    if (json.learner) this.learner.restoreState(json.learner as Record<string, unknown>, tensors, 'learner.');
    if (json.hotSet) this.useHotSet(restoreHotSet(json.hotSet as SavedHotSet, tensors, this.model.arch.tableRows));
    const recent = json.recentPopular as number;
    if (recent > 0) {
      const flat = tensors.read('recentPopular') as Int32Array, width = flat.length / recent;
      this.recentPopular.splice(0, this.recentPopular.length, ...Array.from({ length: recent }, (_, i) => flat.slice(i * width, (i + 1) * width)));
    }
    if (this.staleness) this.staleness.restoreState(json.staleness as Record<string, unknown>, tensors, 'staleness.');
  }

  counters(): Record<string, number> {
    return { popularInputs: this.stats.popularInputs, ...(this.staleness && { skippedInputs: this.skipped }) };
  }

  report(): Record<string, unknown> {
    const { gatherNs, waitNs, ...rest } = this.stats;
    return {
      hotRows: this.tier?.hot.size ?? 0, hotBytes: this.tier?.bytes ?? 0, budgetBytes: this.options.budgetBytes,
      popularInputShare: rest.inputs ? rest.popularInputs / rest.inputs : 0, gatherSeconds: gatherNs / 1e9, waitSeconds: waitNs / 1e9,
      hiddenGatherShare: gatherNs > 0 ? Math.max(0, 1 - waitNs / gatherNs) : 0, pipeline: this.options.pipeline, ...rest,
      ...(this.staleness && {
        skippedInputs: this.skipped, skippedShare: this.skipped / Math.max(1, this.skipped + rest.inputs),
        stalenessDecisions: this.staleness.decisions, stalenessOverheadSeconds: this.staleness.overheadSeconds,
      }),
    };
  }
}

