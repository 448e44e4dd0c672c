/**
 * Slipstream (Chen et al.): hot rows that stopped changing need no more training, so hot inputs that touch only such
 * rows can be skipped. It wraps the hot steps of any policy with a fast tier (FAE's hot mini-batches, Hotline's
 * popular inputs): two snapshots of the fast tier around a window of hot steps, a threshold T searched by bisection
 * so that a target share D of sampled hot inputs would be stale, then every later hot input whose lookups changed
 * less than T is skipped. Beyond the paper: the decision can be renewed every `reevaluateEvery` hot steps (new
 * snapshots, so rows can become active again), and the change can be measured relative to the row's values.
 *
 * The sampling rule (one for every policy): the threshold is searched on a uniform sample (reservoir, seeded) of the
 * hot inputs trained inside the snapshot window, the inputs whose rows the window's change describes; the sample
 * holds max(minSamples, sampleRate x the epoch's hot inputs) of them.
 */
import { isStaleInput, type RowChangeMeter, searchThreshold, type StaleSearch, type StaleSearchOptions } from '../popularity/staleness.ts';
import type { Model } from '../model/model.ts';
import { Rng } from '../util/rng.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

export interface StalenessOptions extends StaleSearchOptions {
  /** Hot step (within the epoch) of the first snapshot; the second comes windowShare of the epoch's hot steps later
   *  (the authors' Kaggle script: 1000 and 3%). */
  startHotBatch: number;
  windowShare: number;
  /** Share of the epoch's hot inputs sampled for the threshold search (at least minSamples). */
  sampleRate: number;
  minSamples: number;
  relative: boolean;
  /** Renew the decision every this many hot steps after the last (0: once per epoch, as the paper). */
  reevaluateEvery: number;
  /** Which hot inputs a decision skips: the stale ones (Slipstream), or as many at random (a control that tells what
   *  losing those samples costs from what choosing them does; bench/slipstream-loss.ts). */
  control: 'stale' | 'random';
}

export const defaultStaleness: StalenessOptions = {
  targetDrop: 0.3, band: 0.08, maxThreshold: 0.1, maxSteps: 25, alpha: Infinity, groups: 1, startHotBatch: 1000, windowShare: 0.03,
  sampleRate: 0.001, minSamples: 200, relative: false, reevaluateEvery: 0, control: 'stale',
};

/** The options for a model's inputs: alpha applies to each table's sequence of a TBSM input (the authors' rule). */
export function stalenessFor(options: StalenessOptions, model: Model): StalenessOptions {
  return { ...options, groups: model.sparse.events > 1 ? model.sparse.tables.length : 1 };
}

export interface StaleDecision extends StaleSearch {
  hotBatch: number;
  samples: number;
}

/** The scalar state, saved as it is in checkpoints. */
interface State {
  threshold: number;
  nextSnapshot: number;
  window: number;
  capacity: number;
  /** Hot inputs offered to the reservoir in the current window. */
  seen: number;
  decisions: StaleDecision[];
  overheadNs: number;
}

export class Slipstream {
  /** The meter holding the first snapshot of the open window (null: no window open). */
  private before: RowChangeMeter | null = null;
  private change: Float32Array | null = null;
  private sample: Int32Array[] = [];
  private s: State;
  private readonly rng: Rng;

  /** meter: the change meter of the current fast tier (slot by slot); seed: the reservoir's. */
  constructor(readonly options: StalenessOptions, private readonly meter: () => RowChangeMeter, seed: number) {
    this.s = {
      threshold: 0, nextSnapshot: options.startHotBatch, window: 1, capacity: options.minSamples, seen: 0, decisions: [], overheadNs: 0,
    };
    this.rng = new Rng(seed, 9000);
  }

  /** A new epoch of `hotSteps` hot steps and about `hotInputs` hot inputs: the decision is taken afresh. */
  startEpoch(hotSteps: number, hotInputs: number): void {
    this.s.window = Math.max(1, Math.round(this.options.windowShare * hotSteps));
    this.s.capacity = Math.max(this.options.minSamples, Math.round(this.options.sampleRate * hotInputs));
    this.s.nextSnapshot = this.options.startHotBatch;
    this.closeWindow();
    this.change = null;
  }

  /** The fast tier was rebuilt (its slots name other rows): the decision and any open window are dropped, and a new
   *  window opens at hot step k. */
  restartWindow(k: number): void {
    if (!this.before && !this.change) return; // nothing measured yet: the first window comes as planned
    this.closeWindow();
    this.change = null;
    this.s.threshold = 0;
    this.s.nextSnapshot = k;
  }

  private closeWindow(): void {
    this.before?.clear();
    this.before = null;
  }

  /** Before hot step k of the epoch trains: the first snapshot when it is due. */
  beforeHotStep(k: number): void {
    if (k !== this.s.nextSnapshot) return;
    this.timed(() => {
      this.closeWindow();
      this.before = this.meter();
      this.before.mark();
      this.sample = [];
      this.s.seen = 0;
    });
  }

  /** A hot input (its lookups as fast-tier slots) trained in this step. */
  observe(slots: Int32Array): void {
    if (!this.before) return;
    const s = this.s;
    if (this.sample.length < s.capacity) {
      this.sample.push(slots);
    } else {
      const j = this.rng.int(s.seen + 1);
      if (j < s.capacity) this.sample[j] = slots;
    }
    s.seen++;
  }

  /** After hot step k trained: when the second snapshot is due, compares it with the first, searches T on the sample
   *  and starts skipping; returns the decision (null when none was due). */
  afterHotStep(k: number): StaleDecision | null {
    if (!this.decisionDue(k)) return null;
    return this.timed(() => {
      const change = this.before!.since(this.options.relative);
      const search = searchThreshold(this.sample, change, this.options);
      this.change = change;
      this.s.threshold = search.threshold;
      this.closeWindow();
      this.s.nextSnapshot = this.options.reevaluateEvery > 0 ? k + this.options.reevaluateEvery : Infinity;
      const decision = { ...search, hotBatch: k, samples: this.sample.length };
      this.sample = [];
      this.s.decisions.push(decision);
      return decision;
    });
  }

  /** Whether hot step k is the window's last, after which the decision is taken. */
  decisionDue(k: number): boolean {
    return this.before !== null && k === this.s.nextSnapshot + this.s.window;
  }

  /** Whether a hot input (its lookups as slots) is skipped under the current decision. */
  skips(slots: ArrayLike<number>): boolean {
    if (this.change === null || this.s.threshold <= 0) return false;
    if (this.options.control === 'random') return this.rng.next() < this.s.decisions.at(-1)!.dropShare;
    return isStaleInput(slots, this.change, this.s.threshold, this.options.alpha, this.options.groups);
  }

  /** Between the snapshots: the hot inputs trained now are the sample's candidates. */
  get sampling(): boolean {
    return this.before !== null;
  }

  /** Each decision and the skips, in words, with the overhead against the training time. */
  summary(skippedInputs: number, trainSeconds: number): string[] {
    const o = this.options, lines = this.s.decisions.map((d) =>
      `slipstream: T = ${d.threshold.toExponential(3)} after ${d.steps} bisection steps, ${(100 * d.dropShare).toFixed(1)}% of sampled hot inputs stale` +
        `${d.inBand ? '' : ` (outside the ${o.targetDrop} +- ${o.band} band: the closest threshold found)`}`);
    const overhead = this.overheadSeconds / trainSeconds;
    return [...lines, `slipstream: skipped ${skippedInputs.toLocaleString('en-US')} inputs, overhead ${(100 * overhead).toFixed(2)}% of training time`];
  }

  get decisions(): readonly StaleDecision[] {
    return this.s.decisions;
  }

  get overheadSeconds(): number {
    return this.s.overheadNs / 1e9;
  }

  private timed<T>(work: () => T): T {
    const t0 = process.hrtime.bigint();
    try {
      return work();
    } finally {
      this.s.overheadNs += Number(process.hrtime.bigint() - t0);
    }
  }

  /** Its state as JSON, with the snapshot, the change per slot and the sample put in `tensors` under `prefix`. */
  saveState(tensors: Map<string, TensorArray>, prefix: string): Record<string, unknown> {
    if (this.before) tensors.set(`${prefix}before`, this.before.marked());
    if (this.change) tensors.set(`${prefix}change`, this.change);
    const width = this.sample[0]?.length ?? 0, flat = new Int32Array(this.sample.length * width);
    this.sample.forEach((slots, i) => flat.set(slots, i * width));
    tensors.set(`${prefix}sample`, flat);
    return { ...structuredClone(this.s), rng: this.rng.state(), sampleWidth: width };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader, prefix: string): void {
    const { sampleWidth, rng, ...state } = json as unknown as State & { sampleWidth: number; rng: number[] };
    this.s = state;
    this.rng.restore(rng);
    this.closeWindow();
    if (tensors.has(`${prefix}before`)) {
      this.before = this.meter();
      this.before.mark(tensors.read(`${prefix}before`) as Float32Array);
    }
    this.change = tensors.has(`${prefix}change`) ? (tensors.read(`${prefix}change`) as Float32Array) : null;
    const flat = tensors.read(`${prefix}sample`) as Int32Array;
    this.sample = sampleWidth > 0 ? Array.from({ length: flat.length / sampleWidth }, (_, i) => flat.slice(i * sampleWidth, (i + 1) * sampleWidth)) : [];
  }
}
