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
import { batchesOf, type Dataset, requireOneHot, selectRows } from '../data/dataset.ts';
import type { Kernels } from '../kernels/kernels.ts';
import type { Dlrm } from '../model/dlrm.ts';
import { bceWithLogits } from '../model/loss.ts';
import type { Optimizer } from '../optim/optimizer.ts';
import { bytesPerHotRow, classifyInputs, type HotQuota, type HotSet, selectHotSet } from '../popularity/hot-set.ts';
import { restoreHotSet, type SavedHotSet, saveHotSet } from './hot-set-state.ts';
import { profileAccesses, rankRows } from '../popularity/profiler.ts';
import { FastTier } from '../tiers/fast-tier.ts';
import type { DatasetSource } from '../train/sources.ts';
import { Rng } from '../util/rng.ts';
import type { Policy, PolicyEvents, PolicyState } from './policy.ts';
import { type StalenessOptions, StalenessTracker } from './staleness-tracker.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

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

/** Where an epoch's schedule stands: saved in checkpoints, so a resumed run continues the same schedule. */
interface ScheduleCursor {
  /** Next position in the epoch's hot order (inputs taken or skipped before it), cold batches taken, cold inputs taken. */
  hotPosition: number;
  coldBatches: number;
  coldSeen: number;
  /** The current block's class and the batches it has yielded. */
  takeHot: boolean;
  inBlock: number;
  /** Hot mini-batches trained this epoch (Slipstream's clock), and mini-batches of either class yielded. */
  hotStep: number;
  batches: number;
}

const freshCursor = (): ScheduleCursor => ({ hotPosition: 0, coldBatches: 0, coldSeen: 0, takeHot: false, inBlock: 0, hotStep: 0, batches: 0 });

export class FaePolicy implements Policy {
  get name(): string {
    return this.staleness ? 'slipstream' : 'fae';
  }
  events: PolicyEvents = () => {};
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
  private stats = { profileSeconds: 0, syncs: 0, rowsSynced: 0, blocks: 0 };
  /** Slipstream on FAE: skips hot inputs whose rows went stale (null: plain FAE). */
  private readonly staleness: StalenessTracker | null;
  private hotOrder = new Int32Array(0);
  private coldOrder = new Int32Array(0);
  private cursor = freshCursor();
  /** Rows (of the training set) skipped as stale, in order. */
  skipped: number[] = [];

  /** `hotSet`: the one a checkpoint saved (no profiling); otherwise the inputs are profiled. */
  constructor(
    private readonly model: Dlrm, private readonly optimizer: Optimizer, kernels: Kernels,
    private readonly source: DatasetSource, private readonly options: FaeOptions, hotSet?: HotSet,
  ) {
    const started = process.hrtime.bigint();
    const data = source.data;
    requireOneHot(data, 'FAE');
    const rowWise = optimizer.config.name === 'adagrad';
    if (hotSet) {
      this.hotSet = hotSet;
    } else {
      const profile = profileAccesses(data, options.samplingRate, options.seed);
      const bytesPerRow = bytesPerHotRow(model.arch.embeddingDim, rowWise ? 1 : 0);
      this.hotSet = selectHotSet(profile, rankRows(profile), bytesPerRow, options.budgetBytes, options.quota);
    }
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
    return Math.min(this.source.limit, Math.ceil(this.hotInputs.length / b) + Math.ceil(this.coldInputs.length / b));
  }

  *schedule(_source: unknown, epoch: number, fromStep: number): Iterable<Batch> {
    const { data, batchSize, shuffle, seed } = this.source;
    const order = shuffle ? new Rng(seed, 1000 + epoch).permutation(data.rows) : Int32Array.from({ length: data.rows }, (_, i) => i);
    const hotOrder = new Int32Array(this.hotInputs.length), coldOrder = new Int32Array(this.coldInputs.length);
    let h = 0, c = 0;
    for (const row of order) {
      if (this.hotIndexOf[row] >= 0) hotOrder[h++] = this.hotIndexOf[row];
      else coldOrder[c++] = row;
    }
    this.hotOrder = hotOrder;
    this.coldOrder = coldOrder;
    if (fromStep === 0) {
      this.cursor = freshCursor();
      this.staleness?.startEpoch(Math.ceil(hotOrder.length / batchSize));
    }
    const cur = this.cursor, adaptive = this.options.schedule === 'adaptive';
    const hotLeft = () => cur.hotPosition < hotOrder.length, coldLeft = () => cur.coldBatches * batchSize < coldOrder.length;
    while ((hotLeft() || coldLeft()) && cur.batches < this.source.limit) { // limit: --num-batches
      if (adaptive && cur.inBlock >= this.block) cur.inBlock = 0;
      if (cur.inBlock === 0) {
        // cold-then-hot: the released code's order. adaptive: the class that is behind in its share of inputs.
        cur.takeHot = !coldLeft() || (adaptive && hotLeft() && cur.hotPosition / hotOrder.length <= cur.coldSeen / coldOrder.length);
        this.stats.blocks++;
      }
      const batch = cur.takeHot ? this.nextHotBatch() : this.nextColdBatch();
      if (!batch) { // the rest of the hot inputs were skipped as stale
        cur.inBlock = 0;
        continue;
      }
      cur.inBlock++;
      cur.batches++;
      yield batch;
    }
  }

  private nextColdBatch(): Batch {
    const cur = this.cursor, size = this.source.batchSize, start = cur.coldBatches++ * size;
    const rows = this.coldOrder.subarray(start, start + size);
    cur.coldSeen += rows.length;
    return batchesOf(this.source.data, size, rows).next().value!;
  }

  /** The next hot mini-batch in epoch order, formed when it is due, leaving out the inputs staleness skips. */
  private nextHotBatch(): Batch | null {
    const cur = this.cursor, order = this.hotOrder, size = this.source.batchSize;
    const slots = new Int32Array(this.hotData.categorical.length), chosen: number[] = [];
    while (chosen.length < size && cur.hotPosition < order.length) {
      const i = order[cur.hotPosition++];
      if (this.staleness) {
        this.hotData.categorical.forEach((column, t) => (slots[t] = column[i]));
        if (this.staleness.skips(slots)) {
          this.skipped.push(this.hotInputs[i]);
          continue;
        }
      }
      chosen.push(i);
    }
    if (chosen.length === 0) return null;
    return { ...batchesOf(this.hotData, size, Int32Array.from(chosen)).next().value!, hot: true };
  }

  step(batch: Batch): number {
    this.useFastTier(batch.hot === true);
    const cur = this.cursor;
    if (batch.hot) this.staleness?.beforeHotStep(cur.hotStep);
    if (this.dLogits.length < batch.size) this.dLogits = new Float32Array(batch.size);
    const store = batch.hot ? this.fastTier.store() : this.model.tables;
    const loss = bceWithLogits(this.model.forward(batch, store), batch.labels, batch.size, this.dLogits);
    this.optimizer.backwardAndStep(this.model, this.dLogits, batch, store);
    if (batch.hot) {
      this.fastTier.markFastUpdates(batch.sparse);
      this.afterHotBlock = true;
      if (this.staleness?.afterHotStep(cur.hotStep)) this.decideStaleness();
      cur.hotStep++;
    } else {
      this.fastTier.markHostUpdates(batch.sparse);
      this.adaptBlock(loss);
    }
    return loss;
  }

  /** Samples the hot inputs still to come this epoch (with replacement, as the authors' code) and decides. */
  private decideStaleness(): void {
    const tracker = this.staleness!, t0 = process.hrtime.bigint(), { hotStep, hotPosition } = this.cursor;
    const remaining = this.hotOrder.length - hotPosition;
    const o = tracker.options, count = Math.min(remaining, Math.max(o.minSamples, Math.round(o.sampleRate * this.hotOrder.length)));
    const rng = new Rng(this.options.seed, 9000 + hotStep);
    const samples = Array.from({ length: count }, () => {
      const i = this.hotOrder[hotPosition + rng.int(remaining)];
      return Int32Array.from(this.hotData.categorical, (column) => column[i]);
    });
    tracker.addOverhead(process.hrtime.bigint() - t0);
    const d = tracker.decide(hotStep, samples);
    this.events('staleness-decision', { ...d });
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

  settle(): void {
    this.useFastTier(false);
  }

  /** After settle the host tables hold every hot row, so the fast tier is rebuilt from them on restore. */
  saveState(): PolicyState {
    const tensors = new Map<string, TensorArray>([['skipped', Int32Array.from(this.skipped)]]);
    const hotSet = saveHotSet(this.hotSet, tensors), staleness = this.staleness?.saveState(tensors, 'staleness.');
    return {
      json: {
        hotSet, cursor: this.cursor, block: this.block,
        coldLossMean: this.coldLossMean, afterHotBlock: this.afterHotBlock, stats: this.stats, staleness,
      },
      tensors,
    };
  }

  /** The hot set a checkpoint saved, to construct the policy without profiling again. */
  static savedHotSet(json: Record<string, unknown>, tensors: TensorReader, tableRows: number[]): HotSet {
    return restoreHotSet(json.hotSet as SavedHotSet, tensors, tableRows);
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader): void {
    this.cursor = json.cursor as ScheduleCursor;
    this.block = json.block as number;
    this.coldLossMean = json.coldLossMean as number;
    this.afterHotBlock = json.afterHotBlock as boolean;
    this.stats = json.stats as FaePolicy['stats'];
    this.skipped = [...(tensors.read('skipped') as Int32Array)];
    if (this.staleness) this.staleness.restoreState(json.staleness as Record<string, unknown>, tensors, 'staleness.');
  }

  counters(): Record<string, number> {
    return this.staleness ? { skippedInputs: this.skipped.length } : {};
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
