/**
 * Slipstream's runtime part, shared by the FAE and Hotline policies: two snapshots of the fast tier around
 * a warm-up window of hot mini-batches, the threshold search over sampled hot inputs, then the verdict on
 * each later hot input (skip it when its lookups are stale). Beyond the paper: the decision can be renewed
 * every `reevaluateEvery` hot mini-batches (new snapshots, so rows can become active again), and the
 * change can be measured relative to the row's values.
 */
import { isStaleInput, rowChanges, searchThreshold, type StaleSearch, type StaleSearchOptions } from '../popularity/staleness.ts';
import type { FastTier } from '../tiers/fast-tier.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

export interface StalenessOptions extends StaleSearchOptions {
  /** Hot mini-batch (within the epoch) of the first snapshot; the second comes windowShare of the epoch's hot
   *  mini-batches later (the authors' Kaggle script: 1000 and 3%). */
  startHotBatch: number;
  windowShare: number;
  /** Share of the remaining hot inputs sampled for the threshold search (at least minSamples). */
  sampleRate: number;
  minSamples: number;
  relative: boolean;
  /** Renew the decision every this many hot mini-batches after the last (0: once per epoch, as the paper). */
  reevaluateEvery: number;
}

export const defaultStaleness: StalenessOptions = {
  targetDrop: 0.3, band: 0.08, maxThreshold: 0.1, maxSteps: 25, alpha: Infinity, startHotBatch: 1000, windowShare: 0.03,
  sampleRate: 0.001, minSamples: 200, relative: false, reevaluateEvery: 0,
};

export interface StaleDecision extends StaleSearch {
  hotBatch: number;
  samples: number;
}

export class StalenessTracker {
  private before: Float32Array | null = null;
  private change: Float32Array | null = null;
  private threshold = 0;
  private nextSnapshot: number;
  private window = 1;
  readonly decisions: StaleDecision[] = [];
  private overheadNs = 0n;

  constructor(readonly options: StalenessOptions, private readonly tier: () => FastTier, private readonly dim: number) {
    this.nextSnapshot = options.startHotBatch;
  }

  /** A new epoch of `hotBatches` hot mini-batches: the decision is taken afresh. */
  startEpoch(hotBatches: number): void {
    this.window = Math.max(1, Math.round(this.options.windowShare * hotBatches));
    this.nextSnapshot = this.options.startHotBatch;
    this.before = this.change = null;
  }

  /** Before hot mini-batch k of the epoch trains: the first snapshot when it is due. */
  beforeHotStep(k: number): void {
    if (k !== this.nextSnapshot) return;
    const t0 = process.hrtime.bigint();
    this.before = this.tier().weights.slice();
    this.overheadNs += process.hrtime.bigint() - t0;
  }

  /** After hot mini-batch k trained: true when the second snapshot was just taken and a decision is due. */
  afterHotStep(k: number): boolean {
    return this.before !== null && k === this.nextSnapshot + this.window;
  }

  /** Compares the snapshots, searches T on the sampled inputs (slot lists) and starts skipping. */
  decide(k: number, samples: Int32Array[]): StaleDecision {
    const t0 = process.hrtime.bigint();
    const change = rowChanges(this.before!, this.tier().weights, this.dim, this.options.relative);
    const search = searchThreshold(samples, change, this.options);
    this.change = change;
    this.threshold = search.threshold;
    this.before = null;
    this.nextSnapshot = this.options.reevaluateEvery > 0 ? k + this.options.reevaluateEvery : Infinity;
    this.overheadNs += process.hrtime.bigint() - t0;
    const decision = { ...search, hotBatch: k, samples: samples.length };
    this.decisions.push(decision);
    return decision;
  }

  /** Whether a hot input (its lookups as slots) is skipped under the current decision. */
  skips(slots: ArrayLike<number>): boolean {
    return this.change !== null && this.threshold > 0 && isStaleInput(slots, this.change, this.threshold, this.options.alpha);
  }

  /** Its state as JSON, with the snapshot and the change per slot put in `tensors` under `prefix`. */
  saveState(tensors: Map<string, TensorArray>, prefix: string): Record<string, unknown> {
    if (this.before) tensors.set(`${prefix}before`, this.before);
    if (this.change) tensors.set(`${prefix}change`, this.change);
    const { threshold, nextSnapshot, window, decisions } = this;
    return { threshold, nextSnapshot, window, decisions, overheadNs: Number(this.overheadNs) };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader, prefix: string): void {
    this.before = tensors.has(`${prefix}before`) ? (tensors.read(`${prefix}before`) as Float32Array) : null;
    this.change = tensors.has(`${prefix}change`) ? (tensors.read(`${prefix}change`) as Float32Array) : null;
    this.threshold = json.threshold as number;
    this.nextSnapshot = json.nextSnapshot as number;
    this.window = json.window as number;
    this.decisions.splice(0, this.decisions.length, ...(json.decisions as StaleDecision[]));
    this.overheadNs = BigInt(json.overheadNs as number);
  }

  addOverhead(ns: bigint): void {
    this.overheadNs += ns;
  }

  get overheadSeconds(): number {
    return Number(this.overheadNs) / 1e9;
  }
}
