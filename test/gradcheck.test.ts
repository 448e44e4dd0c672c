// Finite-difference checks of every op's backward, on the TypeScript kernels (float64 sums).
import { describe, it } from 'node:test';
import { TypeScriptKernels } from '../src/kernels/typescript.ts';
import { mergeRowGradients } from '../src/kernels/typescript.ts';
import type { Batch } from '../src/data/batch.ts';
import { forwardOn } from '../src/model/model.ts';
import { tableBags } from '../src/tensor/jagged.ts';
import { bceWithLogits } from '../src/model/loss.ts';
import { Mlp } from '../src/model/mlp.ts';
import { Rng } from '../src/util/rng.ts';
import { assertClose, differenceQuotients, dlrmOnHost, jaggedOfBags, randomArray } from './helpers.ts';

const k = new TypeScriptKernels();
const h = 1e-3;

/** Central differences of loss() w.r.t. every element of x, compared with the analytic gradient.
 *  Differences are meaningless across a ReLU kink, so the seeds below put no pre-activation within h of 0
 *  (a seed that did shows up as one element off by percents, not as a spread of small errors). */
function checkGradient(x: Float32Array, analytic: ArrayLike<number>, loss: () => number, what: string): void {
  assertClose(analytic, differenceQuotients(x, Array.from(x, (_, i) => i), loss, h), 2e-3, what);
}

/** sum(out * probe): a scalar whose gradient w.r.t. out is probe. */
function dot(out: Float32Array, probe: Float32Array): number {
  let s = 0;
  for (let i = 0; i < probe.length; i++) s += out[i] * probe[i];
  return s;
}

describe('finite-difference gradients', () => {
  it('linear layers with bias and ReLU (dX, dW, dBias through the three GEMMs)', () => {
    const rng = new Rng(10);
    const mlp = new Mlp(k, [5, 7, 4], true, rng);
    const batch = 6;
    const x = randomArray(rng, batch * 5);
    const probe = randomArray(rng, batch * 4);
    const loss = () => dot(mlp.forward(x, batch), probe);
    loss();
    mlp.outputGrad().set(probe);
    const dx = mlp.backward(true)!.slice();
    const grads = mlp.layers.flatMap((l) => [l.weightGrad.slice(), l.biasGrad.slice()]);
    checkGradient(x, dx, loss, 'dX');
    mlp.layers.forEach((l, i) => {
      checkGradient(l.weight, grads[2 * i], loss, `dW layer ${i}`);
      checkGradient(l.bias, grads[2 * i + 1], loss, `dBias layer ${i}`);
    });
  });

  it('dot interaction', () => {
    const rng = new Rng(11);
    const bags = 3, F = 5, d = 4, width = d + (F * (F - 1)) / 2;
    const T = randomArray(rng, bags * F * d), out = new Float32Array(bags * width), dT = new Float32Array(T.length);
    const probe = randomArray(rng, bags * width);
    const loss = () => {
      k.interactionDotForward(T, bags, F, d, out, width);
      return dot(out, probe);
    };
    k.interactionDotBackward(T, probe, bags, F, d, width, dT);
    checkGradient(T, dT, loss, 'dT');
  });

  it('embedding bag sum pooling (multi-hot with repeated rows) to its merged row gradients', () => {
    const rng = new Rng(12);
    const rows = 6, dim = 3, bags = 4;
    const table = randomArray(rng, rows * dim);
    const indices = Int32Array.from([0, 2, 2, 5, 1, 2, 0]), offsets = Int32Array.from([0, 3, 3, 5, 7]);
    const layout = { bags, dim, stride: dim, slot0: 0 };
    const out = new Float32Array(bags * dim), probe = randomArray(rng, bags * dim);
    const loss = () => {
      k.embeddingForward([table], jaggedOfBags({ indices: [indices], offsets: [offsets] }), layout, out);
      return dot(out, probe);
    };
    const analytic = new Float64Array(rows * dim);
    for (const [row, g] of mergeRowGradients(indices, offsets, layout, 0, probe)) analytic.set(g, row * dim);
    checkGradient(table, analytic, loss, 'dTable');
  });

  it('binary cross-entropy on logits', () => {
    const rng = new Rng(13);
    const z = randomArray(rng, 8, 4), y = Float32Array.from([0, 1, 1, 0, 1, 0, 0, 1]), dz = new Float32Array(8);
    bceWithLogits(z, y, 8, dz);
    checkGradient(z, dz.slice(), () => bceWithLogits(z, y, 8, new Float32Array(8)), 'dLogits');
  });

  for (const interaction of ['dot', 'cat'] as const) {
    it(`whole DLRM (${interaction}): loss w.r.t. dense inputs' weights and embedding rows`, () => {
      const rng = new Rng(17);
      const arch = { bottomMlp: [3, 6, 4], topMlp: [5, 1], embeddingDim: 4, tableRows: [5, 3], interaction };
      const { model, home, tier } = dlrmOnHost(k, arch, 3);
      const batch: Batch = {
        size: 4,
        dense: randomArray(rng, 12),
        sparse: jaggedOfBags({
          indices: [Int32Array.from([0, 4, 4, 2, 1]), Int32Array.from([2, 0, 1, 2])],
          offsets: [Int32Array.from([0, 1, 3, 4, 5]), Int32Array.from([0, 1, 2, 3, 4])],
        }),
        labels: Float32Array.from([1, 0, 0, 1]),
      };
      const dz = new Float32Array(4);
      const loss = () => bceWithLogits(forwardOn(model, batch, tier), batch.labels, 4, new Float32Array(4));
      bceWithLogits(forwardOn(model, batch, tier), batch.labels, 4, dz);
      model.backward(dz, null);
      const layout = model.layout(4), bags = tableBags(batch.sparse);
      const params = model.denseParams().map((p) => ({ ...p, grad: p.grad.slice() }));
      const tableGrads = home.weights.map((w, t) => {
        const g = new Float64Array(w.length);
        for (const [row, v] of mergeRowGradients(bags.indices[t], bags.offsets[t], layout, t, model.embeddingGrad())) {
          g.set(v, row * arch.embeddingDim);
        }
        return g;
      });
      for (const p of params) checkGradient(p.value, p.grad, loss, p.name);
      home.weights.forEach((w, t) => checkGradient(w, tableGrads[t], loss, `table ${t}`));
    });
  }
});
