/**
 * One head of TBSM's time series layer, from the event vectors U [n x events x z] (the candidate last):
 *   x = w (dot), A w (ind) or A'A w (def), for the candidate w;
 *   a_i = <H_i, x> over the head's history H (its last `length` events);
 *   y = sigmoid(MLP(a)) (mlp) or a (mul); the context c = sum_i y_i H_i;
 *   the head's click logit from its MLP on [c, w].
 * The per-sample products are the kernels' sequence kernels, A's products and the MLPs GEMMs.
 */
import type { Kernels, SequenceSpan } from '../../kernels/kernels.ts';
import type { Rng } from '../../util/rng.ts';
import { sigmoid } from '../loss.ts';
import { type DenseParam, Mlp } from '../mlp.ts';
import { eventWidth, type TbsmArch } from './tbsm-arch.ts';

export class TslHead {
  /** [z x z] (tbsm's A of shape [1, z, z]); null for the dot inner product. */
  readonly a: Float32Array | null;
  readonly aGrad: Float32Array | null;
  readonly attention: Mlp | null;
  readonly mlp: Mlp;
  private readonly z: number;
  private n = 0;
  private u: Float32Array = new Float32Array(0);
  /** The last forward pass's x per candidate and its row stride. */
  private q: { x: Float32Array; stride: number } = { x: new Float32Array(0), stride: 0 };
  private b = { x: new Float32Array(0), v: new Float32Array(0), dx: new Float32Array(0), dv: new Float32Array(0), scores: new Float32Array(0), coefficients: new Float32Array(0), dScores: new Float32Array(0), input: new Float32Array(0) };

  /** length: the head's history, the most recent events of arch.tsLength. */
  constructor(readonly arch: TbsmArch, readonly length: number, private readonly kernels: Kernels, rng: Rng) {
    const z = (this.z = eventWidth(arch));
    this.attention = arch.mechanism === 'mlp' ? new Mlp(kernels, [length, ...arch.attentionMlp, length], false, rng) : null;
    if (arch.inner === 'dot') {
      this.a = this.aGrad = null;
    } else {
      // tbsm's initialisation of A: N(0, sqrt(2 / (z + z))).
      const std = Math.sqrt(2 / (z + z));
      this.a = Float32Array.from({ length: z * z }, () => rng.normal() * std);
      this.aGrad = new Float32Array(z * z);
    }
    this.mlp = new Mlp(kernels, [2 * z, ...arch.headMlp], false, rng);
  }

  params(prefix: string): DenseParam[] {
    return [
      ...(this.attention?.params(`${prefix}.attention`) ?? []),
      ...(this.a ? [{ name: `${prefix}.A`, shape: [1, this.z, this.z], value: this.a, grad: this.aGrad! }] : []),
      ...this.mlp.params(`${prefix}.mlp`),
    ];
  }

  private ensure(n: number): void {
    const z = this.z, l = this.length;
    if (this.b.x.length < n * z) {
      const f = (k: number) => new Float32Array(n * k);
      this.b = { x: f(z), v: f(z), dx: f(z), dv: f(z), scores: f(l), coefficients: f(l), dScores: f(l), input: f(2 * z) };
    }
    this.n = n;
  }

  private get span(): SequenceSpan {
    return { n: this.n, events: this.arch.tsLength + 1, first: this.arch.tsLength - this.length, length: this.length, dim: this.z };
  }

  /** The candidates' rows of U (a view from the first one's; rows events x z apart). */
  private candidates(u: Float32Array): Float32Array {
    return u.subarray(this.arch.tsLength * this.z);
  }

  /** x for every candidate, and its row stride: w itself (dot), v = A w (ind) or A'v (def). */
  private query(): { x: Float32Array; stride: number } {
    const { n, z, a, kernels } = this, w = this.candidates(this.u), wStride = (this.arch.tsLength + 1) * z, { x, v } = this.b;
    if (!a) return { x: w, stride: wStride };
    kernels.gemm(false, true, n, z, z, 1, w, wStride, a, z, 0, v, z); // V = W A'
    if (this.arch.inner === 'ind') return { x: v, stride: z };
    kernels.gemm(false, false, n, z, z, 1, v, z, a, z, 0, x, z); // X = V A
    return { x, stride: z };
  }

  /** The head's logits [n] (owned by its MLP) for U [n x (tsLength + 1) x z]. */
  forward(u: Float32Array, n: number): Float32Array {
    this.ensure(n);
    this.u = u;
    this.q = this.query();
    const z = this.z, span = this.span, { x, stride } = this.q, { scores, coefficients, input } = this.b;
    this.kernels.attendForward(u, span, x, stride, scores);
    let y: Float32Array = scores;
    if (this.attention) {
      const out = this.attention.forward(scores.subarray(0, n * this.length), n);
      for (let i = 0; i < n * this.length; i++) coefficients[i] = sigmoid(out[i]);
      y = coefficients;
    }
    this.kernels.contextForward(u, span, y, input, 2 * z);
    const w = this.candidates(u), wStride = span.events * z;
    for (let b = 0; b < n; b++) input.set(w.subarray(b * wStride, b * wStride + z), b * 2 * z + z);
    return this.mlp.forward(input.subarray(0, n * 2 * z), n);
  }

  /**
   * Back-propagates the head's logit gradient [n] into dU (added to), its parameters' gradients (or, with
   * fusedSgdRate, straight into its MLPs' weights; A's gradient is left for the caller to apply).
   */
  backward(dLogits: Float32Array, dU: Float32Array, fusedSgdRate: number | null): void {
    const { n, z, a, kernels, u } = this, span = this.span, l = this.length, { coefficients, scores, dScores, dx, dv, v } = this.b;
    this.mlp.outputGrad().set(dLogits.subarray(0, n));
    const dInput = this.mlp.backward(true, fusedSgdRate)!;
    const y = this.attention ? coefficients : scores, wStride = span.events * z, w = this.candidates(u), dW = this.candidates(dU);
    kernels.contextBackward(u, span, y, dInput, 2 * z, dU, dScores);
    for (let b = 0; b < n; b++) for (let i = 0; i < z; i++) dW[b * wStride + i] += dInput[b * 2 * z + z + i];
    if (this.attention) {
      const dOut = this.attention.outputGrad();
      for (let i = 0; i < n * l; i++) dOut[i] = dScores[i] * y[i] * (1 - y[i]);
      dScores.set(this.attention.backward(true, fusedSgdRate)!.subarray(0, n * l));
    }
    const { x, stride } = this.q;
    kernels.attendBackward(u, span, x, stride, dScores, dU, dx, z);
    if (!a) {
      for (let b = 0; b < n; b++) for (let i = 0; i < z; i++) dW[b * wStride + i] += dx[b * z + i];
      return;
    }
    const aGrad = this.aGrad!;
    let dQuery = dx; // the gradient of v = A w
    if (this.arch.inner === 'def') {
      kernels.gemm(true, false, z, z, n, 1, v, z, dx, z, 0, aGrad, z); // x = A'v: dA = V'dX
      kernels.gemm(false, true, n, z, z, 1, dx, z, a, z, 0, dv, z); // dV = dX A'
      dQuery = dv;
    }
    kernels.gemm(true, false, z, z, n, 1, dQuery, z, w, wStride, this.arch.inner === 'def' ? 1 : 0, aGrad, z); // dA += dV'W
    kernels.gemm(false, false, n, z, z, 1, dQuery, z, a, z, 1, dW, wStride); // dW += dV A
  }
}
