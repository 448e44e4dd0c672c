/**
 * Test AUC of hotline and of the PyTorch DLRM (bench/torch_dlrm.py) on the real Criteo sample, same split,
 * same batches in the same order, same initial weights (hotline's, handed to PyTorch). Prints both and
 * writes bench/out/criteo-auc.json; with --fixture also test/fixtures/criteo-head10k-pytorch.json, which the
 * test suite checks hotline against without needing torch.
 *
 *   node --import tsx bench/criteo-auc.ts [--fixture]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceFor } from '../src/device/registry.ts';
import { criteoSampleAvailable, criteoSampleSettings, loadCriteoSample, trainCriteoSample } from '../src/train/criteo-sample.ts';
import { writeBatchFiles, writeInitialWeights } from './batch-files.ts';
import { openBlasCore, referenceEnv } from './reference-env.ts';

if (!criteoSampleAvailable()) {
  console.log('skipped: ../shared/data/criteo_kaggle_head10k is not here');
  process.exit(0);
}
const sample = loadCriteoSample();
const folder = join(tmpdir(), 'hotline-criteo-auc');
const { batchSize, learningRate, seed } = criteoSampleSettings;
writeBatchFiles(folder, sample.arch, sample.train, sample.test, batchSize, learningRate, seed);
const hotline = trainCriteoSample(deviceFor('auto', 1), sample, (model, home) => writeInitialWeights(folder, model, home));
const reference = JSON.parse(
  execFileSync('/usr/bin/python3', [join(new URL('.', import.meta.url).pathname, 'torch_dlrm.py'), 'auc', folder], {
    env: referenceEnv('T1', openBlasCore()), encoding: 'utf8',
  }).trim(),
) as { auc: number };
rmSync(folder, { recursive: true, force: true });
const result = { date: new Date().toISOString(), ...criteoSampleSettings, testRows: sample.test.rows, hotlineAuc: hotline, pytorchAuc: reference.auc, difference: hotline - reference.auc };
console.log(`Criteo head10k (train ${criteoSampleSettings.trainRows}, test ${sample.test.rows}, 1 epoch): hotline AUC ${hotline.toFixed(4)}, PyTorch AUC ${reference.auc.toFixed(4)}, difference ${result.difference.toFixed(4)}`);
const here = new URL('.', import.meta.url).pathname;
mkdirSync(join(here, 'out'), { recursive: true });
writeFileSync(join(here, 'out', 'criteo-auc.json'), JSON.stringify(result, null, 2));
if (process.argv.includes('--fixture')) {
  writeFileSync(join(here, '..', 'test', 'fixtures', 'criteo-head10k-pytorch.json'), JSON.stringify({ pytorchAuc: reference.auc, ...criteoSampleSettings }, null, 2));
}
