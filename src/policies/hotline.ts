/**
 * Hotline (Adnan et al., ISCA 2024; no public code, so the design here is ours within what the paper states): popular
 * rows are learned at run time over the first mini-batches; then every mini-batch is fragmented into popular inputs
 * (every lookup in the fast tier) and non-popular ones. The host lane pools the non-popular inputs' rows while the
 * compute threads run the bottom MLP and pool every fast-tier row; host updates go back through the lane (the
 * pipeline, src/pipeline/). One optimizer step per mini-batch keeps the baseline's order.
 *
 * Where this departs from the paper's picture: the dense layers run once over the whole mini-batch rather than once
 * per micro-batch. Two passes sum the dense gradients in another order than the baseline, and training amplifies that
 * rounding (an epoch moved test AUC by 5.6e-4); one pass in the baseline's order is bit-identical to it on one-hot
 * data, and a full-size GEMM runs faster on a CPU than two smaller ones.
 *
 * With the tables on the SSD and a host budget, the learned ranking fills three tiers: the popular rows in the fast
 * tier, the next ones in host memory (pooled on the host lane), the rest on the SSD, whose rows are read ahead of the
 * step that needs them.
 */
import { tableRowsOf } from '../model/model.ts';
import { type Batch, type BatchSource, selectInputs } from '../data/batch.ts';
import type { Placement } from '../embedding/placement.ts';
import { restorePlacement, savePlacement } from '../embedding/placement-state.ts';
import { planPlacement } from '../embedding/planner.ts';
import { inputIds, type Jagged } from '../tensor/jagged.ts';
import { readAhead } from '../pipeline/read-ahead.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import { TierSync } from '../embedding/tier-sync.ts';
import type { Lane } from '../io/lane.ts';
import { Pipeline, type PipelineStats, type Split } from '../pipeline/pipeline.ts';
import type { TimelineEvent } from '../pipeline/timeline.ts';
import { AccessLearner } from '../popularity/learner.ts';
import { rankRows } from '../popularity/profiler.ts';
import type { RowChangeMeter } from '../popularity/staleness.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';
import type { Policy, PolicyContext, PolicyEvents, PolicyState, StepResult } from './policy.ts';
import { Slipstream, stalenessFor, type StalenessOptions } from './slipstream.ts';
import { Stepper } from '../pipeline/step.ts';
import { changeMeter, fastTier, homeTier, hostTier, placedBudgets } from './tiers.ts';

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

/** A mini-batch's inputs that Slipstream left out, and the fast-tier slots of the popular inputs kept (counted when
 *  the split is trained: a prefetched split may be discarded and formed again). */
interface Kept {
  skippedInputs: number;
  popularSlots: Int32Array[];
}

/** Everything a checkpoint keeps of Hotline as JSON (placement, learner and Slipstream's arrays go as tensors). */
interface HotlineState {
  steps: number;
  /** Fragmented steps this epoch (Slipstream's clock). */
  fragmentedSteps: number;
  skipped: number;
  relearns: number;
  migratedRows: number;
}

export class HotlinePolicy implements Policy {
  get name(): string {
    return this.slipstream ? 'hotline+slipstream' : 'hotline';
  }
  events: PolicyEvents = () => {};
  private readonly learner: AccessLearner;
  private readonly lane: Lane;
  private readonly home: EmbeddingTier;
  private readonly stepper: Stepper;
  private readonly pipeline: Pipeline;
  private readonly slipstream: Slipstream | null;
  private placement: Placement | null = null;
  private fast: EmbeddingTier | null = null;
  /** Slipstream's meter of the fast tier's rows. */
  private meter: RowChangeMeter | null = null;
  /** Per placed tier (the fast one, then host memory in front of an SSD), its sync with the home tier. */
  private syncs: TierSync[] = [];
  private upcoming: Batch | null = null;
  private readonly kept = new WeakMap<Split, Kept>();
  /** The home tables inline, for the learning steps (trained as the baseline). */
  private readonly inlineHome: EmbeddingTier;
  private s: HotlineState = { steps: 0, fragmentedSteps: 0, skipped: 0, relearns: 0, migratedRows: 0 };

  constructor(private readonly ctx: PolicyContext, private readonly options: HotlineOptions) {
    const { model, optimizer, device } = ctx, { kernels } = device;
    this.learner = new AccessLearner(tableRowsOf(model), options.learnSamplingRate, options.seed);
    this.lane = device.lane('host');
    this.home = homeTier(ctx, this.lane);
    this.inlineHome = homeTier(ctx);
    this.stepper = new Stepper(model, optimizer);
    this.pipeline = new Pipeline(kernels, model, optimizer, this.lane, options.pipeline);
    this.slipstream = options.staleness
      ? new Slipstream(stalenessFor(options.staleness, model), () => this.meter!, options.seed)
      : null;
  }

  batchesPerEpoch(source: BatchSource): number {
    return source.batchesPerEpoch;
  }

  *schedule(source: BatchSource, epoch: number, fromStep: number): Iterable<Batch> {
    const ahead = readAhead(source.batches(epoch, fromStep), this.ctx.home.readAhead, (batch) => this.home.prefetch?.(this.homeIds(this.ctx.model.sparse.bags(batch.sparse))));
    const it = ahead[Symbol.iterator]();
    let current = it.next();
    if (fromStep === 0) {
      this.s.fragmentedSteps = 0;
      const steps = source.batchesPerEpoch; // the epoch's inputs: an upper bound of its popular ones
      if (!current.done) this.slipstream?.startEpoch(steps, steps * current.value.size);
    }
    while (!current.done) {
      const next = it.next();
      this.upcoming = next.done ? null : next.value;
      yield current.value;
      current = next;
    }
  }

  /** A batch's lookups of the home tier (all of them until the placement is chosen). */
  private homeIds(ids: Jagged): Jagged {
    return this.placement ? this.placement.split(this.ctx.device.kernels, ids).at(-1)! : ids;
  }

  get hotRows(): number {
    return this.placement?.rowsIn(0) ?? 0;
  }

  step(batch: Batch): StepResult {
    const s = this.s, relearn = this.options.relearnEvery > 0;
    s.steps++;
    if (!this.placement || relearn) this.learner.observe(batch);
    if (!this.placement) {
      // Until the popular rows are known every lookup goes to the home tables, inline: the baseline's step.
      const loss = this.stepper.on(batch, this.inlineHome);
      if (s.steps >= this.options.learnBatches) this.choosePlacement();
      return { samples: batch.size, loss };
    }
    if (relearn && s.steps % this.options.relearnEvery === 0) this.choosePlacement();
    return { samples: batch.size, loss: this.fragmentedStep(batch) };
  }

  /** (Re)builds the fast tier from the learner's counts; rows move between tiers through the home tables. */
  private choosePlacement(): void {
    this.pipeline.drain();
    const old = this.placement;
    if (old) {
      for (const sync of this.syncs) sync.storeToHome();
      this.s.relearns++;
      this.slipstream?.restartWindow(this.s.fragmentedSteps);
    }
    const profile = this.learner.profile(old ? { slotOf: old.slotOf, fastSlots: old.rowsIn(0), bonus: this.options.hysteresis } : undefined);
    this.s.migratedRows += this.usePlacement(planPlacement(profile, rankRows(profile), placedBudgets(this.ctx, this.options.budgetBytes)));
    if (old) this.learner.decay();
    this.events('hot-set', { hotRows: this.hotRows, hotBytes: this.fast!.bytes, learnedInputs: this.learner.observedInputs, relearn: old !== null });
  }

  /** The placed tiers for the placement (the fast one, and host memory when the store keeps some), loaded from the
   *  home tables; returns the rows copied. */
  private usePlacement(placement: Placement): number {
    this.placement = placement;
    this.fast?.release?.();
    this.fast = fastTier(this.ctx, placement, 0);
    this.meter = changeMeter(this.fast, placement, 0);
    const placed = [this.fast, ...(placement.tiers > 2 ? [hostTier(this.ctx, placement, 1, this.lane)] : [])];
    this.syncs = placed.map((tier, k) => new TierSync(this.ctx.device.kernels, placement, k, tier, this.home, this.ctx.optimizer.rowState !== null));
    this.pipeline.place(placement, [...placed, this.home]);
    return this.syncs.reduce((n, sync) => n + sync.loadFromHome(), 0);
  }

  /** The split of a scheduled mini-batch, without the popular inputs Slipstream skips. */
  private split(source: Batch): Split {
    const kept = this.slipstream ? this.dropStale(source) : { batch: source, skippedInputs: 0, popularSlots: [] };
    const split = this.pipeline.split(source, kept.batch);
    this.kept.set(split, kept);
    return split;
  }

  private dropStale(batch: Batch): Kept & { batch: Batch } {
    const slotOf = this.placement!.slotOf, fastRows = this.placement!.rowsIn(0), { offsets, tables } = batch.sparse, n = batch.size;
    const keep: number[] = [], popularSlots: Int32Array[] = [];
    let skippedInputs = 0;
    for (let i = 0; i < n; i++) {
      // Popular: every lookup of the input (each table's bag, a TBSM input's whole history) in the fast tier.
      const slots = inputIds(batch.sparse, i);
      let popular = slots.length > 0;
      for (let t = 0, p = 0; t < tables && popular; t++) {
        for (const end = p + offsets[t * n + i + 1] - offsets[t * n + i]; p < end && popular; p++) popular = (slots[p] = slotOf[t][slots[p]]) >= 0 && slots[p] < fastRows;
      }
      if (popular && this.slipstream!.skips(slots)) {
        skippedInputs++;
        continue;
      }
      if (popular) popularSlots.push(slots);
      keep.push(i);
    }
    return { batch: keep.length === n ? batch : selectInputs(batch, keep), skippedInputs, popularSlots };
  }

  private fragmentedStep(scheduled: Batch): number {
    const split = this.pipeline.takePrefetched(scheduled) ?? this.split(scheduled), kept = this.kept.get(split)!;
    this.s.skipped += kept.skippedInputs;
    const k = this.s.fragmentedSteps++;
    if (split.batch.size > 0) this.slipstream?.beforeHotStep(k);
    const upcoming = this.upcoming;
    const loss = this.pipeline.step(split, upcoming ? () => this.split(upcoming) : null);
    if (split.batch.size === 0) return 0;
    this.syncs.forEach((sync, k) => sync.markPlacedUpdates(split.ids[k]));
    if (this.slipstream) {
      if (this.slipstream.sampling) for (const slots of kept.popularSlots) this.slipstream.observe(slots);
      if (this.slipstream.decisionDue(k)) {
        this.pipeline.drain(); // the fast tier's snapshot must include this step's updates
        const decision = this.slipstream.afterHotStep(k);
        if (decision) this.events('staleness-decision', { ...decision });
      }
    }
    return loss;
  }

  settle(): void {
    this.pipeline.drain();
    for (const sync of this.syncs) sync.storeToHome();
  }

  /** After settle the home tables hold every row, so the fast tier is rebuilt from them and the placement. */
  saveState(): PolicyState {
    const tensors = new Map<string, TensorArray>();
    if (this.placement) savePlacement(this.placement, tensors);
    const learning = !this.placement || this.options.relearnEvery > 0;
    const learner = learning ? this.learner.saveState(tensors, 'learner.') : null;
    const slipstream = this.slipstream?.saveState(tensors, 'staleness.');
    return {
      json: { ...structuredClone(this.s), pipeline: this.pipeline.stats, timeline: this.pipeline.timeline.events, learner, slipstream, placed: this.placement !== null },
      tensors,
    };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader): void {
    const { pipeline, timeline, learner, slipstream, placed, ...state } = json as unknown as HotlineState & {
      pipeline: PipelineStats; timeline: TimelineEvent[]; learner: Record<string, unknown> | null; slipstream: Record<string, unknown>; placed: boolean;
    };
    this.s = state;
    this.pipeline.stats = pipeline;
    this.pipeline.timeline.restore(timeline);
    if (learner) this.learner.restoreState(learner, tensors, 'learner.');
    if (placed) this.usePlacement(restorePlacement(tensors, tableRowsOf(this.ctx.model)));
    this.slipstream?.restoreState(slipstream, tensors, 'staleness.');
  }

  counters(): Record<string, number> {
    return { popularInputs: this.pipeline.stats.fastInputs, ...(this.slipstream && { skippedInputs: this.s.skipped }) };
  }

  report(): Record<string, unknown> {
    const { inputs, fastInputs, repooledBags, laneNs, waitNs } = this.pipeline.stats;
    return {
      hotRows: this.hotRows, hotBytes: this.fast?.bytes ?? 0, budgetBytes: this.options.budgetBytes,
      ...(this.placement && this.placement.tiers > 2 && { hostRows: this.placement.rowsIn(1) }),
      popularInputShare: inputs ? fastInputs / inputs : 0, gatherSeconds: laneNs / 1e9, waitSeconds: waitNs / 1e9,
      hiddenGatherShare: laneNs > 0 ? Math.max(0, 1 - waitNs / laneNs) : 0, pipeline: this.options.pipeline,
      popularInputs: fastInputs, inputs, refetchedBags: repooledBags, relearns: this.s.relearns, migratedRows: this.s.migratedRows,
      ...(this.slipstream && {
        skippedInputs: this.s.skipped, skippedShare: this.s.skipped / Math.max(1, this.s.skipped + inputs),
        stalenessDecisions: this.slipstream.decisions, stalenessOverheadSeconds: this.slipstream.overheadSeconds,
      }),
    };
  }

  describe(): string[] {
    return [];
  }

  summary(trainSeconds: number): string[] {
    const r = this.report();
    return [
      ...(this.slipstream?.summary(this.s.skipped, trainSeconds) ?? []),
      `hotline: ${(100 * Number(r.popularInputShare)).toFixed(1)}% of inputs popular, ${(100 * Number(r.hiddenGatherShare)).toFixed(0)}% of ` +
        `the gather time hidden behind compute, ${Number(r.refetchedBags).toLocaleString('en-US')} bags refetched`,
    ];
  }

  timeline(): readonly TimelineEvent[] {
    return this.pipeline.timeline.events;
  }
}
