/**
 * TBSM (facebookresearch/tbsm, Ishkhanov et al. 2020): a DLRM tower turns each of a sample's tsLength + 1 events into
 * a vector z, all events of a batch in one pass of batch x (tsLength + 1) tower inputs (the authors' fast path); the
 * vectors are projected onto the unit sphere; the time series layer's heads attend from the candidate (the last
 * event) over the history; one head's logit, or an MLP over every head's probability, is the click logit.
 *
 * An input is a sequence: its bag in each table holds its events' ids in order, so policies see an input's whole
 * history as its lookups; the tiers pool one bag per event (bags()).
 */
import type { Batch } from '../../data/batch.ts';
import type { TableConfig } from '../../embedding/tables.ts';
import type { Kernels, SlotLayout } from '../../kernels/kernels.ts';
import type { Jagged } from '../../tensor/jagged.ts';
import type { PhaseTimes } from '../../util/phase-times.ts';
import { Rng } from '../../util/rng.ts';
import type { DlrmArch } from '../arch.ts';
import { Dlrm } from '../dlrm.ts';
import type { EmbeddingTier } from '../../embedding/tier.ts';
import { bceWithLogits, sigmoid } from '../loss.ts';
import { type DenseParam, Mlp } from '../mlp.ts';
import type { DenseRule, Model, SparseArch } from '../model.ts';
import { eventWidth, headLengths, type TbsmArch, validateTbsmArch } from './tbsm-arch.ts';
import { TslHead } from './tsl-head.ts';

export class Tbsm implements Model, SparseArch {
  readonly tower: Dlrm;
  readonly heads: TslHead[];
  /** Over the heads' probabilities when there are several: [heads, heads + 4, 1], as tbsm builds it. */
  readonly final: Mlp | null;
  readonly outputs = 1;
  readonly events: number;
  private n = 0;
  private projected = new Float32Array(0);
  private norms = new Float32Array(0);
  private dProjected = new Float32Array(0);
  private headProbs = new Float32Array(0);
  private dLogits = new Float32Array(0);
  private readonly eventBags = new WeakMap<Jagged, Jagged>();
  /** 0, 1, 2, ...: the offsets of one-id bags, grown to the largest batch (views of it are every batch's offsets). */
  private counting = new Int32Array(1);

  /** tower: where the event tower computes (default: a Dlrm on the kernels; on WebGPU, a GpuDlrm), the time series
   *  layer always on the host kernels. */
  constructor(
    private readonly kernels: Kernels, readonly arch: TbsmArch, readonly seed: number, tableNames?: readonly string[],
    tower: (arch: DlrmArch) => Dlrm = (a) => new Dlrm(kernels, a, seed, tableNames, 'vector'),
  ) {
    validateTbsmArch(arch);
    this.events = arch.tsLength + 1;
    this.tower = tower(arch.tower);
    const rng = new Rng(seed, 2);
    this.heads = headLengths(arch).map((length) => new TslHead(arch, length, kernels, rng));
    this.final = arch.heads > 1 ? new Mlp(kernels, [arch.heads, arch.heads + 4, 1], false, rng) : null;
    if (this.tower.deviceTier) this.deviceTier = (rows, state) => this.tower.deviceTier!(rows, state);
  }

  get times(): PhaseTimes | null {
    return this.tower.times;
  }

  set times(times: PhaseTimes | null) {
    this.tower.times = times;
  }

  get sparse(): SparseArch {
    return this;
  }

  /** The tower on every event, and per head: the query (A's products), scores and context over its history, the
   *  attention MLP and the head's MLP; the projection and the final MLP. */
  denseFlops(): number {
    const z = eventWidth(this.arch), a = this.arch.inner === 'def' ? 2 : this.arch.inner === 'ind' ? 1 : 0;
    const heads = this.heads.reduce((n, h) => n + 2 * a * z * z + 4 * h.length * z + (h.attention?.forwardFlops() ?? 0) + h.mlp.forwardFlops(), 0);
    return this.events * this.tower.denseFlops() + 3 * (heads + (this.arch.project ? 3 * this.events * z : 0) + (this.final?.forwardFlops() ?? 0));
  }

  get tables(): readonly TableConfig[] {
    return this.tower.tables;
  }

  /** One bag per event: the inputs' ids in the same order, each its own bag (cached per batch). */
  bags(inputs: Jagged): Jagged {
    let bags = this.eventBags.get(inputs);
    if (!bags) {
      const perTable = inputs.bags * this.events;
      if (inputs.ids.length !== inputs.tables * perTable) {
        throw new Error(`TBSM takes ${this.events} ids per input and table (tsLength + 1), got ${inputs.ids.length} for ${inputs.bags} inputs of ${inputs.tables} tables`);
      }
      if (this.counting.length <= inputs.ids.length) {
        this.counting = new Int32Array(2 * inputs.ids.length + 1);
        for (let i = 0; i < this.counting.length; i++) this.counting[i] = i;
      }
      bags = { tables: inputs.tables, bags: perTable, ids: inputs.ids, offsets: this.counting.subarray(0, inputs.ids.length + 1) };
      this.eventBags.set(inputs, bags);
    }
    return bags;
  }

  layout(n: number): SlotLayout {
    return this.tower.layout(n * this.events);
  }

  pooledFloats(n: number): number {
    return this.tower.pooledFloats(n * this.events);
  }

  denseParams(): DenseParam[] {
    return [...this.tower.denseParams(), ...this.tslParams()];
  }

  /** The time series layer's and the heads' parameters (the tower's learn where the tower computes). */
  private tslParams(): DenseParam[] {
    return [...this.heads.flatMap((h, i) => h.params(`tsl.${i}`)), ...(this.final?.params('final') ?? [])];
  }

  /** The tower's device tier, where it has one (on WebGPU): its pools join the tower's step. */
  deviceTier?(rows: number, state: { initial: number } | null): EmbeddingTier;

  /** The tower's bottom MLP on every event's dense features ([n x events x dense] as the batch holds them). */
  forwardDense(batch: Batch): Float32Array {
    this.n = batch.size;
    return this.tower.forwardDense({ ...batch, size: batch.size * this.events });
  }

  forwardOutput(pooled: Float32Array): Float32Array {
    const n = this.n, z = eventWidth(this.arch), rows = n * this.events;
    const vectors = this.tower.forwardOutput(pooled);
    if (this.projected.length < rows * z) {
      this.projected = new Float32Array(rows * z);
      this.dProjected = new Float32Array(rows * z);
      this.norms = new Float32Array(rows);
      this.headProbs = new Float32Array(n * this.arch.heads);
      this.dLogits = new Float32Array(n);
    }
    const u = this.projected.subarray(0, rows * z);
    if (this.arch.project) {
      this.kernels.sphereForward(vectors, rows, z, u, this.norms);
    } else {
      u.set(vectors.subarray(0, rows * z));
    }
    if (!this.final) return this.heads[0].forward(u, n);
    const heads = this.arch.heads, probs = this.headProbs.subarray(0, n * heads);
    this.heads.forEach((head, h) => {
      const logits = head.forward(u, n);
      for (let b = 0; b < n; b++) probs[b * heads + h] = sigmoid(logits[b]);
    });
    return this.final.forward(probs, n);
  }

  learn(pooled: Float32Array, labels: Float32Array, rule: DenseRule): number {
    const n = this.n, logits = this.forwardOutput(pooled), d = this.dLogits.subarray(0, n);
    const loss = bceWithLogits(logits, labels, n, d);
    this.backward(d, rule);
    if (rule.name === 'adagrad') {
      for (const p of this.tslParams()) this.kernels.denseAdagrad(p.value, rule.state(p), p.grad, rule.lr, rule.eps);
    } else {
      for (const h of this.heads) if (h.a) this.kernels.denseSgd(h.a, h.aGrad!, rule.lr);
    }
    return loss;
  }

  /** dLogits [n] back through the heads (their MLPs updated at once under SGD), the projection and the tower, which
   *  applies the rule to its own parameters. */
  private backward(dLogits: Float32Array, rule: DenseRule): void {
    const fusedSgdRate = rule.name === 'sgd' ? rule.lr : null;
    const n = this.n, z = eventWidth(this.arch), rows = n * this.events, heads = this.arch.heads;
    const dU = this.dProjected.subarray(0, rows * z).fill(0);
    if (!this.final) {
      this.heads[0].backward(dLogits, dU, fusedSgdRate);
    } else {
      this.final.outputGrad().set(dLogits.subarray(0, n));
      const dProbs = this.final.backward(true, fusedSgdRate)!, probs = this.headProbs, dHead = new Float32Array(n);
      this.heads.forEach((head, h) => {
        for (let b = 0; b < n; b++) {
          const p = probs[b * heads + h];
          dHead[b] = dProbs[b * heads + h] * p * (1 - p);
        }
        head.backward(dHead, dU, fusedSgdRate);
      });
    }
    if (this.arch.project) this.kernels.sphereBackward(this.projected, this.norms, rows, z, dU);
    this.tower.learnFrom(dU, rule);
  }

  embeddingGrad(): Float32Array {
    return this.tower.embeddingGrad();
  }

  syncToHost(rule: DenseRule): void {
    this.tower.syncToHost(rule);
  }

  syncFromHost(): void {
    this.tower.syncFromHost();
  }
}
