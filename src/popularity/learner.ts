/**
 * Hotline's run-time access learner: counts the lookups of the first mini-batches as they stream by
 * (every lookup, or a sampled share of the inputs), then hands the counts to the hot-set code FAE uses.
 * No pass over the data happens before training. For re-learning, counts decay and the current hot rows
 * get a hysteresis bonus, so the popular set follows drifting data without flapping.
 */
import type { Batch } from '../data/batch.ts';
import { Rng } from '../util/rng.ts';
import type { AccessProfile } from './profiler.ts';
import type { TensorArray, TensorReader } from '../util/tensors.ts';

export class AccessLearner {
  readonly counts: Uint32Array[];
  private lookups = 0;
  private inputs = 0;
  private readonly rng: Rng;

  constructor(readonly tableRows: number[], readonly samplingRate: number, seed: number) {
    this.counts = tableRows.map((n) => new Uint32Array(n));
    this.rng = new Rng(seed, 777);
  }

  /** Counts the lookups of a batch given in host ids (each input kept with probability samplingRate). */
  observe(batch: Batch): void {
    const sampleAll = this.samplingRate >= 1;
    for (let i = 0; i < batch.size; i++) {
      if (!sampleAll && this.rng.next() >= this.samplingRate) continue;
      this.inputs++;
      const { ids, offsets, bags } = batch.sparse;
      this.counts.forEach((counts, t) => {
        for (let p = offsets[t * bags + i]; p < offsets[t * bags + i + 1]; p++) {
          counts[ids[p]]++;
          this.lookups++;
        }
      });
    }
  }

  /** The counts as a profile; `bonus` multiplies the counts of the incumbent fast tier's rows (slots below fastSlots:
   *  hysteresis). */
  profile(incumbent?: { slotOf: Int32Array[]; fastSlots: number; bonus: number }): AccessProfile {
    let counts = this.counts;
    if (incumbent) {
      counts = this.counts.map((c, t) => {
        const boosted = c.slice();
        const slotOf = incumbent.slotOf[t];
        for (let r = 0; r < c.length; r++) {
          if (slotOf[r] >= 0 && slotOf[r] < incumbent.fastSlots && c[r] > 0) boosted[r] = Math.round(c[r] * incumbent.bonus);
        }
        return boosted;
      });
    }
    return { tableRows: this.tableRows, counts, sampledInputs: new Int32Array(0), lookups: this.lookups };
  }

  /** Halves every count, so older mini-batches weigh less at the next re-learning. */
  decay(): void {
    for (const c of this.counts) for (let r = 0; r < c.length; r++) c[r] >>>= 1;
    this.lookups = Math.floor(this.lookups / 2);
  }

  /** Counters and the sampler's position as JSON; the counts go in `tensors` under `prefix`. */
  saveState(tensors: Map<string, TensorArray>, prefix: string): Record<string, unknown> {
    this.counts.forEach((c, t) => tensors.set(`${prefix}${t}`, c));
    return { lookups: this.lookups, inputs: this.inputs, rng: this.rng.state() };
  }

  restoreState(json: Record<string, unknown>, tensors: TensorReader, prefix: string): void {
    this.counts.forEach((c, t) => c.set(tensors.read(`${prefix}${t}`)));
    this.lookups = json.lookups as number;
    this.inputs = json.inputs as number;
    this.rng.restore(json.rng as number[]);
  }

  get observedInputs(): number {
    return this.inputs;
  }
}
