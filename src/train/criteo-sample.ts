/**
 * The accuracy check on real data (issue 2): ../shared/data/criteo_kaggle_head10k, first 8,000 rows to
 * train and the last 2,000 to test, Kaggle MLPs, dim 16, SGD lr 0.1, batch 128, one epoch in file order.
 * Shared by the benchmark that runs the PyTorch reference and by the test that checks hotline against it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readCriteoTsv } from '../data/criteo-tsv.ts';
import { type Dataset, sliceRows } from '../data/dataset.ts';
import type { Device } from '../device/device.ts';
import { type DlrmArch, presets } from '../model/arch.ts';
import { Dlrm } from '../model/dlrm.ts';
import type { HostTables } from '../embedding/tables.ts';
import { Optimizer } from '../optim/optimizer.ts';
import { BaselinePolicy } from '../policies/baseline.ts';
import { policyContext } from '../policies/context.ts';
import { evaluate } from './evaluate.ts';
import { DatasetSource } from '../data/sources.ts';

export const criteoSamplePath = fileURLToPath(new URL('../../../shared/data/criteo_kaggle_head10k/train_head10k.txt', import.meta.url));
export const criteoSampleSettings = { trainRows: 8000, batchSize: 128, learningRate: 0.1, seed: 2026 };

export function criteoSampleAvailable(): boolean {
  return existsSync(criteoSamplePath);
}

export interface CriteoSample {
  arch: DlrmArch;
  train: Dataset;
  test: Dataset;
}

export function loadCriteoSample(): CriteoSample {
  const all = readCriteoTsv(criteoSamplePath);
  const arch: DlrmArch = { ...presets.kaggle, tableRows: all.tableRows };
  return { arch, train: sliceRows(all, 0, criteoSampleSettings.trainRows), test: sliceRows(all, criteoSampleSettings.trainRows, all.rows) };
}

/** Trains hotline's baseline on the sample; onInit sees the model before the first step. */
export function trainCriteoSample(device: Device, sample: CriteoSample, onInit?: (model: Dlrm, home: HostTables) => void): number {
  const { batchSize, learningRate, seed } = criteoSampleSettings;
  const { kernels } = device, model = new Dlrm(kernels, sample.arch, seed);
  const source = new DatasetSource(sample.train, batchSize, false, seed, Infinity);
  const ctx = policyContext(device, model, new Optimizer({ name: 'sgd', lr: learningRate, eps: 0, initialAccumulator: 0 }), source);
  onInit?.(model, ctx.home);
  const policy = new BaselinePolicy(ctx);
  for (const batch of source.batches(0)) policy.step(batch);
  return evaluate(model, ctx.home, sample.test, 4096).auc;
}
