// Issue 11, part 2 (training): a diverging run stops with exit code 3 and keeps its last good checkpoint; an
// evaluation that cannot give an AUC says why; a dataset too small for its split is refused.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SafetensorsFile } from '../../src/checkpoint/safetensors.ts';
import { firstNonFinite } from '../../src/data/scan.ts';
import { generateSynthetic } from '../../src/data/synthetic.ts';
import { BinaryDatasetWriter } from '../../src/data/write-binary.ts';
import { assertRefused, hotline, literal, scratch, tiny } from './cli.ts';

const synthetic = ['--data-generation', 'synthetic', '--data-size', '20000', '--max-table-rows', '1000', ...tiny];

async function writeDataset(dir: string, rows: number, labelOf: (row: number) => number): Promise<void> {
  const tableRows = [100, 20], data = generateSynthetic({ rows, tableRows, denseFeatures: 13, zipf: 1.1, seed: 3 });
  data.labels.forEach((_, r) => (data.labels[r] = labelOf(r)));
  const writer = new BinaryDatasetWriter(dir, rows, 13, tableRows.length);
  writer.append(data);
  await writer.finish({ cardinalities: tableRows, encoding: { kind: 'synthetic', zipf: 1.1, seed: 3 }, source: { inputs: [], lines: rows, skipped: {} } });
}

describe('a diverging run stops', () => {
  it('with exit code 3, the step and the likely cause', () => {
    const r = hotline(['train', ...synthetic, '--learning-rate', '1e6', '--run-dir', '']);
    assertRefused(r, /^hotline: training diverged at step \d+ \(epoch 1\): the loss is NaN\. The likely cause is a learning rate too high for this model and data \(--learning-rate 1000000\): try a smaller one\. No checkpoint was written\.$/, 3);
  });

  it('keeping the last good checkpoint, whose every tensor is finite', () => {
    const runs = scratch('diverge');
    const r = hotline(['train', ...synthetic, '--learning-rate', '100', '--run-dir', runs, '--checkpoint-every', '1', '--keep-checkpoints', '3']);
    assertRefused(r, /training diverged at step (\d+) .* The last good checkpoint, .*step-\d+, is kept\.$/, 3);
    const step = Number(/diverged at step (\d+)/.exec(r.stderr)![1]);
    const [run] = readdirSync(runs), dir = join(runs, run, 'checkpoints');
    const kept = readdirSync(dir).filter((n) => /^step-\d+$/.test(n));
    assert.ok(kept.length > 0 && kept.every((n) => Number(n.slice(5)) < step), `checkpoints ${kept} before step ${step}`);
    assert.match(r.stderr, literal(join(dir, kept.at(-1)!)));
    const file = new SafetensorsFile(join(dir, kept.at(-1)!, 'state.safetensors'));
    for (const name of file.tensors.keys()) {
      const t = file.read(name);
      if (t instanceof Float32Array) assert.equal(firstNonFinite(t), -1, `${name} is not finite`);
    }
    const events = readFileSync(join(runs, run, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events.at(-1), { step, event: 'diverged', reason: 'the loss is NaN' });
  });
});

describe('evaluation and splits', () => {
  it('a test set of one class says the AUC is undefined instead of printing NaN', async () => {
    const dir = join(scratch('one-class'), 'ds');
    await writeDataset(dir, 1400, (r) => (r < 1200 ? r % 3 === 0 ? 1 : 0 : 0));
    const r = hotline(['train', '--dataset', dir, ...tiny, '--run-dir', '']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /test AUC undefined \(all 100 test rows are negative\) logloss \d\.\d{4} accuracy \d+\.\d\d%/);
    assert.doesNotMatch(r.stdout, /NaN/);
  });

  it('a dataset too small for its split is refused', async () => {
    const dir = join(scratch('tiny-ds'), 'ds');
    await writeDataset(dir, 5, (r) => r % 2);
    assertRefused(hotline(['train', '--dataset', dir, ...tiny, '--run-dir', '']), literal(`${dir}: 5 rows are too few for --split kaggle: its test part is empty`));
    assertRefused(hotline(['train', '--dataset', dir, ...tiny, '--run-dir', '', '--shuffle-buffer', '10']), literal(`${dir}: 5 rows are too few for --split kaggle: its test part is empty`));
    const r = hotline(['train', '--data-generation', 'synthetic', '--data-size', '5', ...tiny, '--run-dir', '']);
    assertRefused(r, /the synthetic set: 5 rows are too few for --test-fraction 0\.1: its test part is empty/);
  });
});
