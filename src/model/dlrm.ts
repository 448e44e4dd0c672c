/**
 * The DLRM network: bottom MLP on dense features, sum-pooled embedding bags, dot (or concatenation)
 * interaction, top MLP to one logit. Forward and backward run on the given kernels; the sparse
 * gradient stays in the interaction-gradient buffer and is merged per row by the optimizer's update.
 */
import type { Kernels, SlotLayout } from '../kernels/kernels.ts';
import type { Batch } from '../data/batch.ts';
import { Rng } from '../util/rng.ts';
import { type DlrmArch, interactionWidth, validateArch } from './arch.ts';
import { type EmbeddingStore, EmbeddingTables } from './embeddings.ts';
import type { PhaseTimes } from '../util/phase-times.ts';
import { type DenseParam, Mlp } from './mlp.ts';

export class Dlrm {
  readonly bottom: Mlp;
  readonly top: Mlp;
  readonly tables: EmbeddingTables;
  /** Feature vectors per sample entering the interaction: the bottom MLP's output and one per table. */
  readonly features: number;
  private batchSize = 0;
  private capacity = 0;
  private featureStore = new Float32Array(0);
  private featureGradStore = new Float32Array(0);
  private interactionStore = new Float32Array(0);
  /** The features of the last forward: the model's own buffer, or the caller's pre-gathered one. */
  private features_: Float32Array = new Float32Array(0);
  private featureGrad = new Float32Array(0);
  private interactionOut = new Float32Array(0);
  /** When set, embedding work is timed into it (the rest of a step is dense work). */
  times: PhaseTimes | null = null;

  constructor(private readonly kernels: Kernels, readonly arch: DlrmArch, readonly seed: number) {
    validateArch(arch);
    const rng = new Rng(seed, 1);
    this.bottom = new Mlp(kernels, arch.bottomMlp, true, rng);
    this.top = new Mlp(kernels, [interactionWidth(arch), ...arch.topMlp], false, rng);
    this.tables = new EmbeddingTables(kernels, arch.tableRows, arch.embeddingDim, seed);
    this.features = arch.tableRows.length + 1;
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
  featureFloats(n: number): number {
    return n * this.features * this.arch.embeddingDim;
  }

  /** Buffers grow to the largest batch seen; smaller batches use views of them. */
  private ensureBatch(batch: number): void {
    const width = this.arch.interaction === 'dot' ? interactionWidth(this.arch) : 0;
    if (batch > this.capacity) {
      this.capacity = batch;
      this.featureStore = new Float32Array(this.featureFloats(batch));
      this.featureGradStore = new Float32Array(this.featureFloats(batch));
      this.interactionStore = new Float32Array(batch * width);
    }
    this.batchSize = batch;
    this.featureGrad = this.featureGradStore.subarray(0, this.featureFloats(batch));
    this.interactionOut = this.interactionStore.subarray(0, batch * width);
  }

  /**
   * Returns the logits [batch.size] (a buffer owned by the model). Embeddings come from store, or, when
   * `pooled` is given, from the feature buffer it returns with the table slots (layout(n)) filled: it is
   * called after the bottom MLP, so a gather engine's work overlaps that layer.
   */
  forward(batch: Batch, store: EmbeddingStore = this.tables, pooled?: () => Float32Array): Float32Array {
    const n = batch.size, dim = this.arch.embeddingDim, stride = this.features * dim;
    this.ensureBatch(n);
    const x = this.bottom.forward(batch.dense, n);
    const gathered = pooled?.();
    const T = (this.features_ = gathered ?? this.featureStore.subarray(0, this.featureFloats(n)));
    for (let b = 0; b < n; b++) T.set(x.subarray(b * dim, (b + 1) * dim), b * stride);
    if (!gathered) {
      const t0 = process.hrtime.bigint();
      this.kernels.embeddingForward(store.weights, batch.sparse, this.layout(n), T);
      this.times?.add('embedding', process.hrtime.bigint() - t0);
    }
    let topInput = T;
    if (this.arch.interaction === 'dot') {
      this.kernels.interactionDotForward(T, n, this.features, dim, this.interactionOut, interactionWidth(this.arch));
      topInput = this.interactionOut;
    }
    return this.top.forward(topInput, n);
  }

  /**
   * Back-propagates dLogits; dense gradients land in the layers (or, with sgdRate, are applied to them
   * at once: see Mlp.backward), the sparse one in embeddingGrad(). With accumulate, dense gradients are
   * added to the previous micro-batch's.
   */
  backward(dLogits: Float32Array, sgdRate: number | null = null, accumulate = false): void {
    const n = this.batchSize, dim = this.arch.embeddingDim, stride = this.features * dim;
    this.top.outputGrad().set(dLogits.subarray(0, n));
    const dTop = this.top.backward(true, sgdRate, accumulate)!;
    if (this.arch.interaction === 'dot') {
      this.kernels.interactionDotBackward(this.features_, dTop, n, this.features, dim, interactionWidth(this.arch), this.featureGrad);
    } else {
      this.featureGrad.set(dTop);
    }
    const dx = this.bottom.outputGrad();
    for (let b = 0; b < n; b++) dx.set(this.featureGrad.subarray(b * stride, b * stride + dim), b * dim);
    this.bottom.backward(false, sgdRate, accumulate);
  }

  /** The gradient w.r.t. every pooled embedding of the last batch, at layout(batch) positions. */
  embeddingGrad(): Float32Array {
    return this.featureGrad;
  }
}
