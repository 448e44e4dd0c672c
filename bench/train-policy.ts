/** One training run of a policy for the policy benchmarks: same model seed, data order and optimizer for all. */
import type { Dataset } from '../src/data/dataset.ts';
import type { Device } from '../src/device/device.ts';
import type { DlrmArch } from '../src/model/arch.ts';
import { createDlrm } from '../src/model/create-model.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { policyContext } from '../src/policies/context.ts';
import type { FaeSchedule } from '../src/policies/fae.ts';
import type { Policy } from '../src/policies/policy.ts';
import { createPolicy, type PolicyName } from '../src/policies/registry.ts';
import { defaultStaleness, type StalenessOptions } from '../src/policies/slipstream.ts';
import { Progress } from '../src/train/progress.ts';
import { DatasetSource } from '../src/data/sources.ts';
import { Trainer, type TrainResult } from '../src/train/trainer.ts';

export type BenchPolicy = 'baseline' | 'device-only' | 'fae adaptive' | 'fae cold-then-hot' | 'hotline' | 'slipstream' | 'hotline+slipstream';

export interface PolicyRun {
  result: TrainResult;
  policy: Policy;
}

export async function trainPolicy(
  device: Device, arch: DlrmArch, train: Dataset, test: Dataset, name: BenchPolicy,
  options: { batchSize: number; budgetBytes: number; seed: number; learnBatches?: number; staleness?: StalenessOptions; steps?: number; epochs?: number },
): Promise<PolicyRun> {
  const model = createDlrm(device, arch, options.seed);
  const optimizer = new Optimizer({ name: 'sgd', lr: 0.1, eps: 0, initialAccumulator: 0 });
  const source = new DatasetSource(train, options.batchSize, true, options.seed, options.steps ?? Infinity);
  const [registered, schedule] = name.split(' ') as [PolicyName, FaeSchedule | undefined];
  const ctx = policyContext(device, model, optimizer, source);
  const policy = createPolicy(registered, ctx, {
    seed: options.seed, staleness: options.staleness ?? defaultStaleness,
    fae: { budgetBytes: options.budgetBytes, samplingRate: 0.05, quota: 'global', schedule: schedule ?? 'adaptive' },
    hotline: { learnBatches: options.learnBatches ?? 100, learnSamplingRate: 1, relearnEvery: 0, pipeline: true },
  });
  const result = await new Trainer(model, ctx.home, policy, new Progress(process.stdout, 0), null).run(source, test, { epochs: options.epochs ?? 1, testFreq: 0, evalBatchSize: 8192, checkpointEvery: 0 });
  return { result, policy };
}
