/**
 * One head of TBSM's time series layer, from the event vectors U [n x events x z] (the candidate last):
 *   x = w (dot), A w (ind) or A'A w (def), for the candidate w;
 *   a_i = <H_i, x> over the head's history H (its last `length` events);
 *   y = sigmoid(MLP(a)) (mlp) or a (mul); the context c = sum_i y_i H_i;
 *   the head's click logit from its MLP on [c, w].
 * The per-sample products are z-long loops; the MLPs run on the kernels.
 */
import type { Kernels } from '../../kernels/kernels.ts';
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
  private x = new Float32Array(0);
  private v = new Float32Array(0);
  private scores = new Float32Array(0);
  private coefficients = new Float32Array(0);
  private input = new Float32Array(0);

  /** length: the head's history, the most recent events of arch.tsLength. */
  constructor(readonly arch: TbsmArch, readonly length: number, kernels: Kernels, rng: Rng) {
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
    if (this.x.length < n * z) {
      this.x = new Float32Array(n * z);
      this.v = new Float32Array(n * z);
      this.scores = new Float32Array(n * l);
      this.coefficients = new Float32Array(n * l);
      this.input = new Float32Array(n * 2 * z);
    }
    this.n = n;
  }

  /** Row of event j of sample b in U. */
  private row(b: number, j: number): number {
    return (b * (this.arch.tsLength + 1) + j) * this.z;
  }

  /** The head's logits [n] (owned by its MLP) for U [n x (tsLength + 1) x z]. */
  forward(u: Float32Array, n: number): Float32Array {
    this.ensure(n);
    this.u = u;
    const z = this.z, l = this.length, first = this.arch.tsLength - l, a = this.a;
    const { x, v, scores, coefficients, input } = this;
    for (let b = 0; b < n; b++) {
      const w = this.row(b, this.arch.tsLength), xb = b * z;
      if (!a) {
        for (let i = 0; i < z; i++) x[xb + i] = u[w + i];
      } else {
        // v = A w; x = v (ind) or A' v (def).
        for (let i = 0; i < z; i++) {
          let s = 0;
          for (let k = 0; k < z; k++) s += a[i * z + k] * u[w + k];
          v[xb + i] = s;
        }
        if (this.arch.inner === 'ind') {
          for (let i = 0; i < z; i++) x[xb + i] = v[xb + i];
        } else {
          for (let i = 0; i < z; i++) {
            let s = 0;
            for (let k = 0; k < z; k++) s += a[k * z + i] * v[xb + k];
            x[xb + i] = s;
          }
        }
      }
      for (let t = 0; t < l; t++) {
        const h = this.row(b, first + t);
        let s = 0;
        for (let i = 0; i < z; i++) s += u[h + i] * x[xb + i];
        scores[b * l + t] = s;
      }
    }
    let y = scores.subarray(0, n * l);
    if (this.attention) {
      y = coefficients.subarray(0, n * l);
      const out = this.attention.forward(scores.subarray(0, n * l), n);
      for (let i = 0; i < n * l; i++) y[i] = sigmoid(out[i]);
    }
    for (let b = 0; b < n; b++) {
      const c = b * 2 * z, w = this.row(b, this.arch.tsLength);
      for (let i = 0; i < z; i++) input[c + i] = 0;
      for (let t = 0; t < l; t++) {
        const h = this.row(b, first + t), yt = y[b * l + t];
        for (let i = 0; i < z; i++) input[c + i] += yt * u[h + i];
      }
      for (let i = 0; i < z; i++) input[c + z + i] = u[w + i];
    }
    return this.mlp.forward(input.subarray(0, n * 2 * z), n);
  }

  /**
   * Back-propagates the head's logit gradient [n] into dU (added to), its parameters' gradients (or, with
   * fusedSgdRate, straight into its MLPs' weights; A's gradient is left for the caller to apply).
   */
  backward(dLogits: Float32Array, dU: Float32Array, fusedSgdRate: number | null): void {
    const n = this.n, z = this.z, l = this.length, first = this.arch.tsLength - l, { u, x, v, a } = this;
    this.mlp.outputGrad().set(dLogits.subarray(0, n));
    const dInput = this.mlp.backward(true, fusedSgdRate)!;
    const y = this.attention ? this.coefficients : this.scores;
    // dScores first holds dy = <dc, H_t>; H gets y_t dc; the candidate gets its half of dInput.
    const dScores = new Float32Array(n * l);
    for (let b = 0; b < n; b++) {
      const c = b * 2 * z, w = this.row(b, this.arch.tsLength);
      for (let t = 0; t < l; t++) {
        const h = this.row(b, first + t), yt = y[b * l + t];
        let s = 0;
        for (let i = 0; i < z; i++) {
          s += dInput[c + i] * u[h + i];
          dU[h + i] += yt * dInput[c + i];
        }
        dScores[b * l + t] = s;
      }
      for (let i = 0; i < z; i++) dU[w + i] += dInput[c + z + i];
    }
    if (this.attention) {
      const dOut = this.attention.outputGrad();
      for (let i = 0; i < n * l; i++) dOut[i] = dScores[i] * y[i] * (1 - y[i]);
      dScores.set(this.attention.backward(true, fusedSgdRate)!.subarray(0, n * l));
    }
    if (a) this.aGrad!.fill(0);
    const dx = new Float32Array(z), dv = new Float32Array(z);
    for (let b = 0; b < n; b++) {
      const xb = b * z, w = this.row(b, this.arch.tsLength);
      dx.fill(0);
      for (let t = 0; t < l; t++) {
        const h = this.row(b, first + t), g = dScores[b * l + t];
        for (let i = 0; i < z; i++) {
          dU[h + i] += g * x[xb + i];
          dx[i] += g * u[h + i];
        }
      }
      if (!a) {
        for (let i = 0; i < z; i++) dU[w + i] += dx[i];
        continue;
      }
      const aGrad = this.aGrad!;
      if (this.arch.inner === 'ind') {
        dv.set(dx);
      } else {
        // x = A' v: dA[k][i] += v_k dx_i, dv = A dx.
        for (let k = 0; k < z; k++) {
          let s = 0;
          for (let i = 0; i < z; i++) {
            aGrad[k * z + i] += v[xb + k] * dx[i];
            s += a[k * z + i] * dx[i];
          }
          dv[k] = s;
        }
      }
      // v = A w: dA[i][k] += dv_i w_k, dw = A' dv.
      for (let i = 0; i < z; i++) {
        for (let k = 0; k < z; k++) aGrad[i * z + k] += dv[i] * u[w + k];
      }
      for (let k = 0; k < z; k++) {
        let s = 0;
        for (let i = 0; i < z; i++) s += a[i * z + k] * dv[i];
        dU[w + k] += s;
      }
    }
  }
}
