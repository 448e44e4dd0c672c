// hotline against PyTorch: fixtures written by tools/golden/make_golden.py (Debian python3-torch).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createKernels } from '../src/device/registry.ts';
import { mergeRowGradients } from '../src/kernels/typescript.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { tableBags } from '../src/tensor/jagged.ts';
import { sigmoid } from '../src/model/loss.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import type { Batch } from '../src/data/batch.ts';
import { assertClose, dlrmOnHost, gpuSkipReason, jaggedOfBags, openGpuForTests } from './helpers.ts';

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

/** The devices the golden tests run on: both CPU kernels, and the GPU where WebGPU finds an adapter. */
type GoldenDevice = 'native' | 'typescript' | 'webgpu';
const gpu = await openGpuForTests();

function loadModel(on: GoldenDevice, c: GoldenCase, state: { initial: number } | null = null): ReturnType<typeof dlrmOnHost> {
  const kernels = createKernels(on === 'typescript' ? 'typescript' : 'auto');
  const loaded = dlrmOnHost(kernels, c.arch, 1, state, on === 'webgpu' ? gpu! : undefined);
  for (const p of loaded.model.denseParams()) p.value.set(c.init[p.name]);
  loaded.model.syncFromHost();
  loaded.home.weights.forEach((w, t) => w.set(c.init[`table.${t}`]));
  return loaded;
}

function assertParams({ model, home }: ReturnType<typeof dlrmOnHost>, want: Record<string, number[]>, what: string): void {
  for (const p of model.denseParams()) assertClose(p.value, want[p.name], tolerance, `${what} ${p.name}`);
  home.weights.forEach((w, t) => assertClose(w, want[`table.${t}`], tolerance, `${what} table ${t}`));
}

for (const on of ['native', 'typescript', 'webgpu'] as const) {
  for (const [name, c] of Object.entries(golden.cases)) {
    describe(`golden ${name} interaction vs PyTorch (${on})`, { skip: on === 'webgpu' && !gpu ? gpuSkipReason : false }, () => {
      it('forward probabilities, loss and every gradient', () => {
        const { model, tier } = loadModel(on, c);
        const batch = toBatch(c.batches[0]);
        const pooled = model.forwardDense(batch);
        tier.pool(batch.sparse, model.layout(batch.size), pooled);
        const logits = model.forwardOutput(pooled).slice();
        assertClose(Array.from(logits, sigmoid), c.forward.probs, tolerance, 'probabilities');
        // Adagrad at rate 0 leaves the parameters as they are and every gradient in their grads.
        const rule = { name: 'adagrad', lr: 0, eps: 1, state: (p: { value: Float32Array }) => new Float32Array(p.value.length) } as const;
        const loss = model.learn(pooled, batch.labels, rule);
        model.syncToHost(rule);
        assert.ok(Math.abs(loss - c.forward.loss) <= tolerance * Math.abs(c.forward.loss), `loss ${loss} vs ${c.forward.loss}`);
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
          const opt = new Optimizer(cfg);
          const loaded = loadModel(on, c, opt.rowState), stepper = new Stepper(loaded.model, opt);
          for (const b of c.batches) stepper.on(toBatch(b), loaded.tier);
          loaded.model.syncToHost(opt.denseRule);
          assertParams(loaded, optimizer === 'sgd' ? c.sgd.params : c.adagrad.params, optimizer);
        });
      }
    });
  }
}

after(() => gpu?.dispose());
