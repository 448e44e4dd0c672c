/** `hotline train`: builds data, model, optimizer and policy from a TrainConfig and runs the trainer. */
import { createKernels } from '../kernels/index.ts';
import { describeArch, validateArch } from '../model/arch.ts';
import { Dlrm } from '../model/dlrm.ts';
import { Optimizer } from '../optim/optimizer.ts';
import { BaselinePolicy } from '../policies/baseline.ts';
import { FaePolicy } from '../policies/fae.ts';
import { HotlinePolicy } from '../policies/hotline.ts';
import { writeChart } from '../report/plot.ts';
import { timelineChart } from '../report/timeline.ts';
import { join } from 'node:path';
import type { Policy } from '../policies/policy.ts';
import { formatRate, Progress } from '../train/progress.ts';
import { RunDir } from '../train/run-dir.ts';
import type { DatasetSource } from '../train/sources.ts';
import { Trainer, type TrainResult } from '../train/trainer.ts';
import { prepareData } from './prepare-data.ts';
import type { TrainConfig } from './train-config.ts';

export async function runTraining(config: TrainConfig, out: NodeJS.WriteStream = process.stdout): Promise<TrainResult> {
  const kernels = createKernels(config.backend, config.threads);
  const prepared = prepareData(config, kernels);
  // The bottom MLP's input is the data's dense features (13 for Criteo, none for MovieLens or libFM sources).
  const arch = validateArch({ ...config.arch, tableRows: prepared.tableRows, bottomMlp: [prepared.denseFeatures, ...config.arch.bottomMlp.slice(1)] });
  const runDir = config.runDir ? RunDir.create(config.runDir, 'train') : null;
  runDir?.writeJson('config.json', { ...config, arch, kernels: kernels.describe() });
  out.write(`hotline: ${describeArch(arch)}\nkernels: ${kernels.describe()}\n`);
  const model = new Dlrm(kernels, arch, config.seed);
  const optimizer = new Optimizer(kernels, {
    name: config.optimizer, lr: config.learningRate, eps: 1e-10, initialAccumulator: config.adagradInitialAccumulator,
  });
  let policy: Policy = new BaselinePolicy(model, optimizer);
  const staleness = config.policy.endsWith('slipstream') ? config.staleness : undefined;
  if (config.policy === 'fae' || config.policy === 'slipstream') {
    const fae = new FaePolicy(model, optimizer, kernels, prepared.source as DatasetSource, { ...config.fae, seed: config.seed, staleness });
    const r = fae.report();
    out.write(
      `fae: ${Number(r.hotRows).toLocaleString('en-US')} hot rows (${(Number(r.hotBytes) / 2 ** 20).toFixed(1)} MiB of ` +
        `${(config.fae.budgetBytes / 2 ** 20).toFixed(1)} MiB), ${(100 * Number(r.hotInputShare)).toFixed(1)}% of the training inputs hot, ` +
        `profiled in ${Number(r.profileSeconds).toFixed(1)} s\n`,
    );
    runDir?.appendMetrics({ kind: 'event', event: 'hot-set', ...r });
    policy = fae;
  } else if (config.policy.startsWith('hotline')) {
    policy = new HotlinePolicy(model, optimizer, kernels, {
      ...config.hotline, budgetBytes: config.fae.budgetBytes, hysteresis: 1.5, seed: config.seed, staleness,
    });
  }
  const trainer = new Trainer(model, policy, new Progress(out, config.printFreq), runDir);
  const result = trainer.run(prepared.source, prepared.test, {
    epochs: config.epochs, testFreq: config.testFreq, evalBatchSize: config.testBatchSize,
  });
  runDir?.writeJson('summary.json', { ...result, runDir: runDir.path });
  if (runDir && policy instanceof HotlinePolicy && policy.timeline.length > 0) {
    runDir.writeJson('timeline.json', policy.timeline);
    await writeChart(timelineChart(policy.timeline), join(runDir.path, 'timeline'));
  }
  const decisions = result.policy.stalenessDecisions as { threshold: number; dropShare: number; steps: number; inBand: boolean }[] | undefined;
  for (const d of decisions ?? []) {
    out.write(
      `slipstream: T = ${d.threshold.toExponential(3)} after ${d.steps} bisection steps, ${(100 * d.dropShare).toFixed(1)}% of sampled hot inputs stale` +
        `${d.inBand ? '' : ` (outside the ${config.staleness.targetDrop} +- ${config.staleness.band} band: the closest threshold found)`}\n`,
    );
  }
  if (decisions) {
    const overhead = Number(result.policy.stalenessOverheadSeconds) / result.trainSeconds;
    out.write(`slipstream: skipped ${Number(result.policy.skippedInputs).toLocaleString('en-US')} inputs, overhead ${(100 * overhead).toFixed(2)}% of training time\n`);
  }
  if (policy instanceof HotlinePolicy) {
    const r = result.policy;
    out.write(
      `hotline: ${(100 * Number(r.popularInputShare)).toFixed(1)}% of inputs popular, ${(100 * Number(r.hiddenGatherShare)).toFixed(0)}% of ` +
        `the gather time hidden behind compute, ${Number(r.refetchedBags).toLocaleString('en-US')} bags refetched\n`,
    );
  }
  const phases = Object.entries(result.phases).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ');
  out.write(
    `trained ${result.samples.toLocaleString('en-US')} samples in ${result.trainSeconds.toFixed(1)} s: ` +
      `${formatRate(result.samplesPerSecond)} samples/s (${phases})\n`,
  );
  if (result.test) out.write(`test AUC ${result.test.auc.toFixed(4)} (logloss ${result.test.logloss.toFixed(4)}, accuracy ${(100 * result.test.accuracy).toFixed(2)}%)\n`);
  if (runDir) out.write(`run directory: ${runDir.path}\n`);
  return result;
}
