/**
 * A device program: the kernels of one training (or evaluation) step over device tensors, compiled once in the GPU
 * worker and run once per step with that step's input count. Its inputs and outputs travel through a shared arena
 * (a SharedArrayBuffer the caller fills and reads), so a step is one request and one answer, never one per kernel.
 * Plain data: it crosses to the worker by structured clone.
 */

/** A length or count: fixed, a multiple of the step's input count n, or one of the run's parameters (plus a constant):
 *  counts the host knows only per step (a batch's lookups, its distinct rows). */
export type Dim = number | { perInput: number } | { param: number; plus?: number };

/** What one run of a program is sized by: its input count and its parameters. */
export interface RunSize {
  n: number;
  params: readonly number[];
}

/** The most parameters a run takes. */
export const maxParams = 8;

export function resolveDim(d: Dim, size: RunSize): number {
  if (typeof d === 'number') return d;
  if ('perInput' in d) return d.perInput * size.n;
  return (size.params[d.param] ?? 0) + (d.plus ?? 0);
}

/** Floats copied between the arena (from float `slot` on) and a tensor (from element `offset` on). */
export interface Transfer {
  slot: number;
  tensor: number;
  floats: Dim;
  offset?: number;
}

/** Every kernel the device runs; tensors are ids, offsets and strides count elements. */
export type KernelOp =
  | {
    kernel: 'gemm'; transA: boolean; transB: boolean; M: Dim; N: Dim; K: Dim; alpha: number; beta: number;
    a: number; lda: number; b: number; ldb: number; c: number; ldc: number; aOffset?: number; bOffset?: number; cOffset?: number;
  }
  | { kernel: 'biasActivation'; y: number; rows: Dim; cols: number; bias: number; relu: boolean }
  | { kernel: 'activationBackward'; dy: number; y: number; rows: Dim; cols: number; relu: boolean; dBias: number }
  | { kernel: 'copy2d'; src: number; srcStride: number; srcOffset: number; dst: number; dstStride: number; dstOffset: number; rows: Dim; cols: number }
  | { kernel: 'interactionForward'; t: number; rows: Dim; features: number; dim: number; out: number; outStride: number }
  | { kernel: 'interactionBackward'; t: number; dOut: number; rows: Dim; features: number; dim: number; outStride: number; dT: number }
  | { kernel: 'bceWithLogits'; logits: number; labels: number; rows: Dim; dLogits: number; loss: number }
  | {
    kernel: 'embeddingPool'; weights: number; ids: number; offsets: number; out: number; tables: number; bags: Dim; dim: number;
    stride: number; slot0: number; accumulate: boolean;
  }
  | {
    kernel: 'rowUpdate'; weights: number; state: number; grad: number; rows: number; starts: number; lookups: number;
    segments: Dim; dim: number; stride: number; slot0: number; bags: Dim; adagrad: boolean; lr: number; eps: number;
  }
  | { kernel: 'gatherRows'; src: number; rows: number; dst: number; count: Dim; dim: number }
  | { kernel: 'scatterRows'; src: number; rows: number; dst: number; count: Dim; dim: number }
  | { kernel: 'rowChange'; before: number; after: number; change: number; count: Dim; dim: number; relative: boolean }
  | { kernel: 'sgd'; w: number; g: number; lr: number; length: number }
  | { kernel: 'adagrad'; w: number; state: number; g: number; lr: number; eps: number; length: number };

export interface Program {
  /** Arena floats this program's transfers use (each transfer stays within its slot). */
  arenaFloats: number;
  /** Copied into their tensors before the kernels run. */
  inputs: Transfer[];
  kernels: KernelOp[];
  /** Copied out once the kernels are done. */
  outputs: Transfer[];
}

/** Hands out arena slots in order, one per transfer. */
export class ArenaLayout {
  private next = 0;

  /** A slot of `floats` floats (a multiple of 4, for 16-byte aligned copies). */
  take(floats: number): number {
    const slot = this.next;
    this.next += Math.ceil(floats / 4) * 4;
    return slot;
  }

  get floats(): number {
    return this.next;
  }
}
