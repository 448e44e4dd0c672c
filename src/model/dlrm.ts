/**
 * The DLRM network: bottom MLP on dense features, sum-pooled embedding bags, dot (or concatenation) interaction,
 * top MLP to one logit. Forward and backward run on the given kernels; the sparse gradient stays in the
 * interaction-gradient buffer, for the tiers to apply.
 */
import type { Batch } from '../data/batch.ts';
import type { EmbeddingTier } from '../embedding/tier.ts';
import type { Jagged } from '../tensor/jagged.ts';
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import { type TableConfig, tableConfigs } from '../embedding/tables.ts';
import { Rng } from '../util/rng.ts';
import type { PhaseTimes } from '../util/phase-times.ts';
import { type DlrmArch, type DlrmOutput, interactionWidth, validateArch } from './arch.ts';
import { type DenseParam, Mlp } from './mlp.ts';
import { bceWithLogits } from './loss.ts';
import type { DenseRule, Model, SparseArch } from './model.ts';

export class Dlrm implements Model, SparseArch {
  readonly bottom: Mlp;
  readonly top: Mlp;
  readonly tables: readonly TableConfig[];
  readonly outputs: number;
  readonly events = 1;
  /** Feature vectors per sample entering the interaction: the bottom MLP's output and one per table. */
  readonly features: number;
  private batchSize = 0;
  private capacity = 0;
  private featureStore = new Float32Array(0);
  private featureGradStore = new Float32Array(0);
  private interactionStore = new Float32Array(0);
  /** The bottom MLP's output and the features of the current batch (the model's buffer, or the caller's). */
  private dense: Float32Array = new Float32Array(0);
  private features_: Float32Array = new Float32Array(0);
  private featureGrad = new Float32Array(0);
  private interactionOut = new Float32Array(0);
  private dLogits = new Float32Array(0);
  times: PhaseTimes | null = null;

  /** tableNames: the dataset's column names (table1, table2, ... when absent); output: a click logit, or (TBSM's
   *  event tower) the top MLP's vector with ReLU on its last layer too, as dlrm's top MLP without a sigmoid. */
  constructor(
    private readonly kernels: Kernels, readonly arch: DlrmArch, readonly seed: number, tableNames?: readonly string[], output: DlrmOutput = 'logit',
  ) {
    validateArch(arch, output);
    const rng = new Rng(seed, 1);
    this.bottom = new Mlp(kernels, arch.bottomMlp, true, rng);
    this.top = new Mlp(kernels, [interactionWidth(arch), ...arch.topMlp], output === 'vector', rng);
    this.outputs = arch.topMlp[arch.topMlp.length - 1];
    this.tables = tableConfigs(arch.tableRows, arch.embeddingDim, tableNames);
    this.features = arch.tableRows.length + 1;
  }

  /** A placed tier in the device's memory whose work joins this model's step (absent: the device computes in host
   *  memory, and a placed tier is a compact host table). */
  deviceTier?(rows: number, state: { initial: number } | null): EmbeddingTier;

  get sparse(): SparseArch {
    return this;
  }

  /** The MLPs and the dot interaction's pairs (features x (features - 1) / 2 dot products of the dimension). */
  denseFlops(): number {
    const d = this.arch.embeddingDim, pairs = this.arch.interaction === 'dot' ? (this.features * (this.features - 1)) / 2 : 0;
    return 3 * (this.bottom.forwardFlops() + this.top.forwardFlops() + 2 * pairs * d);
  }

  /** One bag per input and table: the inputs' own. */
  bags(inputs: Jagged): Jagged {
    return inputs;
  }

  denseParams(): DenseParam[] {
    return [...this.bottom.params('bottom'), ...this.top.params('top')];
  }

  /** Where each table's pooled vector sits in the feature buffer [batch x features x dim]. */
  layout(batch: number): SlotLayout {
    const dim = this.arch.embeddingDim;
    return { bags: batch, dim, stride: this.features * dim, slot0: dim };
  }

  /** Floats of the feature buffer for n samples: [n x features x dim]. */
  pooledFloats(n: number): number {
    return n * this.features * this.arch.embeddingDim;
  }

  /** Buffers grow to the largest batch seen; smaller batches use views of them. */
  private ensureBatch(batch: number): void {
    const width = this.arch.interaction === 'dot' ? interactionWidth(this.arch) : 0;
    if (batch > this.capacity) {
      this.capacity = batch;
      this.featureStore = new Float32Array(this.pooledFloats(batch));
      this.featureGradStore = new Float32Array(this.pooledFloats(batch));
      this.interactionStore = new Float32Array(batch * width);
    }
    this.batchSize = batch;
    this.featureGrad = this.featureGradStore.subarray(0, this.pooledFloats(batch));
    this.interactionOut = this.interactionStore.subarray(0, batch * width);
  }

  /** Runs the bottom MLP; the table slots of the returned buffer are for the tiers to fill. */
  forwardDense(batch: Batch): Float32Array {
    this.ensureBatch(batch.size);
    this.dense = this.bottom.forward(batch.dense, batch.size);
    return this.featureStore.subarray(0, this.pooledFloats(batch.size));
  }

  /** Places the bottom MLP's output beside the pooled vectors, then interaction and top MLP: the logits [n]. */
  forwardOutput(pooled: Float32Array): Float32Array {
    const n = this.batchSize, dim = this.arch.embeddingDim, stride = this.features * dim, x = this.dense;
    this.features_ = pooled;
    copyRows(x, dim, pooled, stride, n, dim);
    let topInput = pooled;
    if (this.arch.interaction === 'dot') {
      this.kernels.interactionDotForward(pooled, n, this.features, dim, this.interactionOut, interactionWidth(this.arch));
      topInput = this.interactionOut;
    }
    return this.top.forward(topInput, n);
  }

  learn(pooled: Float32Array, labels: Float32Array, rule: DenseRule): number {
    const n = this.batchSize, logits = this.forwardOutput(pooled);
    if (this.dLogits.length < n) this.dLogits = new Float32Array(n);
    const d = this.dLogits.subarray(0, n), loss = bceWithLogits(logits, labels, n, d);
    this.learnFrom(d, rule);
    return loss;
  }

  /** After forwardOutput: back-propagates the gradient of the output [n x outputs] and applies the dense rule to the
   *  model's parameters (TBSM's tower learns from its time series layer's gradient this way). */
  learnFrom(dOut: Float32Array, rule: DenseRule): void {
    this.backward(dOut, rule.name === 'sgd' ? rule.lr : null);
    if (rule.name === 'adagrad') {
      for (const p of this.denseParams()) this.kernels.denseAdagrad(p.value, rule.state(p), p.grad, rule.lr, rule.eps);
    }
  }

  /** The model computes on denseParams()' own arrays. */
  syncToHost(_rule: DenseRule): void {}
  syncFromHost(): void {}

  /** Back-propagates dOut [n x outputs]; dense gradients land in the parameters' grads, or, with fusedSgdRate, are applied
   *  at once. The pooled vectors' gradient is left in embeddingGrad(). */
  backward(dOut: Float32Array, fusedSgdRate: number | null): void {
    const n = this.batchSize, dim = this.arch.embeddingDim, stride = this.features * dim;
    this.top.outputGrad().set(dOut.subarray(0, n * this.outputs));
    const dTop = this.top.backward(true, fusedSgdRate)!;
    if (this.arch.interaction === 'dot') {
      this.kernels.interactionDotBackward(this.features_, dTop, n, this.features, dim, interactionWidth(this.arch), this.featureGrad);
    } else {
      this.featureGrad.set(dTop);
    }
    const dx = this.bottom.outputGrad();
    copyRows(this.featureGrad, stride, dx, dim, n, dim);
    this.bottom.backward(false, fusedSgdRate);
  }

  /** The gradient w.r.t. every pooled embedding of the last batch, at layout(batch) positions. */
  embeddingGrad(): Float32Array {
    return this.featureGrad;
  }
}

/** The first `width` floats of n rows, from rows `fromStride` apart to rows `toStride` apart (a loop, not a view per
 *  row: TBSM's tower copies one per event). */
function copyRows(from: Float32Array, fromStride: number, to: Float32Array, toStride: number, n: number, width: number): void {
  for (let b = 0; b < n; b++) {
    const f = b * fromStride, t = b * toStride;
    for (let i = 0; i < width; i++) to[t + i] = from[f + i];
  }
}
