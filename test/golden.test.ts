// hotline against PyTorch: fixtures written by tools/golden/make_golden.py (Debian python3-torch).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createKernels } from '../src/device/registry.ts';
import { mergeRowGradients } from '../src/kernels/typescript.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import { forwardOn } from '../src/model/model.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { tableBags } from '../src/tensor/jagged.ts';
import { bceWithLogits, sigmoid } from '../src/model/loss.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import type { Batch } from '../src/data/batch.ts';
import { assertClose, dlrmOnHost, jaggedOfBags } from './helpers.ts';

interface GoldenBatch { dense: number[]; indices: number[][]; offsets: number[][]; labels: number[] }
interface GoldenCase {
  arch: DlrmArch;
  init: Record<string, number[]>;
  batches: GoldenBatch[];
  forward: { probs: number[]; loss: number };
  grads: Record<string, number[]>;
  sgd: { lr: number; params: Record<string, number[]> };
  adagrad: { lr: number; eps: number; initialAccumulator: number; params: Record<string, number[]> };
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/golden.json', import.meta.url), 'utf8')) as {
  cases: Record<string, GoldenCase>;
};
const tolerance = 1e-5;

function toBatch(b: GoldenBatch): Batch {
  return {
    size: b.labels.length,
    dense: Float32Array.from(b.dense),
    sparse: jaggedOfBags({ indices: b.indices.map((i) => Int32Array.from(i)), offsets: b.offsets.map((o) => Int32Array.from(o)) }),
    labels: Float32Array.from(b.labels),
  };
}

function loadModel(backend: 'native' | 'typescript', c: GoldenCase, state: { initial: number } | null = null): ReturnType<typeof dlrmOnHost> {
  const loaded = dlrmOnHost(createKernels(backend === 'native' ? 'auto' : 'typescript'), c.arch, 1, state);
  for (const p of loaded.model.denseParams()) p.value.set(c.init[p.name]);
  loaded.home.weights.forEach((w, t) => w.set(c.init[`table.${t}`]));
  return loaded;
}

function assertParams({ model, home }: ReturnType<typeof dlrmOnHost>, want: Record<string, number[]>, what: string): void {
  for (const p of model.denseParams()) assertClose(p.value, want[p.name], tolerance, `${what} ${p.name}`);
  home.weights.forEach((w, t) => assertClose(w, want[`table.${t}`], tolerance, `${what} table ${t}`));
}

for (const backend of ['native', 'typescript'] as const) {
  for (const [name, c] of Object.entries(golden.cases)) {
    describe(`golden ${name} interaction vs PyTorch (${backend} kernels)`, () => {
      it('forward probabilities, loss and every gradient', () => {
        const { model, tier } = loadModel(backend, c);
        const batch = toBatch(c.batches[0]);
        const logits = forwardOn(model, batch, tier);
        assertClose(Array.from(logits, sigmoid), c.forward.probs, tolerance, 'probabilities');
        const dLogits = new Float32Array(batch.size);
        const loss = bceWithLogits(logits, batch.labels, batch.size, dLogits);
        assert.ok(Math.abs(loss - c.forward.loss) <= tolerance * Math.abs(c.forward.loss), `loss ${loss} vs ${c.forward.loss}`);
        model.backward(dLogits, null);
        for (const p of model.denseParams()) assertClose(p.grad, c.grads[p.name], tolerance, `grad ${p.name}`);
        const layout = model.layout(batch.size), bags = tableBags(batch.sparse);
        c.arch.tableRows.forEach((rows, t) => {
          const dense = new Float64Array(rows * c.arch.embeddingDim);
          const merged = mergeRowGradients(bags.indices[t], bags.offsets[t], layout, t, model.embeddingGrad());
          for (const [row, g] of merged) dense.set(g, row * c.arch.embeddingDim);
          assertClose(dense, c.grads[`table.${t}`], tolerance, `grad table ${t}`);
        });
      });

      for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
        it(`parameters after 3 ${optimizer} steps`, () => {
          const cfg = optimizer === 'sgd'
            ? { name: optimizer, lr: c.sgd.lr, eps: 0, initialAccumulator: 0 }
            : { name: optimizer, lr: c.adagrad.lr, eps: c.adagrad.eps, initialAccumulator: c.adagrad.initialAccumulator };
          const opt = new Optimizer(createKernels(backend === 'native' ? 'auto' : 'typescript'), cfg);
          const loaded = loadModel(backend, c, opt.rowState), stepper = new Stepper(loaded.model, opt);
          for (const b of c.batches) stepper.on(toBatch(b), loaded.tier);
          assertParams(loaded, optimizer === 'sgd' ? c.sgd.params : c.adagrad.params, optimizer);
        });
      }
    });
  }
}
