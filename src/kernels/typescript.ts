/**
 * Plain TypeScript kernels: the test oracle for every native kernel and the fallback when the addon
 * is not built. Sums accumulate in float64, so they are at least as accurate as float32 BLAS.
 */
import type { Lane, LaneJob, LaneOwner } from '../io/lane.ts';
import type { Bags, Kernels, SequenceSpan, SlotLayout, SparseUpdate } from './kernels.ts';
import { closeSync, openSync, readSync } from 'node:fs';
import { type Jagged, tableBags } from '../tensor/jagged.ts';
import { type RowSegments, rowSegments } from '../tensor/segments.ts';
import { streamKey, uniformAt } from '../util/counter-hash.ts';

/** The gradient of each distinct row a table's bags touched, summed over its lookups, in first-seen order. */
export function mergeRowGradients(
  indices: Int32Array, offsets: Int32Array, layout: SlotLayout, table: number, grad: Float32Array,
): Map<number, Float64Array> {
  const { bags, dim, stride, slot0 } = layout;
  const rows = new Map<number, Float64Array>();
  for (let b = 0; b < bags; b++) {
    const at = b * stride + slot0 + table * dim;
    for (let p = offsets[b]; p < offsets[b + 1]; p++) {
      let g = rows.get(indices[p]);
      if (!g) rows.set(indices[p], (g = new Float64Array(dim)));
      for (let j = 0; j < dim; j++) g[j] += grad[at + j];
    }
  }
  return rows;
}

/** torch's F.normalize floor on a norm. */
const sphereFloor = 1e-12;

/** Where event t of sample b's span starts in U. */
function eventRow(span: SequenceSpan, b: number, t: number): number {
  return (b * span.events + span.first + t) * span.dim;
}

export class TypeScriptKernels implements Kernels {
  readonly name = 'typescript';

  describe(): string {
    return 'typescript (reference kernels, 1 thread)';
  }

  setThreads(): void {}

  gemm(
    transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, lda: number, B: Float32Array, ldb: number, beta: number, C: Float32Array, ldc: number,
  ): void {
    const aRow = transA ? 1 : lda, aCol = transA ? lda : 1;
    const bRow = transB ? 1 : ldb, bCol = transB ? ldb : 1;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[i * aRow + k * aCol] * B[k * bRow + j * bCol];
        const c = i * ldc + j;
        C[c] = alpha * sum + (beta === 0 ? 0 : beta * C[c]);
      }
    }
  }

  biasActivation(Y: Float32Array, rows: number, cols: number, bias: Float32Array, relu: boolean): void {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const v = Y[i * cols + j] + bias[j];
        Y[i * cols + j] = relu && v < 0 ? 0 : v;
      }
    }
  }

  activationBackward(dY: Float32Array, Y: Float32Array, rows: number, cols: number, relu: boolean, dBias: Float32Array, accumulate: boolean): void {
    const sums = new Float64Array(cols);
    if (accumulate) sums.set(dBias);
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        if (relu && !(Y[i * cols + j] > 0)) dY[i * cols + j] = 0;
        sums[j] += dY[i * cols + j];
      }
    }
    dBias.set(sums);
  }

  interactionDotForward(T: Float32Array, bags: number, F: number, d: number, out: Float32Array, outStride: number): void {
    for (let b = 0; b < bags; b++) {
      const t = b * F * d;
      let o = b * outStride;
      for (let k = 0; k < d; k++) out[o++] = T[t + k];
      for (let i = 1; i < F; i++) {
        for (let j = 0; j < i; j++) {
          let s = 0;
          for (let k = 0; k < d; k++) s += T[t + i * d + k] * T[t + j * d + k];
          out[o++] = s;
        }
      }
    }
  }

  interactionDotBackward(
    T: Float32Array, dOut: Float32Array, bags: number, F: number, d: number, outStride: number, dT: Float32Array,
  ): void {
    const acc = new Float64Array(F * d);
    for (let b = 0; b < bags; b++) {
      const t = b * F * d;
      let g = b * outStride;
      acc.fill(0);
      for (let k = 0; k < d; k++) acc[k] = dOut[g++];
      for (let i = 1; i < F; i++) {
        for (let j = 0; j < i; j++) {
          const gij = dOut[g++];
          for (let k = 0; k < d; k++) {
            acc[i * d + k] += gij * T[t + j * d + k];
            acc[j * d + k] += gij * T[t + i * d + k];
          }
        }
      }
      dT.set(acc, t);
    }
  }

  sphereForward(v: Float32Array, rows: number, dim: number, u: Float32Array, norms: Float32Array): void {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += v[r * dim + i] * v[r * dim + i];
      norms[r] = Math.sqrt(s);
      const scale = 1 / Math.max(norms[r], sphereFloor);
      for (let i = 0; i < dim; i++) u[r * dim + i] = v[r * dim + i] * scale;
    }
  }

  sphereBackward(u: Float32Array, norms: Float32Array, rows: number, dim: number, du: Float32Array): void {
    for (let r = 0; r < rows; r++) {
      const at = r * dim;
      if (norms[r] > sphereFloor) {
        let s = 0;
        for (let i = 0; i < dim; i++) s += u[at + i] * du[at + i];
        for (let i = 0; i < dim; i++) du[at + i] = (du[at + i] - u[at + i] * s) / norms[r];
      } else {
        for (let i = 0; i < dim; i++) du[at + i] /= sphereFloor;
      }
    }
  }

  attendForward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, scores: Float32Array): void {
    const { n, length, dim } = span;
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < length; t++) {
        const h = eventRow(span, b, t);
        let s = 0;
        for (let i = 0; i < dim; i++) s += U[h + i] * x[b * xStride + i];
        scores[b * length + t] = s;
      }
    }
  }

  attendBackward(U: Float32Array, span: SequenceSpan, x: Float32Array, xStride: number, g: Float32Array, dU: Float32Array, dx: Float32Array, dxStride: number): void {
    const { n, length, dim } = span, acc = new Float64Array(dim);
    for (let b = 0; b < n; b++) {
      acc.fill(0);
      for (let t = 0; t < length; t++) {
        const h = eventRow(span, b, t), gt = g[b * length + t];
        for (let i = 0; i < dim; i++) {
          dU[h + i] += gt * x[b * xStride + i];
          acc[i] += gt * U[h + i];
        }
      }
      dx.set(acc, b * dxStride);
    }
  }

  contextForward(U: Float32Array, span: SequenceSpan, y: Float32Array, out: Float32Array, outStride: number): void {
    const { n, length, dim } = span, acc = new Float64Array(dim);
    for (let b = 0; b < n; b++) {
      acc.fill(0);
      for (let t = 0; t < length; t++) {
        const h = eventRow(span, b, t), yt = y[b * length + t];
        for (let i = 0; i < dim; i++) acc[i] += yt * U[h + i];
      }
      out.set(acc, b * outStride);
    }
  }

  contextBackward(U: Float32Array, span: SequenceSpan, y: Float32Array, dOut: Float32Array, outStride: number, dU: Float32Array, dy: Float32Array): void {
    const { n, length, dim } = span;
    for (let b = 0; b < n; b++) {
      for (let t = 0; t < length; t++) {
        const h = eventRow(span, b, t), yt = y[b * length + t];
        let s = 0;
        for (let i = 0; i < dim; i++) {
          s += dOut[b * outStride + i] * U[h + i];
          dU[h + i] += yt * dOut[b * outStride + i];
        }
        dy[b * length + t] = s;
      }
    }
  }

  embeddingForward(weights: Float32Array[], ids: Jagged, layout: SlotLayout, out: Float32Array, accumulate = false): void {
    this.poolRows(weights, tableBags(ids), layout, out, accumulate, () => true);
  }

  /** Pools the bags that `only` admits; returns how many. */
  poolRows(weights: Float32Array[], bags: Bags, layout: SlotLayout, out: Float32Array, accumulate: boolean, only: (t: number, b: number) => boolean): number {
    const { dim, stride, slot0 } = layout;
    const sum = new Float64Array(dim);
    let pooled = 0;
    weights.forEach((w, t) => {
      const indices = bags.indices[t], offsets = bags.offsets[t];
      for (let b = 0; b < layout.bags; b++) {
        if (!only(t, b)) continue;
        pooled++;
        const at = b * stride + slot0 + t * dim;
        for (let j = 0; j < dim; j++) sum[j] = accumulate ? out[at + j] : 0;
        for (let p = offsets[b]; p < offsets[b + 1]; p++) {
          for (let j = 0; j < dim; j++) sum[j] += w[indices[p] * dim + j];
        }
        out.set(sum, at);
      }
    });
    return pooled;
  }

  embeddingUpdate(weights: Float32Array[], ids: Jagged, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): void {
    this.updateRows(weights, tableBags(ids), layout, grad, update);
  }

  updateRows(weights: Float32Array[], bags: Bags, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): void {
    const { dim } = layout;
    weights.forEach((w, t) => {
      const rows = mergeRowGradients(bags.indices[t], bags.offsets[t], layout, t, grad);
      for (const [row, g] of rows) {
        let denominator = 1;
        if (update.optimizer === 'rowwise-adagrad') {
          const state = update.states![t];
          let sumSquares = 0;
          for (let j = 0; j < dim; j++) sumSquares += g[j] * g[j];
          state[row] += sumSquares / dim;
          denominator = Math.sqrt(state[row]) + update.eps;
        }
        for (let j = 0; j < dim; j++) w[row * dim + j] -= update.lr * (g[j] / denominator);
      }
    });
  }

  splitLookups(slotOf: Int32Array[], tierEnd: Int32Array, ids: Jagged): Jagged[] {
    const { tables, bags } = ids, tiers = tierEnd.length + 1;
    const out = Array.from({ length: tiers }, () => ({ ids: [] as number[], offsets: new Int32Array(tables * bags + 1) }));
    for (let b = 0; b < tables * bags; b++) {
      for (let p = ids.offsets[b]; p < ids.offsets[b + 1]; p++) {
        const row = ids.ids[p], slot = slotOf[Math.floor(b / bags)][row];
        let k = 0;
        if (slot < 0) k = tiers - 1;
        else while (slot >= tierEnd[k]) k++;
        out[k].ids.push(slot < 0 ? row : slot - (k > 0 ? tierEnd[k - 1] : 0));
      }
      for (const o of out) o.offsets[b + 1] = o.ids.length;
    }
    return out.map((o) => ({ tables, bags, ids: Int32Array.from(o.ids), offsets: o.offsets }));
  }

  rowSegments(ids: Jagged): RowSegments {
    return rowSegments(ids);
  }

  denseSgd(w: Float32Array, g: Float32Array, lr: number): void {
    for (let i = 0; i < w.length; i++) w[i] -= lr * g[i];
  }

  denseAdagrad(w: Float32Array, state: Float32Array, g: Float32Array, lr: number, eps: number): void {
    for (let i = 0; i < w.length; i++) {
      state[i] += g[i] * g[i];
      w[i] -= (lr * g[i]) / (Math.sqrt(state[i]) + eps);
    }
  }

  fillUniform(data: Float32Array, seed: number, stream: number, low: number, high: number, first = 0): void {
    const key = streamKey(seed, stream);
    for (let i = 0; i < data.length; i++) data[i] = low + (high - low) * uniformAt(key, first + i);
  }

  allocateTable(floats: number): Float32Array {
    return new Float32Array(floats);
  }

  lane(owner: LaneOwner): Lane {
    let lane = oracleLanes.get(owner);
    if (!lane) oracleLanes.set(owner, (lane = new OracleLane(owner, oracleLanes.size, this)));
    return lane;
  }
}

/** A job id is lane index * 2^44 + its sequence number on the lane, as the native lanes number them. */
const sequenceSpan = 2 ** 44;

/** One per owner in the process, as the native lanes. */
const oracleLanes = new Map<string, OracleLane>();

/**
 * The oracle of a native lane: a job queues at submission and runs on the calling thread when it, or a later job
 * of its lane, is waited for, after every job queued before it. So it runs no earlier than a native lane could
 * run it, and a caller that touches a job's arrays before waiting for it sees the job not yet done.
 */
class OracleLane implements Lane {
  private readonly queued: (() => number)[] = [];
  private readonly results = new Map<number, LaneJob>(); // by sequence number, until waited for
  private submitted = 0;
  private ran = 0; // FIFO: jobs 1..ran have run

  constructor(readonly owner: LaneOwner, private readonly index: number, private readonly kernels: TypeScriptKernels) {}

  now(): number {
    return Number(process.hrtime.bigint());
  }

  private submit(work: () => number): number {
    this.queued.push(work);
    return this.index * sequenceSpan + ++this.submitted;
  }

  wait(job: number): LaneJob {
    const sequence = job - this.index * sequenceSpan;
    if (!Number.isInteger(sequence) || sequence < 1 || sequence > this.submitted) throw new Error(`lane '${this.owner}' has no job ${job}`);
    while (this.ran < sequence) {
      const work = this.queued.shift()!, startNs = this.now(), count = work();
      this.results.set(++this.ran, { startNs, endNs: this.now(), count });
    }
    const result = this.results.get(sequence);
    if (!result) throw new Error(`job ${job} of lane '${this.owner}' was already waited for`);
    this.results.delete(sequence);
    return result;
  }

  gather(host: Float32Array[], bags: Bags, layout: SlotLayout, out: Float32Array): number {
    return this.submit(() => (this.kernels.poolRows(host, bags, layout, out, false, () => true), 0));
  }

  refetch(host: Float32Array[], bags: Bags, layout: SlotLayout, out: Float32Array, touched: Int32Array[]): number {
    const sets = touched.map((rows) => new Set(rows));
    const stale = (t: number, b: number) => {
      for (let p = bags.offsets[t][b]; p < bags.offsets[t][b + 1]; p++) if (sets[t].has(bags.indices[t][p])) return true;
      return false;
    };
    return this.submit(() => this.kernels.poolRows(host, bags, layout, out, false, stale));
  }

  update(host: Float32Array[], bags: Bags, layout: SlotLayout, grad: Float32Array, update: SparseUpdate): number {
    return this.submit(() => (this.kernels.updateRows(host, bags, layout, grad, update), 0));
  }

  /** As the native read: a file that cannot be opened reads -1 bytes and a failing read stops short, for the
   *  waiter to report against the bytes it asked for. */
  read(path: string, position: number, target: ArrayBufferView): number {
    return this.submit(() => {
      const bytes = new Uint8Array(target.buffer, target.byteOffset, target.byteLength);
      let fd: number;
      try {
        fd = openSync(path, 'r');
      } catch {
        return -1;
      }
      let done = 0;
      try {
        for (let n; done < bytes.length && (n = readSync(fd, bytes, done, bytes.length - done, position + done)) > 0; ) done += n;
      } catch {
        // stops short, as pread does
      } finally {
        closeSync(fd);
      }
      return done;
    });
  }
}
