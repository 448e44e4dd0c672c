// Every native kernel against the TypeScript oracle (float64 accumulation), at 1 and 2 threads.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadAddon, NativeKernels } from '../src/kernels/native.ts';
import { mergeRowGradients, TypeScriptKernels } from '../src/kernels/typescript.ts';
import type { Bags, SlotLayout } from '../src/kernels/kernels.ts';
import { Rng } from '../src/util/rng.ts';
import { assertClose, jaggedOfBags, randomArray } from './helpers.ts';

const addon = loadAddon();
const skip = addon instanceof Error ? addon.message : false;
const oracle = new TypeScriptKernels();

function randomBags(rng: Rng, tables: number, bags: number, rows: number[], maxPool: number): Bags {
  const indices: Int32Array[] = [], offsets: Int32Array[] = [];
  for (let t = 0; t < tables; t++) {
    const off = new Int32Array(bags + 1);
    const idx: number[] = [];
    for (let b = 0; b < bags; b++) {
      const pool = rng.int(maxPool + 1); // empty bags included
      // few distinct rows so duplicates are frequent
      for (let p = 0; p < pool; p++) idx.push(rng.int(Math.min(rows[t], 7)) * Math.floor(rows[t] / 7));
      off[b + 1] = idx.length;
    }
    indices.push(Int32Array.from(idx));
    offsets.push(off);
  }
  return { indices, offsets };
}

for (const threads of [1, 2]) {
  describe(`native kernels, ${threads} thread(s)`, { skip }, () => {
    const native = new NativeKernels(addon as Exclude<typeof addon, Error>);
    native.setThreads(threads);

    it('gemm matches the oracle in all four transpose cases, with alpha, beta and leading dimensions', () => {
      const rng = new Rng(1);
      for (const [M, N, K] of [[5, 7, 3], [130, 67, 300], [64, 512, 13], [33, 1, 257], [1, 70, 40], [260, 256, 300]]) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const lda = (transA ? M : K) + 3, ldb = (transB ? K : N) + 1, ldc = N + 2;
            const A = randomArray(rng, (transA ? K : M) * lda), B = randomArray(rng, (transB ? N : K) * ldb);
            const C0 = randomArray(rng, M * ldc);
            for (const [alpha, beta] of [[1, 0], [-0.5, 1], [2, 0.25]]) {
              const want = C0.slice(), got = C0.slice(), own = C0.slice();
              oracle.gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, want, ldc);
              native.gemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, got, ldc);
              native.addon.gemmOwn(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, own, ldc);
              const what = `${M}x${N}x${K} tA=${transA} tB=${transB} a=${alpha} b=${beta}`;
              assertClose(got, want, 1e-5, `gemm ${what}`);
              assertClose(own, want, 1e-5, `own gemm ${what}`);
            }
          }
        }
      }
    });

    it('bias + ReLU forward and its backward with the bias gradient', () => {
      const rng = new Rng(2);
      const rows = 300, cols = 70;
      const bias = randomArray(rng, cols);
      for (const relu of [true, false]) {
        const y = randomArray(rng, rows * cols), y2 = y.slice();
        oracle.biasActivation(y, rows, cols, bias, relu);
        native.biasActivation(y2, rows, cols, bias, relu);
        assertClose(y2, y, 1e-7, 'biasActivation');
        const dy = randomArray(rng, rows * cols), dy2 = dy.slice();
        const db = randomArray(rng, cols), db2 = db.slice();
        oracle.activationBackward(dy, y, rows, cols, relu, db, false);
        native.activationBackward(dy2, y2, rows, cols, relu, db2, false);
        assertClose(dy2, dy, 0, 'activationBackward dY');
        assertClose(db2, db, 1e-6, 'activationBackward dBias');
        const before = db.slice();
        oracle.activationBackward(dy, y, rows, cols, relu, db, true);
        native.activationBackward(dy2, y2, rows, cols, relu, db2, true);
        assertClose(db2, db, 1e-6, 'activationBackward accumulated dBias');
        assertClose(db, before.map((v) => 2 * v), 1e-6, 'accumulating the same gradient doubles it');
      }
    });

    it('dot interaction forward and backward', () => {
      const rng = new Rng(3);
      const bags = 150, F = 27, d = 16, width = d + (F * (F - 1)) / 2, stride = width + 5;
      const T = randomArray(rng, bags * F * d);
      const out = new Float32Array(bags * stride), out2 = new Float32Array(bags * stride);
      oracle.interactionDotForward(T, bags, F, d, out, stride);
      native.interactionDotForward(T, bags, F, d, out2, stride);
      assertClose(out2, out, 1e-6, 'interaction forward');
      const dOut = randomArray(rng, bags * stride);
      const dT = new Float32Array(bags * F * d), dT2 = new Float32Array(bags * F * d);
      oracle.interactionDotBackward(T, dOut, bags, F, d, stride, dT);
      native.interactionDotBackward(T, dOut, bags, F, d, stride, dT2);
      assertClose(dT2, dT, 1e-6, 'interaction backward');
    });

    it('embedding bag forward (multi-hot, empty bags) and merged sparse updates', () => {
      const rng = new Rng(4);
      const rows = [50, 1000, 7, 300], dim = 8, bagsCount = 40;
      const layout: SlotLayout = { bags: bagsCount, dim, stride: 6 * dim, slot0: dim };
      const bags = jaggedOfBags(randomBags(rng, rows.length, bagsCount, rows, 3));
      const make = () => rows.map((n, t) => {
        const w = native.allocateTable(n * dim);
        native.fillUniform(w, 9, t, -0.5, 0.5);
        return w;
      });
      const w1 = make(), w2 = make();
      const ref = rows.map((n) => new Float32Array(n * dim));
      rows.forEach((_, t) => oracle.fillUniform(ref[t], 9, t, -0.5, 0.5));
      w1.forEach((w, t) => assert.deepEqual(w, ref[t], 'fillUniform is identical on both backends'));
      const out = new Float32Array(bagsCount * layout.stride), out2 = out.slice();
      oracle.embeddingForward(w1, bags, layout, out);
      native.embeddingForward(w2, bags, layout, out2);
      assertClose(out2, out, 1e-7, 'embedding forward');
      const grad = randomArray(rng, bagsCount * layout.stride);
      for (const optimizer of ['sgd', 'rowwise-adagrad'] as const) {
        const s1 = rows.map((n) => new Float32Array(n).fill(0.1)), s2 = rows.map((n) => new Float32Array(n).fill(0.1));
        const update = (states: Float32Array[]) => ({ optimizer, lr: 0.3, eps: 1e-10, states: optimizer === 'sgd' ? null : states });
        oracle.embeddingUpdate(w1, bags, layout, grad, update(s1));
        native.embeddingUpdate(w2, bags, layout, grad, update(s2));
        w1.forEach((w, t) => assertClose(w2[t], w, 1e-6, `${optimizer} table ${t}`));
        s1.forEach((s, t) => assertClose(s2[t], s, 1e-6, `${optimizer} state ${t}`));
      }
    });

    it('fillUniform in parts (from an index on) equals one fill of the whole, on both backends', () => {
      const whole = new Float32Array(10_000);
      oracle.fillUniform(whole, 4, 2, -1, 1);
      for (const k of [oracle, native]) {
        const parts = new Float32Array(whole.length);
        for (const [from, to] of [[0, 1], [1, 4097], [4097, 9999], [9999, 10_000]]) k.fillUniform(parts.subarray(from, to), 4, 2, -1, 1, from);
        assert.deepEqual(parts, whole, k.name);
      }
    });

    it('row segments (a device tier\'s update groups): native against the oracle, and the oracle against a direct count', () => {
      const rng = new Rng(9);
      // Ids past 16 bits take the radix sort's second pass; empty bags and repeats within a bag included.
      for (const rows of [[50, 1000, 7], [70_000, 3, 2_000_000]]) {
        const bags = jaggedOfBags(randomBags(rng, 3, 60, rows, 4)), want = oracle.rowSegments(bags), got = native.rowSegments(bags);
        for (const key of ['rows', 'starts', 'lookups'] as const) assert.deepEqual(Array.from(got[key]), Array.from(want[key]), key);
        const seen = new Map<number, number[]>();
        for (let bag = 0; bag < 3 * 60; bag++) {
          for (let q = bags.offsets[bag]; q < bags.offsets[bag + 1]; q++) seen.set(bags.ids[q], [...(seen.get(bags.ids[q]) ?? []), bag]);
        }
        assert.deepEqual(Array.from(want.rows), [...seen.keys()].sort((x, y) => x - y));
        want.rows.forEach((row, u) => assert.deepEqual(Array.from(want.lookups.subarray(want.starts[u], want.starts[u + 1])), seen.get(row), `row ${row}`));
      }
    });

    it('split of lookups by tier, against the oracle and a direct count', () => {
      const rng = new Rng(7);
      const rows = [50, 1000, 7], bags = jaggedOfBags(randomBags(rng, 3, 40, rows, 3));
      const tierEnd = Int32Array.of(1000, 3000, 5000); // three placed tiers and the home tier
      const slotOf = rows.map((n) => Int32Array.from({ length: n }, () => (rng.next() < 0.6 ? rng.int(5000) : -1)));
      const want = oracle.splitLookups(slotOf, tierEnd, bags), got = native.splitLookups(slotOf, tierEnd, bags);
      want.forEach((w, k) => {
        assert.deepEqual(Array.from(got[k].ids), Array.from(w.ids), `tier ${k} ids`);
        assert.deepEqual(Array.from(got[k].offsets), Array.from(w.offsets), `tier ${k} offsets`);
      });
      for (let t = 0; t < 3; t++) {
        for (let b = 0; b < 40; b++) {
          for (let p = bags.offsets[t * 40 + b]; p < bags.offsets[t * 40 + b + 1]; p++) {
            const row = bags.ids[p], slot = slotOf[t][row], k = slot < 0 ? 3 : slot < 1000 ? 0 : slot < 3000 ? 1 : 2;
            const local = slot < 0 ? row : slot - [0, 1000, 3000][k];
            const j = want[k], from = j.offsets[t * 40 + b], to = j.offsets[t * 40 + b + 1];
            assert.ok(Array.from(j.ids.subarray(from, to)).includes(local), `table ${t} bag ${b}: row ${row} in tier ${k} as ${local}`);
          }
        }
      }
      assert.equal(want.reduce((a, j) => a + j.ids.length, 0), bags.ids.length, 'every lookup in exactly one tier');
    });

    it('dense SGD and Adagrad', () => {
      const rng = new Rng(5);
      const w = randomArray(rng, 1000), g = randomArray(rng, 1000), s = new Float32Array(1000).fill(0.5);
      const w2 = w.slice(), s2 = s.slice();
      oracle.denseAdagrad(w, s, g, 0.1, 1e-10);
      native.denseAdagrad(w2, s2, g, 0.1, 1e-10);
      assertClose(w2, w, 1e-6, 'adagrad weights');
      assertClose(s2, s, 1e-6, 'adagrad state');
      oracle.denseSgd(w, g, 0.1);
      native.denseSgd(w2, g, 0.1);
      assertClose(w2, w, 1e-6, 'sgd');
    });
  });
}

describe('merged row gradients', () => {
  it('sum every lookup of a row, checked by brute force', () => {
    const rng = new Rng(6);
    const bags = randomBags(rng, 1, 30, [70], 4);
    const layout: SlotLayout = { bags: 30, dim: 3, stride: 3, slot0: 0 };
    const grad = randomArray(rng, 90);
    const merged = mergeRowGradients(bags.indices[0], bags.offsets[0], layout, 0, grad);
    const distinct = new Set(bags.indices[0]);
    assert.equal(merged.size, distinct.size);
    for (const row of distinct) {
      const want = [0, 0, 0];
      for (let b = 0; b < 30; b++) {
        for (let p = bags.offsets[0][b]; p < bags.offsets[0][b + 1]; p++) {
          if (bags.indices[0][p] === row) for (let j = 0; j < 3; j++) want[j] += grad[b * 3 + j];
        }
      }
      assertClose(merged.get(row)!, want, 1e-12, `row ${row}`);
    }
  });
});

describe("TBSM's sequence kernels: native against the TypeScript oracle", { skip }, () => {
  const native = new NativeKernels(addon as Exclude<typeof addon, Error>);
  const rng = new Rng(77), n = 37, events = 9, dim = 15, span = { n, events, first: 3, length: 5, dim };
  const U = randomArray(rng, n * events * dim), x = randomArray(rng, n * 2 * dim), g = randomArray(rng, n * span.length);
  const both = <T>(run: (k: NativeKernels | TypeScriptKernels) => T): [T, T] => [run(native), run(oracle)];

  it('the projection onto the sphere, forward and backward (zero rows at the floor)', () => {
    const v = randomArray(rng, 50 * dim);
    v.fill(0, 7 * dim, 8 * dim);
    const [a, b] = both((k) => {
      const u = new Float32Array(v.length), norms = new Float32Array(50), du = randomArray(new Rng(3), v.length);
      k.sphereForward(v, 50, dim, u, norms);
      k.sphereBackward(u, norms, 50, dim, du);
      return { u, norms, du };
    });
    assertClose(a.u, b.u, 1e-6, 'u');
    assertClose(a.norms, b.norms, 1e-6, 'norms');
    assertClose(a.du, b.du, 1e-5, 'dv');
    assert.ok(Math.abs(a.du[7 * dim] - b.du[7 * dim]) <= 1e-6 * Math.abs(b.du[7 * dim]), 'a zero row takes du / 1e-12');
  });

  it('scores and context over a span, with strided queries, forward and backward', () => {
    const [a, b] = both((k) => {
      const scores = new Float32Array(n * span.length), out = new Float32Array(n * 2 * dim), dU = new Float32Array(U.length), dx = new Float32Array(n * dim), dy = new Float32Array(n * span.length);
      k.attendForward(U, span, x, 2 * dim, scores);
      k.contextForward(U, span, g, out, 2 * dim);
      k.contextBackward(U, span, g, x, 2 * dim, dU, dy);
      k.attendBackward(U, span, x, 2 * dim, g, dU, dx, dim);
      return { scores, out, dU, dx, dy };
    });
    for (const key of ['scores', 'out', 'dU', 'dx', 'dy'] as const) assertClose(a[key], b[key], 1e-5, key);
    const untouched = (b.dU as Float32Array).subarray(0, span.first * dim);
    assert.ok(untouched.every((v) => v === 0), 'events before the span get no gradient');
  });
});
