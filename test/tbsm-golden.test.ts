// hotline's TBSM against facebookresearch/tbsm's PyTorch model: fixtures written by tools/golden/make_tbsm_golden.py
// from the authors' TBSM_Net (Debian python3-torch).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import type { Batch } from '../src/data/batch.ts';
import { createKernels } from '../src/device/registry.ts';
import { HostTables } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import { mergeRowGradients } from '../src/kernels/typescript.ts';
import { sigmoid } from '../src/model/loss.ts';
import type { TbsmArch, TslInner, TslMechanism } from '../src/model/tbsm/tbsm-arch.ts';
import { Tbsm } from '../src/model/tbsm/tbsm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { jaggedOf, tableBags } from '../src/tensor/jagged.ts';
import { GpuDlrm } from '../src/model/gpu-dlrm.ts';
import { assertClose, gpuSkipReason, openGpuForTests } from './helpers.ts';

interface GoldenArch {
  tableRows: number[]; dim: number; mlpBot: string; mlpTop: string; tslMlp: string; mlp: string; tsLength: number;
  inner: TslInner; mechanism: TslMechanism; heads: number; seq: boolean;
}
interface GoldenBatch { ids: number[][][]; dense: number[][]; labels: number[] }
interface GoldenCase {
  arch: GoldenArch;
  init: Record<string, number[]>;
  batches: GoldenBatch[];
  forward: { probs: number[]; loss: number };
  grads: Record<string, number[]>;
  sgd: { lr: number; params: Record<string, number[]> };
  adagrad: { lr: number; eps: number; params: Record<string, number[]> };
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/tbsm-golden.json', import.meta.url), 'utf8')) as { cases: Record<string, GoldenCase> };
const tolerance = 1e-5;
const widths = (text: string) => text.split('-').map(Number);

function archOf(g: GoldenArch): TbsmArch {
  return {
    tower: { bottomMlp: widths(g.mlpBot), topMlp: widths(g.mlpTop), embeddingDim: g.dim, tableRows: g.tableRows, interaction: 'dot' },
    tsLength: g.tsLength, heads: g.heads, sequential: g.seq, project: true, inner: g.inner, mechanism: g.mechanism,
    attentionMlp: widths(g.tslMlp), headMlp: widths(g.mlp),
  };
}

/** The fixture's sequences as hotline's inputs: per table, each sample's events' ids as one bag. */
function toBatch(b: GoldenBatch): Batch {
  const size = b.labels.length, events = b.dense[0].length;
  const columns = b.ids.map((t) => Int32Array.from(t.flat())), offsets = b.ids.map(() => Int32Array.from({ length: size + 1 }, (_, i) => i * events));
  return { size, dense: Float32Array.from(b.dense.flat()), sparse: jaggedOf(size, columns, offsets), labels: Float32Array.from(b.labels) };
}

/** The devices: both CPU kernels, and WebGPU (the tower's programs there) where it finds an adapter. */
type GoldenDevice = 'native' | 'typescript' | 'webgpu';
const gpu = await openGpuForTests();

function load(on: GoldenDevice, c: GoldenCase, state: { initial: number } | null = null): { model: Tbsm; home: HostTables; tier: MemoryTier } {
  const k = createKernels(on === 'typescript' ? 'typescript' : 'auto');
  const tower = on === 'webgpu' ? (a: TbsmArch['tower']) => new GpuDlrm(gpu!, a, 1, undefined, 'vector') : undefined;
  const model = new Tbsm(k, archOf(c.arch), 1, undefined, tower), home = new HostTables(k, model.tables, 1);
  const names = model.denseParams().map((p) => p.name).sort(), want = Object.keys(c.init).filter((n) => !n.startsWith('table.')).sort();
  assert.deepEqual(names, want, 'the same parameters as the authors\' model');
  for (const p of model.denseParams()) p.value.set(c.init[p.name]);
  model.syncFromHost();
  home.weights.forEach((w, t) => w.set(c.init[`table.${t}`]));
  return { model, home, tier: new MemoryTier('host', k, home.weights, state && home.rowWiseStates(state.initial), home.dim) };
}

for (const on of ['native', 'typescript', 'webgpu'] as const) {
  for (const [name, c] of Object.entries(golden.cases)) {
    describe(`golden TBSM ${name} vs facebookresearch/tbsm (${on})`, { skip: on === 'webgpu' && !gpu ? gpuSkipReason : false }, () => {

      it('click probabilities, loss and every gradient', () => {
        const { model, tier } = load(on, c), batch = toBatch(c.batches[0]);
        const bags = model.bags(batch.sparse), layout = model.layout(batch.size), pooled = model.forwardDense(batch);
        tier.pool(bags, layout, pooled);
        assertClose(Array.from(model.forwardOutput(pooled), sigmoid), c.forward.probs, tolerance, 'probabilities');
        const rule = { name: 'adagrad', lr: 0, eps: 1, state: (p: { value: Float32Array }) => new Float32Array(p.value.length) } as const;
        const loss = model.learn(pooled, batch.labels, rule);
        model.syncToHost(rule);
        assert.ok(Math.abs(loss - c.forward.loss) <= tolerance * c.forward.loss, `loss ${loss} vs ${c.forward.loss}`);
        for (const p of model.denseParams()) assertClose(p.grad, c.grads[p.name], tolerance, `grad ${p.name}`);
        const perTable = tableBags(bags), dim = c.arch.dim;
        c.arch.tableRows.forEach((rows, t) => {
          const dense = new Float64Array(rows * dim);
          for (const [row, g] of mergeRowGradients(perTable.indices[t], perTable.offsets[t], layout, t, model.embeddingGrad())) dense.set(g, row * dim);
          assertClose(dense, c.grads[`table.${t}`], tolerance, `grad table ${t}`);
        });
      });

      for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
        it(`parameters after 3 ${optimizer} steps`, () => {
          const opt = new Optimizer(optimizer === 'sgd'
            ? { name: optimizer, lr: c.sgd.lr, eps: 0, initialAccumulator: 0 }
            : { name: optimizer, lr: c.adagrad.lr, eps: c.adagrad.eps, initialAccumulator: 0 });
          const { model, home, tier } = load(on, c, opt.rowState), stepper = new Stepper(model, opt);
          for (const b of c.batches) stepper.on(toBatch(b), tier);
          model.syncToHost(opt.denseRule);
          const want = optimizer === 'sgd' ? c.sgd.params : c.adagrad.params;
          for (const p of model.denseParams()) assertClose(p.value, want[p.name], tolerance, `${optimizer} ${p.name}`);
          home.weights.forEach((w, t) => assertClose(w, want[`table.${t}`], tolerance, `${optimizer} table ${t}`));
        });
      }
    });
  }
}

after(() => gpu?.dispose());
