/**
 * FAE (Adnan et al., VLDB 2022): profile a sample of the training inputs, keep the hottest rows that fit the budget in
 * the fast tier, split the inputs into all-hot and cold ones, and train pure hot mini-batches from the fast tier and
 * cold ones from the home tables, syncing the changed hot rows at every switch.
 *
 * Schedules:
 *  - 'cold-then-hot': the released code's order, every cold mini-batch of the epoch, then every hot one.
 *  - 'adaptive' (our design of the paper's shuffle scheduler, whose rule is not public): blocks of hot and
 *    cold mini-batches alternate so both classes advance through the epoch at the same pace (the model
 *    never sees a long run of one class); the block length adapts to drift: when the first cold batch
 *    after a hot block has a loss above the cold batches' running mean by more than `driftTolerance`,
 *    the hot block moved the model away from the cold inputs and blocks halve (switch more often);
 *    otherwise they double, up to `maxBlock`, since every switch costs a sync of the changed hot rows.
 *
 * With the tables on the SSD and a host budget, the profile fills three tiers: the hot rows in the fast tier, the
 * next ones in host memory, the rest on the SSD. Host memory also keeps the hot rows' home copy (their slow-memory
 * side, as DRAM is for a GPU's rows: the fast tier syncs with it, never with the SSD), so a cold mini-batch pools and
 * updates its hot and host rows on the host lane while its SSD rows, read ahead of it, pool inline.
 */
import type { Batch } from '../data/batch.ts';
import { batchesOf, type Dataset, selectRows } from '../data/dataset.ts';
import type { Placement } from '../embedding/placement.ts';
import { inputIds } from '../tensor/jagged.ts';
import { restorePlacement, savePlacement } from '../embedding/placement-state.ts';
import { type HotQuota, planPlacement } from '../embedding/planner.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import { byRow, TierSync } from '../embedding/tier-sync.ts';
import { classifyInputs } from '../popularity/hot-inputs.ts';
import { profileAccesses, rankRows } from '../popularity/profiler.ts';
import type { DatasetSource } from '../data/sources.ts';
import { Rng } from '../util/rng.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';
import type { Policy, PolicyContext, PolicyEvents, PolicyState, StepResult } from './policy.ts';
import { Slipstream, stalenessFor, type StalenessOptions } from './slipstream.ts';
import { Stepper } from '../pipeline/step.ts';
import { changeMeter, fastTier, homeTier, hostTier, placedBudgets } from './tiers.ts';
import { Pipeline } from '../pipeline/pipeline.ts';

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

/** Everything a checkpoint keeps of FAE as JSON (the placement and the skipped rows go as tensors). */
interface FaeState {
  cursor: ScheduleCursor;
  block: number;
  coldLossMean: number;
  afterHotBlock: boolean;
  stats: { profileSeconds: number; syncs: number; rowsSynced: number; blocks: number };
}

export class FaePolicy implements Policy {
  get name(): string {
    return this.slipstream ? 'slipstream' : 'fae';
  }
  events: PolicyEvents = () => {};
  readonly placement: Placement;
  readonly hotInputs: Int32Array;
  readonly coldInputs: Int32Array;
  private readonly fast: EmbeddingTier;
  private readonly home: EmbeddingTier;
  private readonly sync: TierSync;
  private readonly stepper: Stepper;
  private readonly hotData: Dataset;
  private readonly hotIndexOf: Int32Array;
  private onFast = false;
  private s: FaeState;
  /** Slipstream on FAE: skips hot inputs whose rows went stale (null: plain FAE). */
  private readonly slipstream: Slipstream | null;
  private hotOrder = new Int32Array(0);
  private coldOrder = new Int32Array(0);
  /** Rows (of the training set) skipped as stale, in order. */
  skipped: number[] = [];
  private readonly fromCheckpoint: boolean;
  /** Host memory in front of the SSD: its tier, sync, and the cold batches' pipeline over it and the home tier. */
  private readonly host: { tier: EmbeddingTier; sync: TierSync; placement: Placement; pipeline: Pipeline; loaded: boolean } | null;
  /** Cold batches of this epoch whose home rows were read ahead. */
  private coldAhead = 0;

  /** The placement comes from the checkpoint being resumed (no profiling), else from profiling the inputs. */
  constructor(private readonly ctx: PolicyContext, private readonly source: DatasetSource, private readonly options: FaeOptions) {
    const started = process.hrtime.bigint(), { model, optimizer } = ctx, data = source.data;
    this.fromCheckpoint = ctx.saved !== null;
    if (ctx.saved) {
      this.placement = restorePlacement(ctx.saved.tensors, data.tableRows);
    } else {
      const profile = profileAccesses(data, options.samplingRate, options.seed);
      this.placement = planPlacement(profile, rankRows(profile), placedBudgets(ctx, options.budgetBytes, true), options.quota);
    }
    const split = classifyInputs(data, this.placement.slotOf, this.placement.rowsIn(0));
    this.hotInputs = split.hot;
    this.coldInputs = split.cold;
    this.hotData = remapHotInputs(data, split.hot, this.placement);
    this.hotIndexOf = new Int32Array(data.rows).fill(-1);
    split.hot.forEach((row, i) => (this.hotIndexOf[row] = i));
    this.fast = fastTier(ctx, this.placement, 0);
    this.home = homeTier(ctx);
    this.stepper = new Stepper(model, optimizer);
    this.host = this.placement.tiers > 2 ? this.hostPath() : null;
    // The hot rows' home copy: in host memory when there is some in front of the SSD, else the home tables.
    const hotHome = this.host ? byRow(this.host.tier, this.host.placement) : this.home;
    this.sync = new TierSync(ctx.device.kernels, this.placement, 0, this.fast, hotHome, optimizer.rowState !== null);
    const meter = options.staleness && changeMeter(this.fast, this.placement, 0);
    this.slipstream = options.staleness ? new Slipstream(stalenessFor(options.staleness, model), () => meter!, options.seed) : null;
    this.s = {
      cursor: freshCursor(), block: options.initialBlock ?? 16, coldLossMean: NaN, afterHotBlock: false,
      stats: { profileSeconds: Number(process.hrtime.bigint() - started) / 1e9, syncs: 0, rowsSynced: 0, blocks: 0 },
    };
  }

  /** Host memory for the hot rows' home copy and the next rows (tiers 0 and 1 as one), and the cold batches' pipeline
   *  over it and the home tier. */
  private hostPath(): NonNullable<FaePolicy['host']> {
    const { device, model, optimizer } = this.ctx, lane = device.lane('host'), placement = this.placement.upTo(1);
    const tier = hostTier(this.ctx, placement, 0, lane), pipeline = new Pipeline(device.kernels, model, optimizer, lane, false);
    pipeline.place(placement, [tier, this.home]);
    return { tier, sync: new TierSync(device.kernels, placement, 0, tier, this.home, optimizer.rowState !== null), placement, pipeline, loaded: false };
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
      this.s.cursor = freshCursor();
      this.slipstream?.startEpoch(Math.ceil(hotOrder.length / batchSize), hotOrder.length);
    }
    const cur = this.s.cursor, adaptive = this.options.schedule === 'adaptive';
    this.coldAhead = cur.coldBatches;
    const hotLeft = () => cur.hotPosition < hotOrder.length, coldLeft = () => cur.coldBatches * batchSize < coldOrder.length;
    while ((hotLeft() || coldLeft()) && cur.batches < this.source.limit) { // limit: --num-batches
      if (adaptive && cur.inBlock >= this.s.block) cur.inBlock = 0;
      if (cur.inBlock === 0) {
        // cold-then-hot: the released code's order. adaptive: the class that is behind in its share of inputs.
        cur.takeHot = !coldLeft() || (adaptive && hotLeft() && cur.hotPosition / hotOrder.length <= cur.coldSeen / coldOrder.length);
        this.s.stats.blocks++;
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
    const cur = this.s.cursor, size = this.source.batchSize, start = cur.coldBatches++ * size;
    const rows = this.coldOrder.subarray(start, start + size);
    cur.coldSeen += rows.length;
    const total = Math.ceil(this.coldOrder.length / size), last = Math.min(total - 1, cur.coldBatches - 1 + this.ctx.home.readAhead);
    if (this.ctx.home.readAhead > 0) while (this.coldAhead <= last) this.home.prefetch?.(this.coldHomeIds(this.coldBatch(this.coldAhead++)));
    return this.coldBatch(cur.coldBatches - 1);
  }

  /** Cold batch k of the epoch. */
  private coldBatch(k: number): Batch {
    const size = this.source.batchSize;
    return batchesOf(this.source.data, size, this.coldOrder.subarray(k * size, (k + 1) * size)).next().value!;
  }

  /** A cold batch's lookups of the home tier. */
  private coldHomeIds(batch: Batch): Batch['sparse'] {
    const bags = this.ctx.model.sparse.bags(batch.sparse);
    return this.host ? this.host.placement.split(this.ctx.device.kernels, bags)[1] : bags;
  }

  /** The next hot mini-batch in epoch order, formed when it is due, leaving out the inputs Slipstream skips. */
  private nextHotBatch(): Batch | null {
    const cur = this.s.cursor, order = this.hotOrder, size = this.source.batchSize;
    const chosen: number[] = [];
    while (chosen.length < size && cur.hotPosition < order.length) {
      const i = order[cur.hotPosition++];
      if (this.slipstream) {
        if (this.slipstream.skips(inputSlots(this.hotData, i))) {
          this.skipped.push(this.hotInputs[i]);
          continue;
        }
      }
      chosen.push(i);
    }
    if (chosen.length === 0) return null;
    return { ...batchesOf(this.hotData, size, Int32Array.from(chosen)).next().value!, hot: true };
  }

  step(batch: Batch): StepResult {
    const hot = batch.hot === true, cur = this.s.cursor;
    this.loadHost();
    this.useFastTier(hot);
    if (hot) this.slipstream?.beforeHotStep(cur.hotStep);
    const loss = hot ? this.stepper.on(batch, this.fast) : this.coldStep(batch);
    if (hot) {
      this.sync.markPlacedUpdates(batch.sparse);
      this.s.afterHotBlock = true;
      if (this.slipstream) this.observeHotStep(batch, cur.hotStep);
      cur.hotStep++;
    } else {
      this.sync.markHomeUpdates(batch.sparse);
      this.adaptBlock(loss);
    }
    return { samples: batch.size, loss };
  }

  /** A cold mini-batch on the home tier, or split between the host tier and the home tier. */
  private coldStep(batch: Batch): number {
    const host = this.host;
    if (!host) return this.stepper.on(batch, this.home);
    const split = host.pipeline.split(batch), loss = host.pipeline.step(split, null);
    host.sync.markPlacedUpdates(split.ids[0]);
    return loss;
  }

  /** Slipstream's view of a trained hot mini-batch: its inputs' slots while sampling, and the decision when due. */
  private observeHotStep(batch: Batch, k: number): void {
    const slipstream = this.slipstream!;
    if (slipstream.sampling) for (let i = 0; i < batch.size; i++) slipstream.observe(inputIds(batch.sparse, i));
    const decision = slipstream.afterHotStep(k);
    if (decision) this.events('staleness-decision', { ...decision });
  }

  private adaptBlock(coldLoss: number): void {
    const s = this.s;
    if (s.afterHotBlock && Number.isFinite(s.coldLossMean)) {
      const drifted = coldLoss > s.coldLossMean * (1 + (this.options.driftTolerance ?? 0.02));
      s.block = drifted ? Math.max(1, s.block >> 1) : Math.min(this.options.maxBlock ?? 256, s.block * 2);
    }
    s.afterHotBlock = false;
    s.coldLossMean = Number.isFinite(s.coldLossMean) ? 0.9 * s.coldLossMean + 0.1 * coldLoss : coldLoss;
  }

  /** Fills host memory from the home tables on first use (so after a resume's rollback). */
  private loadHost(): void {
    if (!this.host || this.host.loaded) return;
    this.s.stats.rowsSynced += this.host.sync.loadFromHome();
    this.host.loaded = true;
  }

  /** Switches the hot rows' current copy to the fast tier or back to their home copy. */
  private useFastTier(fast: boolean): void {
    if (fast === this.onFast) return;
    const started = process.hrtime.bigint();
    this.host?.pipeline.drain(); // the host lane's last update lands before its rows are copied
    this.s.stats.rowsSynced += fast ? this.sync.loadFromHome() : this.sync.storeToHome();
    this.s.stats.syncs++;
    this.onFast = fast;
    this.ctx.model.times?.add('sync', process.hrtime.bigint() - started);
  }

  settle(): void {
    this.loadHost();
    this.useFastTier(false);
    this.host?.pipeline.drain();
    this.host?.sync.markPlacedRange(0, this.placement.rowsIn(0)); // the hot rows' copy there took the fast tier's changes
    this.host?.sync.storeToHome();
  }

  /** After settle the home tables hold every hot row, so the fast tier is rebuilt from them on restore. */
  saveState(): PolicyState {
    const tensors = new Map<string, TensorArray>([['skipped', Int32Array.from(this.skipped)]]);
    savePlacement(this.placement, tensors);
    const slipstream = this.slipstream?.saveState(tensors, 'staleness.');
    return { json: { ...structuredClone(this.s), slipstream }, tensors };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader): void {
    const { slipstream, ...state } = json as unknown as FaeState & { slipstream: Record<string, unknown> };
    this.s = state;
    this.skipped = [...(tensors.read('skipped') as Int32Array)];
    this.slipstream?.restoreState(slipstream, tensors, 'staleness.');
  }

  counters(): Record<string, number> {
    return this.slipstream ? { skippedInputs: this.skipped.length } : {};
  }

  report(): Record<string, unknown> {
    const inputs = this.hotInputs.length + this.coldInputs.length;
    return {
      hotRows: this.placement.rowsIn(0), hotBytes: this.fast.bytes, budgetBytes: this.options.budgetBytes,
      ...(this.host && { hostRows: this.host.placement.rowsIn(0), hostBytes: this.host.tier.bytes }),
      hotInputs: this.hotInputs.length, hotInputShare: this.hotInputs.length / inputs, schedule: this.options.schedule,
      finalBlock: this.s.block, ...this.s.stats,
      ...(this.slipstream && {
        skippedInputs: this.skipped.length, skippedShare: this.skipped.length / Math.max(1, this.hotInputs.length),
        stalenessDecisions: this.slipstream.decisions, stalenessOverheadSeconds: this.slipstream.overheadSeconds,
      }),
    };
  }

  /** The hot set at the start: size, budget, hot-input share. */
  describe(): string[] {
    const r = this.report();
    return [`fae: ${Number(r.hotRows).toLocaleString('en-US')} hot rows (${(Number(r.hotBytes) / 2 ** 20).toFixed(1)} MiB of ` +
      `${(this.options.budgetBytes / 2 ** 20).toFixed(1)} MiB), ${(100 * Number(r.hotInputShare)).toFixed(1)}% of the training inputs hot` +
      `${this.fromCheckpoint ? ' (hot set from the checkpoint)' : `, profiled in ${Number(r.profileSeconds).toFixed(1)} s`}`];
  }

  summary(trainSeconds: number): string[] {
    return this.slipstream?.summary(this.skipped.length, trainSeconds) ?? [];
  }

  timeline(): [] {
    return [];
  }
}

/** The hot inputs as their own dataset, ids rewritten to fast-tier slots (FAE's train_hot). */
/** Every lookup of input i of a dataset, table by table (its fast-tier slots in the remapped hot inputs). */
function inputSlots(data: Dataset, i: number): Int32Array {
  const parts = data.categorical.map((column, t) => {
    const bag = data.offsets?.[t];
    return bag ? column.subarray(bag[i], bag[i + 1]) : column.subarray(i, i + 1);
  });
  const slots = new Int32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) slots.set(p, (at += p.length) - p.length);
  return slots;
}

function remapHotInputs(data: Dataset, hotRows: Int32Array, placement: Placement): Dataset {
  const rows = selectRows(data, hotRows);
  rows.categorical.forEach((column, t) => column.forEach((id, i) => (column[i] = placement.slotOf[t][id])));
  return { ...rows, tableRows: data.categorical.map(() => placement.rowsIn(0)) };
}
