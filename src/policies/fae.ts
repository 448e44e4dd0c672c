/**
 * FAE (Adnan et al., VLDB 2022): profile a sample of the training inputs, keep the hottest rows that fit
 * the budget in the fast tier, split the inputs into all-hot and cold ones, and train pure hot mini-batches
 * from the fast tier and cold ones from the host tables, syncing the changed hot rows at every switch.
 *
 * Schedules:
 *  - 'cold-then-hot': the released code's order, every cold mini-batch of the epoch, then every hot one.
 *  - 'adaptive' (our design of the paper's shuffle scheduler, whose rule is not public): blocks of hot and
 *    cold mini-batches alternate so both classes advance through the epoch at the same pace (the model
 *    never sees a long run of one class); the block length adapts to drift: when the first cold batch
 *    after a hot block has a loss above the cold batches' running mean by more than `driftTolerance`,
 *    the hot block moved the model away from the cold inputs and blocks halve (switch more often);
 *    otherwise they double, up to `maxBlock`, since every switch costs a sync of the changed hot rows.
 */
import type { Batch } from '../data/batch.ts';
import { batchesOf, type Dataset, selectRows } from '../data/dataset.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Dlrm } from '../model/dlrm.ts';
import { bceWithLogits } from '../model/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { classifyInputs, type HotQuota, type HotSet, selectHotSet, bytesPerHotRow } from '../popularity/hot-set.ts';
import { profileAccesses, rankRows } from '../popularity/profiler.ts';
import { FastTier } from '../tiers/fast-tier.ts';
import type { DatasetSource } from '../train/sources.ts';
import { Rng } from '../util/rng.ts';
import type { Policy } from './policy.ts';
import { type StalenessOptions, StalenessTracker } from './staleness-tracker.ts';

export type FaeSchedule = 'adaptive' | 'cold-then-hot';

export interface FaeOptions {
  budgetBytes: number;
  samplingRate: number;
  quota: HotQuota;
  schedule: FaeSchedule;
  seed: number;
  initialBlock?: number;
  maxBlock?: number;
  driftTolerance?: number;
  /** Slipstream: skip hot inputs whose lookups went stale. */
  staleness?: StalenessOptions;
}

export class FaePolicy implements Policy {
  get name(): string {
    return this.staleness ? 'slipstream' : 'fae';
  }
  readonly hotSet: HotSet;
  readonly fastTier: FastTier;
  readonly hotInputs: Int32Array;
  readonly coldInputs: Int32Array;
  private readonly hotData: Dataset;
  private readonly hotIndexOf: Int32Array;
  private onFast = false;
  private dLogits = new Float32Array(0);
  private block: number;
  private coldLossMean = NaN;
  private afterHotBlock = false;
  private readonly stats = { profileSeconds: 0, syncs: 0, rowsSynced: 0, blocks: 0 };
  /** Slipstream on FAE: skips hot inputs whose rows went stale (null: plain FAE). */
  private readonly staleness: StalenessTracker | null;
  private hotOrder = new Int32Array(0);
  private hotPosition = 0;
  private hotStep = 0;
  /** Rows (of the training set) skipped as stale, in order. */
  readonly skipped: number[] = [];

  constructor(
    private readonly model: Dlrm, private readonly optimizer: Optimizer, kernels: Kernels,
    private readonly source: DatasetSource, private readonly options: FaeOptions,
  ) {
    const started = process.hrtime.bigint();
    const data = source.data;
    const profile = profileAccesses(data, options.samplingRate, options.seed);
    const rowWise = optimizer.config.name === 'adagrad';
    const bytesPerRow = bytesPerHotRow(model.arch.embeddingDim, rowWise ? 1 : 0);
    this.hotSet = selectHotSet(profile, rankRows(profile), bytesPerRow, options.budgetBytes, options.quota);
    const split = classifyInputs(data.categorical, data.rows, this.hotSet);
    this.hotInputs = split.hot;
    this.coldInputs = split.cold;
    this.hotData = remapHotInputs(data, split.hot, this.hotSet);
    this.hotIndexOf = new Int32Array(data.rows).fill(-1);
    split.hot.forEach((row, i) => (this.hotIndexOf[row] = i));
    this.fastTier = new FastTier(
      kernels, this.hotSet, model.arch.embeddingDim, data.categorical.length,
      rowWise ? { initial: optimizer.config.initialAccumulator } : null,
    );
    this.block = options.initialBlock ?? 16;
    this.staleness = options.staleness ? new StalenessTracker(options.staleness, () => this.fastTier, model.arch.embeddingDim) : null;
    this.stats.profileSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  }

  batchesPerEpoch(): number {
    const b = this.source.batchSize;
    return Math.ceil(this.hotInputs.length / b) + Math.ceil(this.coldInputs.length / b);
  }

  *schedule(_source: unknown, epoch: number): Iterable<Batch> {
    const { data, batchSize, shuffle, seed } = this.source;
    const order = shuffle ? new Rng(seed, 1000 + epoch).permutation(data.rows) : Int32Array.from({ length: data.rows }, (_, i) => i);
    const hotOrder = new Int32Array(this.hotInputs.length), coldOrder = new Int32Array(this.coldInputs.length);
    let h = 0, c = 0;
    for (const row of order) {
      if (this.hotIndexOf[row] >= 0) hotOrder[h++] = this.hotIndexOf[row];
      else coldOrder[c++] = row;
    }
    this.hotOrder = hotOrder;
    this.hotPosition = 0;
    this.hotStep = 0;
    this.staleness?.startEpoch(Math.ceil(hotOrder.length / batchSize));
    const hot = this.hotBatches();
    const cold = batchesOf(data, batchSize, coldOrder);
    if (this.options.schedule === 'cold-then-hot') {
      yield* cold;
      yield* hot;
      return;
    }
    // Blocks alternate so that both classes advance through the epoch at the same pace (shares of inputs).
    let nextHot = hot.next(), nextCold = cold.next(), coldSeen = 0;
    while (!nextHot.done || !nextCold.done) {
      const takeHot = nextCold.done || (!nextHot.done && this.hotPosition / hotOrder.length <= coldSeen / coldOrder.length);
      this.stats.blocks++;
      for (let k = 0; k < this.block; k++) {
        if (takeHot) {
          if (nextHot.done) break;
          yield nextHot.value;
          nextHot = hot.next();
        } else {
          if (nextCold.done) break;
          coldSeen += nextCold.value.size;
          yield nextCold.value;
          nextCold = cold.next();
        }
      }
    }
  }

  /** Hot mini-batches in epoch order, formed as they are needed, leaving out the inputs staleness skips. */
  private *hotBatches(): Generator<Batch> {
    const { batchSize } = this.source, order = this.hotOrder;
    const slots = new Int32Array(this.hotData.categorical.length);
    while (this.hotPosition < order.length) {
      const chosen: number[] = [];
      while (chosen.length < batchSize && this.hotPosition < order.length) {
        const i = order[this.hotPosition++];
        if (this.staleness) {
          this.hotData.categorical.forEach((column, t) => (slots[t] = column[i]));
          if (this.staleness.skips(slots)) {
            this.skipped.push(this.hotInputs[i]);
            continue;
          }
        }
        chosen.push(i);
      }
      if (chosen.length > 0) for (const b of batchesOf(this.hotData, batchSize, Int32Array.from(chosen))) yield { ...b, hot: true };
    }
  }

  step(batch: Batch): number {
    this.useFastTier(batch.hot === true);
    if (batch.hot) this.staleness?.beforeHotStep(this.hotStep);
    if (this.dLogits.length < batch.size) this.dLogits = new Float32Array(batch.size);
    const store = batch.hot ? this.fastTier.store() : this.model.tables;
    const loss = bceWithLogits(this.model.forward(batch, store), batch.labels, batch.size, this.dLogits);
    this.optimizer.backwardAndStep(this.model, this.dLogits, batch, store);
    if (batch.hot) {
      this.fastTier.markFastUpdates(batch.sparse);
      this.afterHotBlock = true;
      if (this.staleness?.afterHotStep(this.hotStep)) this.decideStaleness();
      this.hotStep++;
    } else {
      this.fastTier.markHostUpdates(batch.sparse);
      this.adaptBlock(loss);
    }
    return loss;
  }

  /** Samples the hot inputs still to come this epoch (with replacement, as the authors' code) and decides. */
  private decideStaleness(): void {
    const tracker = this.staleness!, t0 = process.hrtime.bigint();
    const remaining = this.hotOrder.length - this.hotPosition;
    const o = tracker.options, count = Math.min(remaining, Math.max(o.minSamples, Math.round(o.sampleRate * this.hotOrder.length)));
    const rng = new Rng(this.options.seed, 9000 + this.hotStep);
    const samples = Array.from({ length: count }, () => {
      const i = this.hotOrder[this.hotPosition + rng.int(remaining)];
      return Int32Array.from(this.hotData.categorical, (column) => column[i]);
    });
    tracker.addOverhead(process.hrtime.bigint() - t0);
    tracker.decide(this.hotStep, samples);
  }

  private adaptBlock(coldLoss: number): void {
    if (this.afterHotBlock && Number.isFinite(this.coldLossMean)) {
      const drifted = coldLoss > this.coldLossMean * (1 + (this.options.driftTolerance ?? 0.02));
      this.block = drifted ? Math.max(1, this.block >> 1) : Math.min(this.options.maxBlock ?? 256, this.block * 2);
    }
    this.afterHotBlock = false;
    this.coldLossMean = Number.isFinite(this.coldLossMean) ? 0.9 * this.coldLossMean + 0.1 * coldLoss : coldLoss;
  }

  /** Switches the hot rows' current copy to the fast tier or back to the host tables. */
  private useFastTier(fast: boolean): void {
    if (fast === this.onFast) return;
    const started = process.hrtime.bigint();
    this.stats.rowsSynced += fast ? this.fastTier.loadFromHost(this.model.tables) : this.fastTier.storeToHost(this.model.tables);
    this.stats.syncs++;
    this.onFast = fast;
    this.model.times?.add('sync', process.hrtime.bigint() - started);
  }

  beforeEvaluation(): void {
    this.useFastTier(false);
  }

  report(): Record<string, unknown> {
    const inputs = this.hotInputs.length + this.coldInputs.length;
    return {
      hotRows: this.hotSet.size, hotBytes: this.fastTier.bytes, budgetBytes: this.hotSet.budgetBytes,
      hotInputs: this.hotInputs.length, hotInputShare: this.hotInputs.length / inputs, schedule: this.options.schedule,
      finalBlock: this.block, ...this.stats,
      ...(this.staleness && {
        skippedInputs: this.skipped.length, skippedShare: this.skipped.length / Math.max(1, this.hotInputs.length),
        stalenessDecisions: this.staleness.decisions, stalenessOverheadSeconds: this.staleness.overheadSeconds,
      }),
    };
  }
}

/** The hot inputs as their own dataset, ids rewritten to fast-tier slots (FAE's train_hot). */
function remapHotInputs(data: Dataset, hotRows: Int32Array, hot: HotSet): Dataset {
  const rows = selectRows(data, hotRows);
  rows.categorical.forEach((column, t) => column.forEach((id, i) => (column[i] = hot.slotOf[t][id])));
  return { ...rows, tableRows: data.categorical.map(() => hot.size) };
}
