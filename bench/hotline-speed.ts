/**
 * One timed hotline run over a batch folder (the child process of bench/train-speed.ts):
 * node --import tsx bench/hotline-speed.ts DIR THREADS WARMUP. Times the training step only
 * (forward, loss, backward, optimizer), as the PyTorch script does, and prints one JSON line.
 */
import { batchesOf } from '../src/data/dataset.ts';
import { deviceFor } from '../src/device/registry.ts';
import { Dlrm } from '../src/model/dlrm.ts';
import { Optimizer } from '../src/optim/optimizer.ts';
import { BaselinePolicy } from '../src/policies/baseline.ts';
import { policyContext } from '../src/policies/context.ts';
import { readBatchFiles } from './batch-files.ts';

const [folder, threadsArg, warmupArg] = process.argv.slice(2);
const { meta, train } = readBatchFiles(folder);
const device = deviceFor('auto', Number(threadsArg)), { kernels } = device;
const model = new Dlrm(kernels, { ...meta, interaction: 'dot' }, meta.seed);
const optimizer = new Optimizer({ name: 'sgd', lr: meta.learningRate, eps: 0, initialAccumulator: 0 });
const batches = [...batchesOf(train, meta.batchSize, null)];
const policy = new BaselinePolicy(policyContext(device, model, optimizer, { batchesPerEpoch: batches.length, batches: () => batches }));
const warmup = Number(warmupArg);
batches.slice(0, warmup).forEach((b) => policy.step(b));
const timed = batches.slice(warmup);
const start = process.hrtime.bigint();
for (const b of timed) policy.step(b);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const samples = timed.reduce((n, b) => n + b.size, 0);
console.log(JSON.stringify({ engine: 'hotline', samples, seconds, samplesPerSecond: samples / seconds, kernels: kernels.describe() }));
