// AUC on the real Criteo sample against the PyTorch reference's AUC (bench/criteo-auc.ts --fixture).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { deviceFor } from '../src/device/registry.ts';
import { criteoSampleAvailable, loadCriteoSample, trainCriteoSample } from '../src/train/criteo-sample.ts';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/criteo-head10k-pytorch.json', import.meta.url), 'utf8')) as { pytorchAuc: number };
const skip = criteoSampleAvailable() ? false : 'needs ../shared/data/criteo_kaggle_head10k (absent)';

it('hotline reaches the PyTorch AUC on criteo_kaggle_head10k (8,000 train / 2,000 test, 1 epoch), deterministically', { skip }, () => {
  const sample = loadCriteoSample();
  const auc = trainCriteoSample(deviceFor('auto', 2), sample);
  console.log(`hotline AUC ${auc.toFixed(4)}, PyTorch AUC ${fixture.pytorchAuc.toFixed(4)}`);
  assert.ok(Math.abs(auc - fixture.pytorchAuc) <= 0.01, `hotline ${auc} vs PyTorch ${fixture.pytorchAuc}`);
  assert.ok(auc > 0.6, `AUC ${auc} is no better than chance`);
  assert.equal(trainCriteoSample(deviceFor('auto', 2), sample), auc, 'a second run with the same seed gives the same AUC');
});
