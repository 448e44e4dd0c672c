// The WebGPU device against the CPU oracle: DLRM training on the GPU (lavapipe in CI) gives the CPU's parameters,
// across batch sizes that make it rebuild its buffers, through a checkpoint's sync and under the hotline pipeline.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { batchesOf } from '../src/data/dataset.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { generateSynthetic } from '../src/data/synthetic.ts';
import { deviceFor } from '../src/device/registry.ts';
import { HostTables } from '../src/embedding/tables.ts';
import { MemoryTier } from '../src/embedding/tier.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { GpuDlrm } from '../src/model/gpu-dlrm.ts';
import { Optimizer, type OptimizerName } from '../src/optim/optimizer.ts';
import { Stepper } from '../src/pipeline/step.ts';
import { policyContext } from '../src/policies/context.ts';
import { HotlinePolicy } from '../src/policies/hotline.ts';
import { bytesPerRow } from '../src/embedding/planner.ts';
import { assertClose, gpuSkipReason, openGpuForTests } from './helpers.ts';
import { hotline } from './reliability/cli.ts';

const gpu = await openGpuForTests();
after(() => gpu?.dispose());
const arch = { bottomMlp: [13, 24, 8], topMlp: [20, 1], embeddingDim: 8, tableRows: [300, 40, 900, 7], interaction: 'dot' as const };
const data = generateSynthetic({ rows: 600, tableRows: arch.tableRows, denseFeatures: 13, zipf: 1.2, seed: 11 });
const cpuDevice = deviceFor('auto', 2), { kernels } = cpuDevice;
const tolerance = 2e-5;

function trained(model: Dlrm, optimizer: OptimizerName, sizes: number[]): { model: Dlrm; home: HostTables; opt: Optimizer } {
  const opt = new Optimizer({ name: optimizer, lr: 0.05, eps: 1e-8, initialAccumulator: 0.01 });
  const home = new HostTables(kernels, model.tables, 4), state = opt.rowState;
  const tier = new MemoryTier('host', kernels, home.weights, state && home.rowWiseStates(state.initial), home.dim);
  const stepper = new Stepper(model, opt);
  for (const size of sizes) for (const b of batchesOf(data, size, null)) stepper.on(b, tier);
  model.syncToHost(opt.denseRule);
  return { model, home, opt };
}

function assertSame(a: { model: Dlrm; home: HostTables }, b: { model: Dlrm; home: HostTables }, what: string): void {
  const bp = b.model.denseParams();
  a.model.denseParams().forEach((p, i) => assertClose(p.value, bp[i].value, tolerance, `${what} ${p.name}`));
  a.home.weights.forEach((w, t) => assertClose(w, b.home.weights[t], tolerance, `${what} table ${t}`));
}

describe('webgpu device', { skip: gpu ? false : gpuSkipReason }, () => {
  for (const optimizer of ['sgd', 'adagrad'] as OptimizerName[]) {
    it(`trains as the CPU does, its buffers growing from batch 50 to 200 (${optimizer})`, () => {
      const sizes = [50, 200];
      const cpu = trained(new Dlrm(kernels, arch, 4), optimizer, sizes), onGpu = trained(new GpuDlrm(gpu!, arch, 4), optimizer, sizes);
      assertSame(cpu, onGpu, optimizer);
      const first = cpu.model.denseParams()[0].value, initial = new Dlrm(kernels, arch, 4).denseParams()[0].value;
      assert.ok(first.some((v, i) => v !== initial[i]), 'training moved the parameters');
    });
  }

  it('a checkpoint-style sync: parameters and Adagrad state carried to a new model continue the same run', () => {
    const whole = trained(new GpuDlrm(gpu!, arch, 4), 'adagrad', [100, 100]);
    const part = trained(new GpuDlrm(gpu!, arch, 4), 'adagrad', [100]);
    const resumed = new GpuDlrm(gpu!, arch, 4), opt = new Optimizer(part.opt.config);
    resumed.denseParams().forEach((p, i) => p.value.set(part.model.denseParams()[i].value));
    const saved = part.opt.denseRule;
    assert.ok(saved.name === 'adagrad');
    for (const p of part.model.denseParams()) opt.restoreDenseState(p.name, saved.state(p).slice());
    resumed.syncFromHost();
    const state = opt.rowState!, tier = new MemoryTier('host', kernels, part.home.weights, part.home.rowWiseStates(state.initial), part.home.dim);
    const stepper = new Stepper(resumed, opt);
    for (const b of batchesOf(data, 100, null)) stepper.on(b, tier);
    resumed.syncToHost(opt.denseRule);
    assertSame(whole, { model: resumed, home: part.home }, 'resumed');
  });

  it('the hotline policy (popular inputs, the pipeline, the host lane) trains on it as on the CPU', () => {
    const run = (model: Dlrm) => {
      const opt = new Optimizer({ name: 'sgd', lr: 0.05, eps: 0, initialAccumulator: 0 });
      const ctx = policyContext(model instanceof GpuDlrm ? gpu! : cpuDevice, model, opt, new DatasetSource(data, 64, false, 4, Infinity));
      const policy = new HotlinePolicy(ctx, {
        budgetBytes: 120 * bytesPerRow(8, 0), learnBatches: 2, learnSamplingRate: 1, relearnEvery: 0, hysteresis: 1.5, pipeline: true, seed: 1,
      });
      for (const b of policy.schedule(ctx.source, 0, 0)) policy.step(b);
      policy.settle();
      model.syncToHost(opt.denseRule);
      return { model, home: ctx.home };
    };
    assertSame(run(new Dlrm(kernels, arch, 4)), run(new GpuDlrm(gpu!, arch, 4)), 'hotline');
  });

  it('hotline train --device webgpu trains and says where', () => {
    const r = hotline(['train', '--device', 'webgpu', '--num-batches', '4', '--mini-batch-size', '32', '--arch-embedding-size', '50-60-70',
      '--arch-sparse-feature-size', '8', '--arch-mlp-bot', '13-16-8', '--arch-mlp-top', '16-1', '--run-dir', '']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^device: webgpu \(/m);
    assert.match(r.stdout, /trained 128 samples/);
  });
});
