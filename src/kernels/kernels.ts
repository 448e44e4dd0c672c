/**
 * The compute device interface. Every op of a DLRM training step goes through it, so a backend
 * (native C++ with OpenBLAS, the plain TypeScript oracle, later a GPU) plugs in without the model,
 * the optimizers or the policies knowing which one runs.
 *
 * Layout conventions: matrices are row-major Float32Arrays; a view at an offset is a subarray.
 */
import type { Jagged } from '../tensor/jagged.ts';
import type { RowSegments } from '../tensor/segments.ts';
import type { Lane, LaneOwner } from '../io/lane.ts';

/** The lookups of every table for one batch, in CSR form: bag b of table t pools
 *  indices[t][offsets[t][b] .. offsets[t][b+1]). */
export interface Bags {
  indices: Int32Array[];
  offsets: Int32Array[];
}

/** Where table t's pooled vector lives in a [bags x stride] activation: columns slot0 + t*dim .. + dim. */
export interface SlotLayout {
  bags: number;
  dim: number;
  stride: number;
  slot0: number;
}

export type SparseOptimizer = 'sgd' | 'rowwise-adagrad';

export interface SparseUpdate {
  optimizer: SparseOptimizer;
  lr: number;
  eps: number;
  /** Row-wise Adagrad state, one float per row of each table (null for SGD). */
  states: Float32Array[] | null;
}

/** A head's span of a batch of sequences U [n x events x dim] (TBSM: each sample's event vectors, the candidate
 *  last): events first .. first + length - 1 of every sample. */
export interface SequenceSpan {
  n: number;
  events: number;
  first: number;
  length: number;
  dim: number;
}

export interface Kernels {
  /** 'native' or 'typescript', with what it runs on, e.g. "native (OpenBLAS GEMM, 2 threads)". */
  readonly name: string;
  describe(): string;
  setThreads(threads: number): void;

  /** C[M x N] = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions. */
  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void;
  /** Y = act(Y + bias) in place over [rows x cols]. */
  biasActivation(Y: Float32Array, rows: number, cols: number, bias: Float32Array, relu: boolean): void;
  /** dY *= (Y > 0) when relu; dBias = column sums of dY (added to dBias when accumulate). */
  activationBackward(dY: Float32Array, Y: Float32Array, rows: number, cols: number, relu: boolean, dBias: Float32Array, accumulate: boolean): void;

  /** out[b] = [T[b,0,:], <T[b,i],T[b,j]> for i = 1..F-1, j < i] with T = [bags x F x d]. */
  interactionDotForward(T: Float32Array, bags: number, F: number, d: number, out: Float32Array, outStride: number): void;
  interactionDotBackward(
    T: Float32Array, dOut: Float32Array, bags: number, F: number, d: number, outStride: number, dT: Float32Array,
  ): void;

  /** TBSM's spherical projection row by row: u = v / max(|v|, 1e-12), norms[r] = |v_r| (torch's F.normalize). */
  sphereForward(v: Float32Array, rows: number, dim: number, u: Float32Array, norms: Float32Array): void;
  /** Its backward in place: du becomes dv = (du - u <u, du>) / |v| (du / 1e-12 below the floor). */
  sphereBackward(u: Float32Array, norms: Float32Array, rows: number, dim: number, du: Float32Array): void;
  /** TBSM's attention scores: scores[b][t] = <U[b][first + t], x[b]> over the span (x's rows xStride apart). */
  attendForward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, scores: Float32Array): void;
  /** dU[b][first + t] += g[b][t] x[b]; dx[b] = sum over t of g[b][t] U[b][first + t] (dx's rows dxStride apart). */
  attendBackward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, g: Float32Array, dU: Float32Array, dx: Float32Array, dxStride: number): void;
  /** TBSM's context: out[b] = sum over t of y[b][t] U[b][first + t] (out's rows outStride apart). */
  contextForward(U: Float32Array, span: SequenceSpan, y: Float32Array, out: Float32Array, outStride: number): void;
  /** dy[b][t] = <dOut[b], U[b][first + t]>; dU[b][first + t] += y[b][t] dOut[b]. */
  contextBackward(U: Float32Array, span: SequenceSpan, y: Float32Array, dOut: Float32Array, outStride: number, dU: Float32Array, dy: Float32Array): void;

  /** Sum-pools each bag's rows into out at the layout's slots (added to what is there when accumulate). */
  embeddingForward(weights: Float32Array[], ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate?: boolean): void;
  /** Applies the merged gradient of every touched row (grad at the layout's slots): row-wise Adagrad merges
   *  duplicate rows first and updates each once; SGD, being linear, may apply each lookup's share in place. */
  embeddingUpdate(weights: Float32Array[], ids: Jagged, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): void;

  /** Splits the lookups by tier, in batch order, one jagged per tier: a row with slotOf[t][row] < 0 stays in the
   *  home tier (the last) as its id; slot s belongs to the first tier k with s < tierEnd[k], as s - tierEnd[k - 1]. */
  splitLookups(slotOf: Int32Array[], tierEnd: Int32Array, ids: Jagged): Jagged[];

  /** A batch's lookups grouped by the row they read (a device tier's deterministic update: rowSegments). */
  rowSegments(ids: Jagged): RowSegments;

  denseSgd(w: Float32Array, g: Float32Array, lr: number): void;
  /** state += g^2; w -= lr * g / (sqrt(state) + eps). */
  denseAdagrad(w: Float32Array, state: Float32Array, g: Float32Array, lr: number, eps: number): void;

  /** Uniform values in [low, high) from a counter-based hash of (seed, stream, index): the same on every backend. */
  /** Element i takes counter first + i (default 0), so a table filled in parts equals one filled whole. */
  fillUniform(data: Float32Array, seed: number, stream: number, low: number, high: number, first?: number): void;
  /** A zeroed table of `floats` floats (the native backend maps it with transparent huge pages). */
  allocateTable(floats: number): Float32Array;

  /** The owner's lane, created on first use, one per name in the process (native: a thread of its own;
   *  TypeScript: jobs run in order on the calling thread when one of them is waited for). */
  lane(owner: LaneOwner): Lane;
}
