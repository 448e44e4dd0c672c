/** The native backend: C++ kernels (OpenBLAS GEMM when linked) on a pool of threads, via N-API. */
import { loadNativeAddon } from '../util/addon.ts';
import type { Lane, LaneJob, LaneOwner } from '../io/lane.ts';
import type { Kernels, SequenceSpan, SlotLayout, SparseUpdate } from './kernels.ts';
import { type Jagged, tableBags } from '../tensor/jagged.ts';
import type { RowSegments } from '../tensor/segments.ts';

/** A sequence span as the addon takes it: n, events, first, length, dim. */
type Span = [number, number, number, number, number];
const spanArgs = (s: SequenceSpan): Span => [s.n, s.events, s.first, s.length, s.dim];

interface Addon {
  gemm(...args: [boolean, boolean, number, number, number, number, Float32Array, number, Float32Array, number, number, Float32Array, number]): void;
  gemmOwn(...args: [boolean, boolean, number, number, number, number, Float32Array, number, Float32Array, number, number, Float32Array, number]): void;
  biasActivation(Y: Float32Array, rows: number, cols: number, bias: Float32Array, relu: boolean): void;
  activationBackward(dY: Float32Array, Y: Float32Array, rows: number, cols: number, relu: boolean, dBias: Float32Array, accumulate: boolean): void;
  interactionDotForward(T: Float32Array, bags: number, F: number, d: number, out: Float32Array, outStride: number): void;
  interactionDotBackward(T: Float32Array, dOut: Float32Array, bags: number, F: number, d: number, outStride: number, dT: Float32Array): void;
  sphereForward(v: Float32Array, rows: number, dim: number, u: Float32Array, norms: Float32Array): void;
  sphereBackward(u: Float32Array, norms: Float32Array, rows: number, dim: number, du: Float32Array): void;
  attendForward(...args: [Float32Array, ...Span, Float32Array, number, Float32Array]): void;
  attendBackward(...args: [Float32Array, ...Span, Float32Array, number, Float32Array, Float32Array, Float32Array, number]): void;
  contextForward(...args: [Float32Array, ...Span, Float32Array, Float32Array, number]): void;
  contextBackward(...args: [Float32Array, ...Span, Float32Array, Float32Array, number, Float32Array, Float32Array]): void;
  embeddingForward(
    weights: Float32Array[], states: null, indices: Int32Array[], offsets: Int32Array[],
    bags: number, dim: number, stride: number, slot0: number, out: Float32Array, accumulate: boolean,
  ): void;
  embeddingUpdate(
    weights: Float32Array[], states: Float32Array[] | null, indices: Int32Array[], offsets: Int32Array[],
    bags: number, dim: number, stride: number, slot0: number, grad: Float32Array, optimizer: number, lr: number, eps: number,
  ): void;
  splitLookups(...args: [Int32Array[], Int32Array, Int32Array, number, number, Int32Array, Int32Array[], Int32Array[]]): void;
  rowSegments(ids: Int32Array, offsets: Int32Array, bagCount: number, rows: Int32Array, starts: Int32Array, lookups: Int32Array): number;
  denseSgd(w: Float32Array, g: Float32Array, n: number, lr: number): void;
  denseAdagrad(w: Float32Array, state: Float32Array, g: Float32Array, n: number, lr: number, eps: number): void;
  fillUniform(data: Float32Array, n: number, seed: number, stream: number, low: number, high: number, first: number): void;
  allocateTable(floats: number): ArrayBuffer;
  setThreads(threads: number): void;
  info(): { gemm: string; threads: number };
  /** Lane bindings take the kernel's arguments, then the lane (from laneOpen) last, and return the job's id. */
  laneOpen(owner: string): number;
  laneGather(...args: [Float32Array[], Int32Array[], Int32Array[], number, number, number, number, Float32Array, number]): number;
  laneRefetch(...args: [Float32Array[], Int32Array[], Int32Array[], number, number, number, number, Float32Array, Int32Array[], number]): number;
  laneUpdate(...args: [Float32Array[], Float32Array[] | null, Int32Array[], Int32Array[], number, number, number, number, Float32Array, number, number, number, number]): number;
  laneRead(path: string, position: number, target: ArrayBufferView, lane: number): number;
  laneWait(job: number, lane: number): LaneJob;
  monotonicNs(): number;
  /** Turns the embedding kernels' bounds check on or off (see setBoundsCheck below); returns the old state. */
  setBoundsCheck(on: boolean): boolean;
  firstIdOutOfRange(ids: Int32Array, rows: number): number;
  firstNonFinite(values: Float32Array): number;
  firstNotBinary(labels: Float32Array): number;
}

/** Loads the addon, or returns the reason it cannot be used. */
export const loadAddon = (): Addon | Error => loadNativeAddon<Addon>();

/**
 * The native embedding kernels' bounds check (ids, offsets and array lengths checked before every kernel
 * that reads rows by id, a clear Error instead of a read or write out of bounds). Off by default; on when
 * HOTLINE_BOUNDS_CHECK=1 as the addon loads (`npm test` sets it). Returns whether it was on, or null when the
 * addon is not built.
 */
export function setBoundsCheck(on: boolean): boolean | null {
  const addon = loadAddon();
  return addon instanceof Error ? null : addon.setBoundsCheck(on);
}

export class NativeKernels implements Kernels {
  readonly name = 'native';

  constructor(readonly addon: Addon) {}

  describe(): string {
    const { gemm, threads } = this.addon.info();
    return `native (GEMM: ${gemm}; ${threads} thread${threads > 1 ? 's' : ''})`;
  }

  setThreads(threads: number): void {
    this.addon.setThreads(threads);
  }

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void {
    this.addon.gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  }

  biasActivation(Y: Float32Array, rows: number, cols: number, bias: Float32Array, relu: boolean): void {
    this.addon.biasActivation(Y, rows, cols, bias, relu);
  }

  activationBackward(dY: Float32Array, Y: Float32Array, rows: number, cols: number, relu: boolean, dBias: Float32Array, accumulate: boolean): void {
    this.addon.activationBackward(dY, Y, rows, cols, relu, dBias, accumulate);
  }

  interactionDotForward(T: Float32Array, bags: number, F: number, d: number, out: Float32Array, outStride: number): void {
    this.addon.interactionDotForward(T, bags, F, d, out, outStride);
  }

  interactionDotBackward(
    T: Float32Array, dOut: Float32Array, bags: number, F: number, d: number, outStride: number, dT: Float32Array,
  ): void {
    this.addon.interactionDotBackward(T, dOut, bags, F, d, outStride, dT);
  }

  sphereForward(v: Float32Array, rows: number, dim: number, u: Float32Array, norms: Float32Array): void {
    this.addon.sphereForward(v, rows, dim, u, norms);
  }

  sphereBackward(u: Float32Array, norms: Float32Array, rows: number, dim: number, du: Float32Array): void {
    this.addon.sphereBackward(u, norms, rows, dim, du);
  }

  attendForward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, scores: Float32Array): void {
    this.addon.attendForward(U, ...spanArgs(span), x, xStride, scores);
  }

  attendBackward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, g: Float32Array, dU: Float32Array, dx: Float32Array, dxStride: number): void {
    this.addon.attendBackward(U, ...spanArgs(span), x, xStride, g, dU, dx, dxStride);
  }

  contextForward(U: Float32Array, span: SequenceSpan, y: Float32Array, out: Float32Array, outStride: number): void {
    this.addon.contextForward(U, ...spanArgs(span), y, out, outStride);
  }

  contextBackward(U: Float32Array, span: SequenceSpan, y: Float32Array, dOut: Float32Array, outStride: number, dU: Float32Array, dy: Float32Array): void {
    this.addon.contextBackward(U, ...spanArgs(span), y, dOut, outStride, dU, dy);
  }

  embeddingForward(weights: Float32Array[], ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): void {
    const { bags: n, dim, stride, slot0 } = layout, bags = tableBags(ids);
    this.addon.embeddingForward(weights, null, bags.indices, bags.offsets, n, dim, stride, slot0, out, accumulate);
  }

  embeddingUpdate(weights: Float32Array[], ids: Jagged, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): void {
    const { bags: n, dim, stride, slot0 } = layout, bags = tableBags(ids);
    const optimizer = update.optimizer === 'rowwise-adagrad' ? 1 : 0;
    this.addon.embeddingUpdate(
      weights, update.states, bags.indices, bags.offsets, n, dim, stride, slot0, grad, optimizer, update.lr, update.eps,
    );
  }

  splitLookups(slotOf: Int32Array[], tierEnd: Int32Array, ids: Jagged): Jagged[] {
    const tiers = tierEnd.length + 1, { tables, bags } = ids;
    const outIds = Array.from({ length: tiers }, () => new Int32Array(ids.ids.length));
    const outOffsets = Array.from({ length: tiers }, () => new Int32Array(ids.offsets.length));
    this.addon.splitLookups(slotOf, ids.ids, ids.offsets, tables, bags, tierEnd, outIds, outOffsets);
    return outIds.map((a, k) => ({ tables, bags, ids: a.subarray(0, outOffsets[k][tables * bags]), offsets: outOffsets[k] }));
  }

  rowSegments(ids: Jagged): RowSegments {
    const bagCount = ids.tables * ids.bags, n = ids.offsets[bagCount] - ids.offsets[0];
    const rows = new Int32Array(n), starts = new Int32Array(n + 1), lookups = new Int32Array(n);
    const distinct = this.addon.rowSegments(ids.ids, ids.offsets.subarray(0, bagCount + 1), bagCount, rows, starts, lookups);
    return { rows: rows.subarray(0, distinct), starts: starts.subarray(0, distinct + 1), lookups };
  }

  denseSgd(w: Float32Array, g: Float32Array, lr: number): void {
    this.addon.denseSgd(w, g, w.length, lr);
  }

  denseAdagrad(w: Float32Array, state: Float32Array, g: Float32Array, lr: number, eps: number): void {
    this.addon.denseAdagrad(w, state, g, w.length, lr, eps);
  }

  fillUniform(data: Float32Array, seed: number, stream: number, low: number, high: number, first = 0): void {
    this.addon.fillUniform(data, data.length, seed >>> 0, stream >>> 0, low, high, first);
  }

  allocateTable(floats: number): Float32Array {
    return new Float32Array(this.addon.allocateTable(floats));
  }

  lane(owner: LaneOwner): Lane {
    const a = this.addon, lane = a.laneOpen(owner);
    return {
      owner,
      gather: (host, bags, l, out) => a.laneGather(host, bags.indices, bags.offsets, l.bags, l.dim, l.stride, l.slot0, out, lane),
      refetch: (host, bags, l, out, touched) =>
        a.laneRefetch(host, bags.indices, bags.offsets, l.bags, l.dim, l.stride, l.slot0, out, touched, lane),
      update: (host, bags, l, grad, u) =>
        a.laneUpdate(
          host, u.states, bags.indices, bags.offsets, l.bags, l.dim, l.stride, l.slot0, grad,
          u.optimizer === 'rowwise-adagrad' ? 1 : 0, u.lr, u.eps, lane,
        ),
      read: (path, position, target) => a.laneRead(path, position, target, lane),
      wait: (job) => a.laneWait(job, lane),
      now: () => a.monotonicNs(),
    };
  }
}
